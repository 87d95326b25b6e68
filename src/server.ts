import type { Server } from 'node:http';
import { Router, type Express } from 'express';
import type { AddressInfo } from 'node:net';
import type { Connection } from 'mongoose';
import type { MongoClient } from 'mongodb';
import type { Store } from 'express-session';
import { adminRoutes } from './admin/admin-routes';
import { platformRoutes } from './admin/platform-routes';
import { loadConfig, type Config } from './config/config';
import { createCompetencyRepository } from './competencies/competency-repository';
import { competencyRoutes } from './competencies/competency-routes';
import { competencyIdsOf, loadFrameworkFile } from './competencies/framework-schema';
import { loadFrameworkVersions } from './standards/framework-versions';
import { standardsRoutes } from './standards/standards-routes';
import { createProgramRepository } from './program/program-repository';
import { programRoutes } from './program/program-routes';
import { createPdfPrinter } from './program/report-pdf';
import { createLaunchRecords } from './courses/launch-records';
import { createCatalog } from './curriculum/catalog';
import { loadModules } from './curriculum/load-content';
import { trainingRoutes } from './curriculum/training-routes';
import { moduleRoutes } from './curriculum/module-routes';
import { createModuleStore } from './curriculum/module-store';
import { createAssessmentService, type AssessmentService } from './assessment/assessment-service';
import { createAttemptRepository } from './assessment/attempt-repository';
import { createScoreRepository } from './assessment/score-repository';
import { createScoreSweeper, type ScoreSweeper, type SweeperOptions } from './assessment/score-sweeper';
import { createFaultPoint } from './shared/fault-points';
import { createEventBus, type EventBus } from './shared/events';
import { createLineItemService } from './grading/line-items';
import { createOutbox, type Outbox } from './grading/outbox';
import { createPassbackService } from './grading/passback-service';
import { createCourseGradingSettings } from './grading/course-settings';
import { createGradingAdmin, type GradingAdmin } from './grading/grading-admin';
import { createJobStore } from './grading/jobs';
import { createJobRunner, type JobRunner, type JobRunnerOptions } from './grading/jobs-runner';
import { createPassbackWorker, type PassbackWorker, type WorkerOptions } from './grading/passback-worker';
import { createPlatformThrottle, throttledClient } from './grading/platform-throttle';
import { connectWithRetry, createConnection, pingDatabase, withDefaultDatabase } from './db/connection';
import { resolveDatabaseServer, type DatabaseServer } from './db/database-server';
import { createHousekeeping, type Housekeeping } from './db/housekeeping';
import { migrateUp } from './db/migrations';
import { createDevPlatform, type DevPlatform } from './devplatform';
import { createAuditLog } from './admin/audit-log';
import { courseRoutes } from './faculty/course-routes';
import { reflectionRoutes } from './faculty/reflection-routes';
import { coachRoutes } from './faculty/coach-routes';
import { createObservationRepository } from './faculty/observation-repository';
import { createCoachFeedback } from './faculty/coach-feedback';
import { createAssignmentStore, effectiveAssignments } from './faculty/assignments';
import { loadObservationInstruments } from './faculty/observation-instrument';
import { createSpentDeepLinks, deepLinkingRoutes } from './lti/deep-linking-routes';
import { JwksCache } from './lti/jwks-cache';
import { createLaunchHandler } from './lti/launch-service';
import { createIdTokenValidator, createNonceStore } from './lti/launch-validation';
import { createFrameOrigins } from './lti/frame-origins';
import { cookielessIssuer, createLoginAttempts } from './lti/login-attempts';
import { createOidcHandlers } from './lti/oidc';
import { createLaunchTokens } from './lti/launch-token';
import { launchContexts } from './web/launch-context';
import { defaultPlatformCacheMs, createLtiProvider, type LtiProvider } from './lti/ltijs-adapter';
import { createRefusalHandler, ltiRoutes } from './lti/lti-routes';
import { createRosterService } from './lti/nrps';
import { createPlatformClient, type PlatformClient } from './lti/platform-client';
import { createPendingRegistrations, createPlatformRegistry, type PlatformRegistry } from './lti/platform-registry';
import { createRegistrationInvites } from './lti/registration-invites';
import { developmentFetchPolicy, productionFetchPolicy, type SafeFetchPolicy } from './lti/safe-fetch';
import { toolUrls } from './lti/tool-configuration';
import { createLogger, devPlatformBanner, logFormatFor, type Logger } from './shared/logger';
import { createFieldCrypto } from './privacy/field-crypto';
import { createPrivacyService, type PrivacyService } from './privacy/privacy-service';
import { createRetentionSweeper, type RetentionSweeper } from './privacy/retention-sweeper';
import { privacyRoutes } from './admin/privacy-routes';
import { withRosterNames } from './privacy/roster-names';
import { createAdminAccounts } from './admin/admin-accounts';
import { buildApp } from './web/app';
import type { Readiness } from './web/health-routes';
import { framePolicy } from './web/frame-policy';
import { sessionMiddleware } from './web/session';

export interface StartOptions {
  /** Environment to parse; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Overrides config.port; 0 picks a free port. */
  listenPort?: number;
  logger?: Logger;
  /** Knobs tests and benchmarks turn; production uses the defaults. */
  tuning?: {
    rosterPageSize?: number;
    worker?: Partial<WorkerOptions>;
    startWorker?: boolean;
    platformTimeoutMs?: number;
    /** Wraps the session store (tests slow it down to prove redirects wait for it). */
    wrapSessionStore?: (store: Store) => Store;
    /** How Dynamic Registration fetches platform URLs (default: https and public addresses only in production). */
    registrationFetchPolicy?: SafeFetchPolicy;
    jobs?: Partial<JobRunnerOptions>;
    /** Run background jobs (resync, reconcile) here; defaults to where the passback worker runs. */
    startJobRunner?: boolean;
    sweeper?: Partial<SweeperOptions>;
    /** Clock of score computations (tests move it back). */
    now?: () => Date;
    /** The observation instrument file and its archive of older versions (tests change the instrument). */
    observationInstrumentFile?: string;
    observationInstrumentArchive?: string;
    /** How long registered platforms are served from memory (default 5 s). */
    platformCacheMs?: number;
  };
}

export interface RunningServer {
  readonly config: Config;
  /** The express app (tests read its route table). */
  readonly app: Express;
  readonly logger: Logger;
  readonly url: string;
  readonly connection: Connection;
  readonly database: DatabaseServer;
  readonly lti: LtiProvider;
  readonly registry: PlatformRegistry;
  readonly platformClient: PlatformClient;
  readonly assessment: AssessmentService;
  readonly events: EventBus;
  readonly outbox: Outbox;
  readonly worker: PassbackWorker;
  readonly sweeper: ScoreSweeper;
  readonly housekeeping: Housekeeping;
  readonly grading: GradingAdmin;
  readonly jobRunner: JobRunner;
  readonly privacy: PrivacyService;
  readonly retentionSweeper: RetentionSweeper;
  /** The built-in test platform (development and test only). */
  readonly devPlatform: DevPlatform | undefined;
  /** Resolves when the database is connected and start-up work is done. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The composition root: the one place that wires config, database, services and routes.
 * It listens before the database is reachable so /healthz and a 503 /readyz answer meanwhile.
 */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const config = loadConfig(options.env ?? process.env);
  const logFormat = logFormatFor(config.env, undefined, config.logFormat);
  const logger = options.logger ?? createLogger(config.logLevel, undefined, { format: logFormat });
  if (!options.logger && logFormat === 'json-no-pretty')
    logger.info('logs are JSON lines: install the dev dependencies (npm install) for readable development logs');
  const framework = loadFrameworkFile();
  const moduleFiles = loadModules(competencyIdsOf(framework));
  const catalog = createCatalog(moduleFiles, framework);
  const database = await resolveDatabaseServer(config, logger);
  const databaseUri = withDefaultDatabase(database.uri);
  logger.info({ database: database.description }, `database: ${database.description}`);

  const connection = createConnection();
  const state = { ready: false, ltiReady: false, reason: 'starting: connecting to the database' };
  let resolveClient: (client: MongoClient) => void = () => undefined;
  const clientPromise = new Promise<MongoClient>((resolve) => {
    resolveClient = resolve;
  });

  const urls = toolUrls(config.toolUrl);
  const competencies = createCompetencyRepository(connection);
  const registry = createPlatformRegistry(connection);
  const pendingRegistrations = createPendingRegistrations(connection);
  const invites = createRegistrationInvites(connection);
  const records = createLaunchRecords(connection, { pseudonymSecret: config.ltiKey });
  const loginAttempts = createLoginAttempts(connection);
  const events = createEventBus();
  const moduleStore = createModuleStore(connection, logger);
  const scores = createScoreRepository(connection);
  const fieldCrypto = createFieldCrypto(config.dataEncryptionKeys);
  const privacy = createPrivacyService({ connection, crypto: fieldCrypto, audit: createAuditLog(connection) });
  const retentionSweeper = createRetentionSweeper({ privacy, logger, intervalMs: config.privacySweepIntervalMs });
  const fault = createFaultPoint(config.faultPoint);
  if (config.faultPoint)
    logger.warn({ faultPoint: config.faultPoint }, `FAULT POINT ARMED: the process kills itself at ${config.faultPoint}`);
  const assessment = createAssessmentService({
    attempts: createAttemptRepository(connection, fieldCrypto),
    scores,
    modules: moduleStore,
    catalog,
    records,
    events,
    logger,
    fault,
    now: options.tuning?.now,
    observations: createObservationRepository(connection, fieldCrypto),
  });
  const assignmentStore = createAssignmentStore(connection);
  const sweeper = createScoreSweeper({ assessment, logger, options: options.tuning?.sweeper });
  const housekeeping = createHousekeeping({ connection, logger });
  const onRefused = createRefusalHandler(loginAttempts, urls);
  const launchTokens = createLaunchTokens(config.ltiKey);
  const frameOrigins = createFrameOrigins({
    connection,
    registered: async () => (await lti.listPlatforms()).map((p) => ({ issuer: p.issuer, clientId: p.clientId, authUrl: p.authUrl })),
  });
  const validator = createIdTokenValidator({
    jwks: new JwksCache(),
    nonces: createNonceStore(connection),
    expectedNonce: (state) => loginAttempts.nonceFor(state),
    consumeLogin: (state, nonce) => loginAttempts.consume(state, nonce),
    settingsCacheMs: options.tuning?.platformCacheMs ?? defaultPlatformCacheMs,
    registry,
    lookupPlatform: (issuer, clientId) => lti.lookupPlatform(issuer, clientId),
  });
  const lti: LtiProvider = createLtiProvider({
    encryptionKey: config.ltiKey,
    databaseUri,
    platformKeyBits: config.platformKeyBits,
    platformCacheMs: options.tuning?.platformCacheMs,
  });
  const oidc = createOidcHandlers({
    platform: (issuer, clientId) => lti.lookupPlatform(issuer, clientId),
    platformsOf: (issuer) => lti.platformsOf(issuer),
    loginAttempts,
    validate: validator,
    ltiKey: config.ltiKey,
    secureCookies: config.secureCookies,
    issuerWithoutCookie: cookielessIssuer(loginAttempts),
    onLaunch: createLaunchHandler({ records, catalog, frameOrigins, tokens: launchTokens }),
    onRefused,
  });
  const platformClient = createPlatformClient({ provider: lti, logger, timeoutMs: options.tuning?.platformTimeoutMs });
  const roster = withRosterNames(createRosterService({ client: platformClient, pageSize: options.tuning?.rosterPageSize }), connection);
  const outbox = createOutbox(connection);
  const gradingSettings = createCourseGradingSettings(connection);
  const passback = createPassbackService({ outbox, settings: gradingSettings, records, registry, catalog, logger });
  // AGS requests respect each platform's rate and Retry-After (one throttle per process).
  const throttle = createPlatformThrottle({ ratePerSecond: config.passbackRatePerSecond, overrides: config.passbackRateOverrides });
  const agsClient = throttledClient(platformClient, throttle);
  const lineItems = createLineItemService({ connection, client: agsClient });
  const grading = createGradingAdmin({
    outbox,
    records,
    assessment,
    scores,
    lineItems,
    client: agsClient,
    jobs: createJobStore(connection),
    onJobQueued: () => jobRunner.nudge(),
  });
  const jobRunner = createJobRunner({ store: createJobStore(connection), work: grading.jobWork, logger, options: options.tuning?.jobs });
  const worker = createPassbackWorker({
    outbox,
    client: agsClient,
    throttle,
    lineItems,
    records,
    framework: () => competencies.loadFramework(),
    settings: gradingSettings,
    logger,
    options: { baseBackoffMs: config.passbackBaseBackoffMs, leaseMs: config.passbackLeaseMs, ...options.tuning?.worker },
    fault,
  });
  events.subscribe('competencyScoresChanged', async (event) => {
    if ((await passback.onScoresChanged(event)) > 0) worker.nudge();
  });
  const devPlatform = config.devPlatformEnabled
    ? createDevPlatform({ connection, toolUrl: config.toolUrl, platformUrl: `${config.toolUrl}/dev/platform`, logger })
    : undefined;

  const readiness: Readiness = {
    async check() {
      if (!state.ready) return { ready: false, reason: state.reason };
      const embedded = database.health?.();
      if (embedded && !embedded.ok) return { ready: false, reason: embedded.reason };
      const reachable = await pingDatabase(connection);
      return reachable ? { ready: true } : { ready: false, reason: 'database unreachable' };
    },
  };

  const instruments = loadObservationInstruments(
    competencyIdsOf(framework),
    options.tuning?.observationInstrumentFile,
    options.tuning?.observationInstrumentArchive,
  );
  const app = buildApp({
    config,
    logger,
    readiness,
    middleware: sessionMiddleware({
      secret: config.sessionSecret,
      secureCookies: config.secureCookies,
      clientPromise,
      dbName: undefined,
      wrapStore: options.tuning?.wrapSessionStore,
    }).concat(launchContexts(launchTokens), framePolicy(frameOrigins)),
    routers: [
      privacyRoutes({ privacy, audit: createAuditLog(connection), records, assessment, accounts: createAdminAccounts(connection) }),
      competencyRoutes({ competencies }),
      standardsRoutes({ framework, versions: loadFrameworkVersions(), baseUrl: urls.base }),
      ltiRoutes({
        provider: lti,
        oidc,
        urls,
        isReady: () => state.ltiReady,
        registration: {
          provider: lti,
          registry,
          pending: pendingRegistrations,
          invites,
          urls,
          autoActivate: config.dynRegAutoActivate,
          requireInvite: config.dynRegRequireInvite,
          // The built-in platform registers itself at start-up without an invite.
          inviteExemptPrefix: devPlatform ? `${config.toolUrl}/dev/platform/` : undefined,
          fetchPolicy: options.tuning?.registrationFetchPolicy ?? (config.isProduction ? productionFetchPolicy : developmentFetchPolicy),
          logger,
        },
      }),
      deepLinkingRoutes({ catalog, provider: lti, urls, spent: createSpentDeepLinks(connection) }),
      trainingRoutes({
        catalog,
        assessment,
        competencies,
        assignments: async (courseId) =>
          effectiveAssignments(
            catalog.list().map((m) => m.id),
            new Set((await records.listModuleLinks(courseId)).flatMap((l) => (l.moduleId ? [l.moduleId] : []))),
            await assignmentStore.find(courseId),
          ),
        feedback: createCoachFeedback({ connection, assessment, now: options.tuning?.now }),
      }),
      moduleRoutes({ catalog, assessment }),
      courseRoutes({
        records,
        roster,
        catalog,
        grading,
        settings: gradingSettings,
        competencies,
        assessment,
        lineItems,
        audit: createAuditLog(connection),
        assignments: assignmentStore,
      }),
      reflectionRoutes({ assessment, records, audit: createAuditLog(connection) }),
      coachRoutes({
        records,
        assessment,
        competencies,
        catalog,
        outbox,
        audit: createAuditLog(connection),
        instrument: instruments.current,
        instruments: instruments.byVersion,
      }),
      adminRoutes({ connection, config, logger, provider: lti, registry, grading }),
      programRoutes({
        programs: createProgramRepository(connection),
        framework,
        modules: moduleFiles,
        pdf: createPdfPrinter({ chromiumPath: config.chromiumPath }),
      }),
      platformRoutes({ connection, provider: lti, registry, pending: pendingRegistrations, invites, urls }),
      ...(devPlatform ? [devPlatformMount(devPlatform)] : []),
    ],
  });
  const server = await listen(app, options.listenPort ?? config.port, config.host);
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  logger.info({ port, toolUrl: config.toolUrl }, `CoachLTI listening on port ${port} (public URL ${config.toolUrl})`);
  if (devPlatform) {
    logger.warn(devPlatformBanner(config.toolUrl));
  }

  const shutdown = new AbortController();
  let ltiDeployed = false;
  const ready = (async () => {
    await connectWithRetry(connection, databaseUri, config.dbConnectTimeoutMs, logger, shutdown.signal);
    resolveClient(connection.getClient() as unknown as MongoClient);
    if (config.migrateOnStart) {
      state.reason = 'starting: running migrations';
      const applied = await migrateUp(connection);
      logger.info({ applied }, `migrations applied: ${applied.length}`);
    }
    const synced = await moduleStore.sync(moduleFiles);
    if (synced.added.length > 0) logger.info({ added: synced.added }, `curriculum synced: ${synced.added.length} module version(s) added`);
    state.reason = 'starting: LTI provider';
    await lti.deploy();
    ltiDeployed = true;
    state.ltiReady = true;
    if (devPlatform) {
      state.reason = 'starting: registering the development test platform';
      await devPlatform.registerWithTool();
    }
    if (options.tuning?.startWorker ?? config.passbackWorker) worker.start();
    if (options.tuning?.startJobRunner ?? options.tuning?.startWorker ?? config.passbackWorker) jobRunner.start();
    // Scores owed from before a crash are recomputed and queued before we call ourselves ready.
    state.reason = 'starting: settling owed scores';
    await sweeper.start();
    housekeeping.start();
    retentionSweeper.start();
    state.ready = true;
    logger.info('ready');
  })();
  ready.catch((error: unknown) => {
    if (shutdown.signal.aborted) return;
    state.reason = `start-up failed: ${(error as Error).message}`;
    logger.error({ err: error }, 'start-up failed; /readyz stays 503');
  });

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      shutdown.abort();
      state.ready = false;
      state.ltiReady = false;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ready.catch(() => undefined);
      await jobRunner.stop();
      housekeeping.stop();
      await sweeper.stop();
      await retentionSweeper.stop();
      await worker.stop();
      if (ltiDeployed) await lti.close().catch(() => undefined);
      await connection.close(true).catch(() => undefined);
      await database.stop();
    })();
    return stopped;
  };

  return {
    config,
    app,
    logger,
    url,
    connection,
    database,
    lti,
    registry,
    platformClient,
    assessment,
    events,
    outbox,
    worker,
    sweeper,
    housekeeping,
    grading,
    jobRunner,
    privacy,
    retentionSweeper,
    devPlatform,
    ready,
    stop,
  };
}

/** The test platform lives under its own prefix and reaches the tool only over HTTP. */
function devPlatformMount(devPlatform: DevPlatform): Router {
  const outer = Router();
  outer.use('/dev/platform', devPlatform.router);
  return outer;
}

function listen(app: ReturnType<typeof buildApp>, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => resolve(server));
    server.once('error', reject);
  });
}
