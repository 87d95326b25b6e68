import type { Connection } from 'mongoose';
import type { Config } from '../../config/config';
import { openDatabase } from '../../db/open-database';
import type { Logger } from '../../shared/logger';
import { createLtiProvider, type LtiProvider } from '../ltijs-adapter';
import { createPlatformRegistry, type PlatformRegistry } from '../platform-registry';

/**
 * What command-line tools (platform admin, passback worker) need without the web app: the database, our
 * connection, the platform registry and ltijs for platform keys. No launch is ever handled here.
 */
export interface ToolContext {
  connection: Connection;
  provider: LtiProvider;
  registry: PlatformRegistry;
  close(): Promise<void>;
}

export async function openToolContext(config: Config, logger: Logger): Promise<ToolContext> {
  const { connection, uri, close: closeDatabase } = await openDatabase(config, logger);
  const registry = createPlatformRegistry(connection);
  const provider = createLtiProvider({
    encryptionKey: config.ltiKey,
    databaseUri: uri,
    platformKeyBits: config.platformKeyBits,
  });
  await provider.deploy();
  return {
    connection,
    provider,
    registry,
    async close() {
      await provider.close();
      await closeDatabase();
    },
  };
}
