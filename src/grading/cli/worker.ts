import { ConfigError, loadConfig } from '../../config/config';
import { createCompetencyRepository } from '../../competencies/competency-repository';
import { createLaunchRecords } from '../../courses/launch-records';
import { openToolContext } from '../../lti/cli/tool-context';
import { createPlatformClient } from '../../lti/platform-client';
import { createLogger } from '../../shared/logger';
import { createStandaloneJobRunner } from '../jobs-context';
import { createCourseGradingSettings } from '../course-settings';
import { createLineItemService } from '../line-items';
import { createOutbox } from '../outbox';
import { createPassbackWorker } from '../passback-worker';
import { createPlatformThrottle, throttledClient } from '../platform-throttle';
import { createAuditLog } from '../../admin/audit-log';
import { createFieldCrypto } from '../../privacy/field-crypto';
import { createPrivacyService } from '../../privacy/privacy-service';
import { createRetentionSweeper } from '../../privacy/retention-sweeper';

/**
 * npm run worker: a process that only sends grade passback (no HTTP). Run as many as you like next to the
 * web processes (set PASSBACK_WORKER=false there if you want sending only here); leases keep them apart.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const { connection, provider, registry, close } = await openToolContext(config, logger);
  const throttle = createPlatformThrottle({ ratePerSecond: config.passbackRatePerSecond, overrides: config.passbackRateOverrides });
  const client = throttledClient(createPlatformClient({ provider, logger }), throttle);
  const competencies = createCompetencyRepository(connection);
  const worker = createPassbackWorker({
    outbox: createOutbox(connection),
    client,
    throttle,
    lineItems: createLineItemService({ connection, client }),
    records: createLaunchRecords(connection),
    framework: () => competencies.loadFramework(),
    settings: createCourseGradingSettings(connection),
    logger,
    options: {
      baseBackoffMs: config.passbackBaseBackoffMs,
      leaseMs: config.passbackLeaseMs,
      idlePollMs: 200,
    },
  });
  worker.start();
  // Background resync and reconcile jobs run here too (leases keep processes apart).
  const jobs = createStandaloneJobRunner({ connection, client, registry, logger, onScoresQueued: () => worker.nudge() });
  jobs.start();
  // The retention sweep of free texts runs here too (idempotent when several processes sweep).
  const privacy = createPrivacyService({
    connection,
    crypto: createFieldCrypto(config.dataEncryptionKeys),
    audit: createAuditLog(connection),
  });
  const retention = createRetentionSweeper({ privacy, logger, intervalMs: config.privacySweepIntervalMs });
  retention.start();
  logger.info({ owner: worker.owner }, 'passback worker running');
  process.stdout.write('WORKER READY\n');
  const stop = (): void => {
    Promise.all([jobs.stop(), worker.stop(), retention.stop()])
      .then(() => close())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : `worker failed: ${(error as Error).stack ?? String(error)}`}\n`);
  process.exit(1);
});
