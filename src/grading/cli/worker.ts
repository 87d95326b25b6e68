import { ConfigError, loadConfig } from '../../config/config';
import { createCompetencyRepository } from '../../competencies/competency-repository';
import { createLaunchRecords } from '../../courses/launch-records';
import { openToolContext } from '../../lti/cli/tool-context';
import { createPlatformClient } from '../../lti/platform-client';
import { createLogger } from '../../shared/logger';
import { createCourseGradingSettings } from '../course-settings';
import { createLineItemService } from '../line-items';
import { createOutbox } from '../outbox';
import { createPassbackWorker } from '../passback-worker';

/**
 * npm run worker: a process that only sends grade passback (no HTTP). Run as many as you like next to the
 * web processes (set PASSBACK_WORKER=false there if you want sending only here); leases keep them apart.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const { connection, provider, close } = await openToolContext(config, logger);
  const client = createPlatformClient({ provider, logger });
  const competencies = createCompetencyRepository(connection);
  const worker = createPassbackWorker({
    outbox: createOutbox(connection),
    client,
    lineItems: createLineItemService({ connection, client }),
    records: createLaunchRecords(connection),
    framework: () => competencies.loadFramework(),
    settings: createCourseGradingSettings(connection),
    logger,
    options: {
      ...(process.env.PASSBACK_BASE_BACKOFF_MS ? { baseBackoffMs: Number(process.env.PASSBACK_BASE_BACKOFF_MS) } : {}),
      ...(process.env.PASSBACK_LEASE_MS ? { leaseMs: Number(process.env.PASSBACK_LEASE_MS) } : {}),
      idlePollMs: 200,
    },
  });
  worker.start();
  logger.info({ owner: worker.owner }, 'passback worker running');
  process.stdout.write('WORKER READY\n');
  const stop = (): void => {
    worker
      .stop()
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
