import path from 'node:path';
import type { Config } from '../config/config';
import type { Logger } from '../shared/logger';
import {
  EmbeddedDatabaseLockedError,
  EmbeddedDatabaseUnavailableError,
  startMongoJavaServer,
  type EmbeddedDatabase,
  type EmbeddedProcess,
} from './embedded/embedded-mongo';
import {
  checkPublishedAddress,
  publishedAddressFile,
  readPublishedAddress,
  removePublishedAddress,
  writePublishedAddress,
  type PublishedAddress,
} from './embedded/published-address';

export type DatabaseHealth = { ok: true } | { ok: false; reason: string };

/** Where the data lives: MONGODB_URI when set, otherwise a database server the tool starts itself. */
export interface DatabaseServer {
  readonly uri: string;
  readonly description: string;
  /** The embedded database's own state (not ok while it restarts); absent for external databases. */
  health?(): DatabaseHealth;
  stop(): Promise<void>;
}

export class NoDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoDatabaseError';
  }
}

/** The embedded data file is held by another CoachLTI process. */
export class DatabaseInUseError extends NoDatabaseError {
  constructor(dataDir: string, holder: PublishedAddress | undefined) {
    const who = holder
      ? ` (pid ${holder.pid}, ${holder.role === 'cli' ? 'a command-line tool' : 'a CoachLTI server'})`
      : ' (its lock file gives no address; it may still be starting or stopping)';
    super(
      `Another CoachLTI process uses DATA_DIR ${dataDir}${who}: its embedded database file is locked. ` +
        'Wait for it to finish or stop it, give this process another DATA_DIR, or set MONGODB_URI.',
    );
    this.name = 'DatabaseInUseError';
  }
}

export const defaultDatabaseName = 'coachlti';

/** Hides credentials in a MongoDB URI so it can be logged. */
export function describeUri(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//[credentials]@');
}

interface MemoryServerModule {
  MongoMemoryServer: {
    create(options: { instance: { dbPath: string; storageEngine: string } }): Promise<{ getUri(): string; stop(): Promise<boolean> }>;
  };
}

/** Users with internet access may `npm install mongodb-memory-server` instead of Java + Maven. */
async function startMongodbMemoryServer(dataDir: string): Promise<EmbeddedDatabase> {
  let mod: MemoryServerModule;
  try {
    mod = (await import('mongodb-memory-server' as string)) as MemoryServerModule;
  } catch {
    throw new NoDatabaseError('mongodb-memory-server is not installed');
  }
  const dbPath = path.join(dataDir, 'mongodb-memory-server');
  const server = await mod.MongoMemoryServer.create({ instance: { dbPath, storageEngine: 'wiredTiger' } });
  return {
    uri: server.getUri(),
    description: `embedded mongodb-memory-server, data in ${dbPath}`,
    stop: async () => {
      await server.stop();
    },
  };
}

export interface ResolveOptions {
  /**
   * `server` (default): start the embedded database, publish its address in DATA_DIR and restart it if it dies.
   * `cli`: use the running server's published database when there is one, else open the file for this run.
   */
  role?: 'server' | 'cli';
  /** How long a server waits for a command-line tool to release the data file. */
  lockWaitMs?: number;
}

export async function resolveDatabaseServer(config: Config, logger: Logger, options: ResolveOptions = {}): Promise<DatabaseServer> {
  if (config.mongodbUri) {
    return {
      uri: config.mongodbUri,
      description: `MongoDB at ${describeUri(config.mongodbUri)} (MONGODB_URI)`,
      stop: async () => undefined,
    };
  }
  const dataFile = path.join(config.dataDir, 'embedded-db', 'coachlti.mv');
  try {
    return options.role === 'cli'
      ? await useOrStartForCli(config.dataDir, dataFile)
      : await startSupervised(config.dataDir, dataFile, logger, options.lockWaitMs ?? 30_000);
  } catch (error) {
    if (!(error instanceof EmbeddedDatabaseUnavailableError)) throw error;
    logger.warn({ reason: error.message }, 'mongo-java-server unavailable; trying mongodb-memory-server');
    try {
      return await startMongodbMemoryServer(config.dataDir);
    } catch (fallbackError) {
      const advice = error.missing
        ? 'Install Java 17 and Maven (then npm run db:fetch), or set MONGODB_URI=mongodb://host:27017/coachlti.'
        : 'Or set MONGODB_URI=mongodb://host:27017/coachlti.';
      throw new NoDatabaseError(
        `No database: MONGODB_URI is not set and the embedded database could not start (${error.message}; ${(fallbackError as Error).message}). ${advice}`,
      );
    }
  }
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** Starts mongo-java-server on the file, waiting (up to waitMs) while another process holds it. */
async function startOnFile(dataDir: string, dataFile: string, port: number, waitMs: number): Promise<EmbeddedProcess> {
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      return await startMongoJavaServer({ dataFile, port });
    } catch (error) {
      if (!(error instanceof EmbeddedDatabaseLockedError)) throw error;
      const holder = readPublishedAddress(publishedAddressFile(dataFile));
      // Another server will not let go; a command-line tool finishes in seconds.
      if (Date.now() >= until || holder?.role === 'server') throw new DatabaseInUseError(dataDir, holder);
      await sleep(500);
    }
  }
}

/** A command-line tool: the running server's database if it answers, else the file for the length of this run. */
async function useOrStartForCli(dataDir: string, dataFile: string, waitMs = 30_000): Promise<DatabaseServer> {
  const file = publishedAddressFile(dataFile);
  const until = Date.now() + waitMs;
  for (;;) {
    const published = await checkPublishedAddress(file);
    if (published.state === 'live') {
      const { port, pid } = published.address;
      return {
        uri: `mongodb://127.0.0.1:${port}`,
        description: `embedded database of the running CoachLTI process ${pid} (port ${port})`,
        stop: async () => undefined,
      };
    }
    // A running server is restarting its database: wait for it rather than take the file from under it.
    const serverRestarting = published.state === 'owner-alive' && published.address.role === 'server';
    if (!serverRestarting) {
      try {
        const db = await startOnFile(dataDir, dataFile, 0, 0);
        writePublishedAddress(file, {
          port: db.port,
          pid: process.pid,
          databasePid: db.pid,
          startedAt: new Date().toISOString(),
          dataFile,
          role: 'cli',
        });
        return {
          uri: db.uri,
          description: db.description,
          async stop() {
            removePublishedAddress(file, process.pid);
            await db.stop();
          },
        };
      } catch (error) {
        // Locked: a server or tool is starting; its address appears in a moment.
        if (!(error instanceof DatabaseInUseError) || Date.now() >= until) throw error;
      }
    } else if (Date.now() >= until) {
      throw new NoDatabaseError(
        `The CoachLTI server (pid ${published.address.pid}) using DATA_DIR ${dataDir} is restarting its embedded database and ` +
          `it has not answered for ${waitMs / 1000} s; its log and /readyz say why.`,
      );
    }
    await sleep(500);
  }
}

/**
 * The server's embedded database: published in DATA_DIR for the command-line tools, and restarted on the
 * same port with capped backoff if its process dies (the drivers of our connection and ltijs reconnect to
 * that port by themselves). /readyz reports the reason meanwhile through health().
 */
async function startSupervised(dataDir: string, dataFile: string, logger: Logger, lockWaitMs: number): Promise<DatabaseServer> {
  const file = publishedAddressFile(dataFile);
  const existing = await checkPublishedAddress(file);
  if (existing.state !== 'none' && existing.address.role === 'server' && existing.address.pid !== process.pid) {
    throw new DatabaseInUseError(dataDir, existing.address);
  }
  let current = await startOnFile(dataDir, dataFile, 0, lockWaitMs);
  const port = current.port;
  const publish = (db: EmbeddedProcess): void =>
    writePublishedAddress(file, {
      port,
      pid: process.pid,
      databasePid: db.pid,
      startedAt: new Date().toISOString(),
      dataFile,
      role: 'server',
    });
  publish(current);
  const stopping = new AbortController();
  let health: DatabaseHealth = { ok: true };
  let restarting: Promise<void> = Promise.resolve();

  const restart = async (): Promise<void> => {
    let delay = 500;
    for (let attempt = 1; !stopping.signal.aborted; attempt += 1) {
      try {
        const db = await startMongoJavaServer({ dataFile, port });
        if (stopping.signal.aborted) {
          await db.stop();
          return;
        }
        current = db;
        publish(db);
        health = { ok: true };
        logger.info({ attempt, port }, 'embedded database restarted');
        watch(db);
        return;
      } catch (error) {
        const reason = (error as Error).message;
        health = { ok: false, reason: `embedded database restarting: attempt ${attempt} failed (${reason}); next in ${delay / 1000}s` };
        logger.error({ attempt, retryInMs: delay, reason }, health.reason);
      }
      await sleep(delay, stopping.signal);
      delay = Math.min(delay * 2, 30_000);
    }
  };

  const watch = (db: EmbeddedProcess): void => {
    void db.exited.then(({ code, signal }) => {
      if (stopping.signal.aborted || db !== current) return;
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      health = { ok: false, reason: `embedded database stopped unexpectedly (${how}); restarting` };
      logger.error({ code, signal, port }, health.reason);
      restarting = restart();
    });
  };
  watch(current);

  return {
    uri: current.uri,
    description: current.description,
    health: () => health,
    async stop() {
      stopping.abort();
      await restarting;
      await current.stop();
      removePublishedAddress(file, process.pid);
    },
  };
}
