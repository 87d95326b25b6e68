import type { Connection } from 'mongoose';
import type { Config } from '../config/config';
import type { Logger } from '../shared/logger';
import { connectOptions, createConnection, withDefaultDatabase } from './connection';
import { resolveDatabaseServer } from './database-server';

/** For command-line tools: the database (MONGODB_URI or the embedded one) opened once, no retries. */
export interface OpenDatabase {
  connection: Connection;
  uri: string;
  close(): Promise<void>;
}

export async function openDatabase(config: Config, logger: Logger): Promise<OpenDatabase> {
  const server = await resolveDatabaseServer(config, logger);
  const uri = withDefaultDatabase(server.uri);
  const connection = createConnection();
  try {
    await connection.openUri(uri, connectOptions(uri, config.dbConnectTimeoutMs));
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    connection,
    uri,
    async close() {
      await connection.close().catch(() => undefined);
      await server.stop();
    },
  };
}
