import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { generateKeyEntry } from '../../src/privacy/field-crypto';
import { createLogger } from '../../src/shared/logger';
import { startServer, type RunningServer, type StartOptions } from '../../src/server';

/** This jest worker's database server (global setup starts one per worker). */
function workerDatabaseBaseUri(): string | undefined {
  const all = (process.env.TEST_MONGODB_BASE_URIS ?? '').split(' ').filter(Boolean);
  const worker = Number(process.env.JEST_WORKER_ID ?? 1);
  return all.length > 0 ? all[(Math.max(1, worker) - 1) % all.length] : process.env.TEST_MONGODB_BASE_URI;
}

/** A fresh database name on this worker's test server; every test file or test gets its own. */
export function testDatabaseUri(label = 'test'): string {
  const base = workerDatabaseBaseUri();
  if (!base) throw new Error('TEST_MONGODB_BASE_URI is not set: run tests through jest (global setup starts the database)');
  return `${base}/${label.replace(/[^a-z0-9]/gi, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
}

/** One data encryption key per test process, so production-mode servers start and restarts can read old records. */
export const testDataEncryptionKeys = process.env.DATA_ENCRYPTION_KEYS ?? generateKeyEntry('test1');

/** Platform key pairs of 2048 bits in test servers (production: 4096), a tenth of the generation time. */
export const testPlatformKeyBits = process.env.TEST_PLATFORM_KEY_BITS ?? '2048';

/**
 * bcrypt cost for administrators that tests create directly (production and the admin CLI: 12). Sign-in
 * compares at the cost stored in the hash, so these accounts sign in in milliseconds instead of ~0.3 s each.
 */
export const testBcryptCost = 4;

/** Collects log lines in memory so tests can assert on what was logged. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    callback();
  }
  messages(): string[] {
    return this.lines.map((l) => String(l.msg ?? ''));
  }
}

export interface TestServer extends RunningServer {
  logs: LogCapture;
}

/** A port that is free right now, so TOOL_URL can name the port the server will listen on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export async function startTestServer(
  env: Record<string, string | undefined> = {},
  options: { waitReady?: boolean; tuning?: StartOptions['tuning'] } = {},
): Promise<TestServer> {
  const logs = new LogCapture();
  const port = await freePort();
  const settings: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'coachlti-test-')),
    MONGODB_URI: testDatabaseUri(),
    PORT: String(port),
    HOST: '127.0.0.1',
    TOOL_URL: `http://127.0.0.1:${port}`,
    DATA_ENCRYPTION_KEYS: testDataEncryptionKeys,
    ...env,
  };
  // Smaller platform keys only where the configuration accepts them (production-mode servers keep 4096).
  if (settings.NODE_ENV === 'test') settings.TEST_PLATFORM_KEY_BITS ??= testPlatformKeyBits;
  const server = await startServer({
    env: settings,
    // A test that asks for LOG_LEVEL (the load test: warn) skips writing and parsing every request line.
    logger: createLogger(env.LOG_LEVEL ?? 'info', logs),
    tuning: options.tuning,
  });
  if (options.waitReady ?? true) await server.ready;
  return Object.assign(server, { logs });
}
