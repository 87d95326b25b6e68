import { startMongoJavaServer } from '../../src/db/embedded/embedded-mongo';

/**
 * Real wire-protocol databases for the run: MONGODB_URI when set (CI with real MongoDB, one server for all),
 * else one in-memory mongo-java-server per jest worker (`--maxWorkers`), so parallel test files do not queue
 * on one server. TEST_DB_SERVERS=1 forces a single shared server. Each test file uses its own database name.
 */
export default async function globalSetup(globalConfig: { maxWorkers: number }): Promise<void> {
  if (process.env.MONGODB_URI) {
    process.env.TEST_MONGODB_BASE_URI = process.env.MONGODB_URI.replace(/\/[^/?]*(\?.*)?$/, '');
    return;
  }
  const wanted = Number(process.env.TEST_DB_SERVERS ?? globalConfig.maxWorkers);
  const count = Math.max(1, Math.min(Number.isFinite(wanted) ? wanted : 1, 8));
  const started = await Promise.allSettled(Array.from({ length: count }, () => startMongoJavaServer()));
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  (globalThis as { __embeddedMongo__?: { stop(): Promise<void> } }).__embeddedMongo__ = {
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failed.reason;
  }
  process.env.TEST_MONGODB_BASE_URI = servers[0]!.uri;
  // Space-separated, one per worker; tests/support/test-server.ts picks by JEST_WORKER_ID.
  process.env.TEST_MONGODB_BASE_URIS = servers.map((s) => s.uri).join(' ');
}
