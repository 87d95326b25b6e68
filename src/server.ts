import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Connection } from 'mongoose';
import { loadConfig, type Config } from './config/config';
import { createCompetencyRepository } from './competencies/competency-repository';
import { competencyRoutes } from './competencies/competency-routes';
import { connectWithRetry, createConnection, pingDatabase } from './db/connection';
import { resolveDatabaseServer, type DatabaseServer } from './db/database-server';
import { migrateUp } from './db/migrations';
import { createLogger, type Logger } from './shared/logger';
import { buildApp } from './web/app';
import type { Readiness } from './web/health-routes';

export interface StartOptions {
  /** Environment to parse; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Overrides config.port; 0 picks a free port (tests). */
  listenPort?: number;
  logger?: Logger;
}

export interface RunningServer {
  readonly config: Config;
  readonly logger: Logger;
  readonly url: string;
  readonly connection: Connection;
  readonly database: DatabaseServer;
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
  const logger = options.logger ?? createLogger(config.logLevel);
  const database = await resolveDatabaseServer(config, logger);
  logger.info({ database: database.description }, `database: ${database.description}`);

  const connection = createConnection();
  const competencies = createCompetencyRepository(connection);

  const state = { ready: false, reason: 'starting: connecting to the database' };
  const readiness: Readiness = {
    async check() {
      if (!state.ready) return { ready: false, reason: state.reason };
      const reachable = await pingDatabase(connection);
      return reachable ? { ready: true } : { ready: false, reason: 'database unreachable' };
    },
  };

  const app = buildApp({ config, logger, readiness, routers: [competencyRoutes({ competencies })] });
  const server = await listen(app, options.listenPort ?? config.port, config.host);
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  logger.info({ port, toolUrl: config.toolUrl }, `CoachLTI listening on port ${port} (public URL ${config.toolUrl})`);

  const shutdown = new AbortController();
  const ready = (async () => {
    await connectWithRetry(connection, database.uri, config.dbConnectTimeoutMs, logger, shutdown.signal);
    if (config.migrateOnStart) {
      state.reason = 'starting: running migrations';
      const applied = await migrateUp(connection);
      logger.info({ applied }, `migrations applied: ${applied.length}`);
    }
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
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await connection.close(true).catch(() => undefined);
      await database.stop();
    })();
    return stopped;
  };

  return { config, logger, url, connection, database, ready, stop };
}

function listen(app: ReturnType<typeof buildApp>, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => resolve(server));
    server.once('error', reject);
  });
}
