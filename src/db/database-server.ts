import path from 'node:path';
import type { Config } from '../config/config';
import type { Logger } from '../shared/logger';
import { EmbeddedDatabaseUnavailableError, startMongoJavaServer, type EmbeddedDatabase } from './embedded/embedded-mongo';

/** Where the data lives: MONGODB_URI when set, otherwise a database server the tool starts itself. */
export interface DatabaseServer {
  readonly uri: string;
  readonly description: string;
  stop(): Promise<void>;
}

export class NoDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoDatabaseError';
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

export async function resolveDatabaseServer(config: Config, logger: Logger): Promise<DatabaseServer> {
  if (config.mongodbUri) {
    return {
      uri: config.mongodbUri,
      description: `MongoDB at ${describeUri(config.mongodbUri)} (MONGODB_URI)`,
      stop: async () => undefined,
    };
  }
  const dataFile = path.join(config.dataDir, 'embedded-db', 'coachlti.mv');
  try {
    return await startMongoJavaServer({ dataFile });
  } catch (error) {
    if (!(error instanceof EmbeddedDatabaseUnavailableError)) throw error;
    logger.warn({ reason: error.message }, 'mongo-java-server unavailable; trying mongodb-memory-server');
    try {
      return await startMongodbMemoryServer(config.dataDir);
    } catch (fallbackError) {
      throw new NoDatabaseError(
        `No database: MONGODB_URI is not set and no embedded database could start (${error.message}; ${(fallbackError as Error).message}). ` +
          'Install Java 17 and Maven, or set MONGODB_URI=mongodb://host:27017/coachlti.',
      );
    }
  }
}
