import { startMongoJavaServer } from '../../src/db/embedded/embedded-mongo';

/**
 * One real wire-protocol database for the whole run: MONGODB_URI when set (CI with real MongoDB),
 * else an in-memory mongo-java-server. Each test file then uses its own database name on it.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.MONGODB_URI) {
    process.env.TEST_MONGODB_BASE_URI = process.env.MONGODB_URI.replace(/\/[^/?]*(\?.*)?$/, '');
    return;
  }
  const server = await startMongoJavaServer();
  process.env.TEST_MONGODB_BASE_URI = server.uri;
  (globalThis as { __embeddedMongo__?: { stop(): Promise<void> } }).__embeddedMongo__ = server;
}
