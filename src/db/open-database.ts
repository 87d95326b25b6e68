import type { Connection } from 'mongoose';
import type { Config } from '../config/config';
import type { Logger } from '../shared/logger';
import { connectOptions, createConnection, withDefaultDatabase } from './connection';
import { resolveDatabaseServer } from './database-server';
import { migrateUp } from './migrations';

/**
 * For command-line tools: the database (MONGODB_URI or the embedded one) opened once, no retries, and
 * brought up to date with the migrations (indexes included) unless the tool is the migration runner itself.
 */
export interface OpenDatabase {
  connection: Connection;
  uri: string;
  close(): Promise<void>;
}

export async function openDatabase(config: Config, logger: Logger, options: { migrate?: boolean } = {}): Promise<OpenDatabase> {
  const server = await resolveDatabaseServer(config, logger, { role: 'cli' });
  const uri = withDefaultDatabase(server.uri);
  const connection = createConnection();
  try {
    await connection.openUri(uri, connectOptions(uri, config.dbConnectTimeoutMs));
    if (options.migrate ?? true) await migrateUp(connection);
  } catch (error) {
    await connection.close().catch(() => undefined);
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
