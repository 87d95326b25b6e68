import type { Connection } from 'mongoose';
import { createAssessmentService } from '../assessment/assessment-service';
import { createAttemptRepository } from '../assessment/attempt-repository';
import { competencyIdsOf, loadFrameworkFile } from '../competencies/framework-schema';
import { createLaunchRecords } from '../courses/launch-records';
import { createCatalog } from '../curriculum/catalog';
import { loadModules } from '../curriculum/load-content';
import { createModuleStore } from '../curriculum/module-store';
import type { PlatformClient } from '../lti/platform-client';
import type { PlatformRegistry } from '../lti/platform-registry';
import { createEventBus } from '../shared/events';
import type { Logger } from '../shared/logger';
import { createScoreRepository } from '../assessment/score-repository';
import { createCourseGradingSettings } from './course-settings';
import { createGradingAdmin } from './grading-admin';
import { createJobStore } from './jobs';
import { createJobRunner, type JobRunner, type JobRunnerOptions } from './jobs-runner';
import { createLineItemService } from './line-items';
import { createOutbox } from './outbox';
import { createPassbackService } from './passback-service';

/**
 * A background job runner for a process without the web app (`npm run worker`): the same services the
 * web process wires, so a resync run here recomputes and queues scores exactly as one run there.
 */
export function createStandaloneJobRunner(deps: {
  connection: Connection;
  client: PlatformClient;
  registry: PlatformRegistry;
  logger: Logger;
  /** Called when a recompute queued scores (wake the passback worker). */
  onScoresQueued?: () => void;
  options?: Partial<JobRunnerOptions>;
}): JobRunner {
  const { connection, logger } = deps;
  const framework = loadFrameworkFile();
  const catalog = createCatalog(loadModules(competencyIdsOf(framework)), framework);
  const records = createLaunchRecords(connection);
  const scores = createScoreRepository(connection);
  const events = createEventBus();
  const outbox = createOutbox(connection);
  const assessment = createAssessmentService({
    attempts: createAttemptRepository(connection),
    scores,
    modules: createModuleStore(connection, logger),
    catalog,
    records,
    events,
    logger,
  });
  const passback = createPassbackService({
    outbox,
    settings: createCourseGradingSettings(connection),
    records,
    registry: deps.registry,
    catalog,
    logger,
  });
  events.subscribe('competencyScoresChanged', async (event) => {
    if ((await passback.onScoresChanged(event)) > 0) deps.onScoresQueued?.();
  });
  const store = createJobStore(connection);
  const grading = createGradingAdmin({
    outbox,
    records,
    assessment,
    scores,
    lineItems: createLineItemService({ connection, client: deps.client }),
    client: deps.client,
    jobs: store,
  });
  return createJobRunner({ store, work: grading.jobWork, logger, options: deps.options });
}
