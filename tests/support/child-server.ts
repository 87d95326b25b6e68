import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MongoClient } from 'mongodb';
import { fromRoot } from '../../src/shared/paths';
import { freePort, testDatabaseUri, testDataEncryptionKeys, testPlatformKeyBits } from './test-server';

/** CoachLTI as its own process (src/main.ts), so a test can tell whether a request ended the process. */
/** Document counts of every collection of the child's database (minus `except`): "nothing written" = no change. */
export async function collectionCounts(client: MongoClient, except: ReadonlySet<string> = new Set()): Promise<Record<string, number>> {
  const db = client.db();
  const result: Record<string, number> = {};
  for (const c of await db.listCollections().toArray()) {
    if (!except.has(c.name)) result[c.name] = await db.collection(c.name).countDocuments();
  }
  return result;
}

export interface ChildServer {
  readonly url: string;
  readonly databaseUri: string;
  readonly process: ChildProcess;
  alive(): boolean;
  /** What the process wrote to stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

export async function startChildServer(env: Record<string, string> = {}): Promise<ChildServer> {
  const port = await freePort();
  const databaseUri = env.MONGODB_URI ?? testDatabaseUri('child');
  const settings: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'coachlti-child-')),
    MONGODB_URI: databaseUri,
    PORT: String(port),
    HOST: '127.0.0.1',
    TOOL_URL: `http://127.0.0.1:${port}`,
    // Every child (and a restart) reads what the others encrypted.
    DATA_ENCRYPTION_KEYS: testDataEncryptionKeys,
    ...env,
  };
  // Smaller platform keys only where the configuration accepts them (production-mode children keep 4096).
  if (settings.NODE_ENV === 'test') settings.TEST_PLATFORM_KEY_BITS ??= testPlatformKeyBits;
  const child = spawn(process.execPath, ['--import', 'tsx', fromRoot('src', 'main.ts')], {
    env: settings,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exited = false;
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  child.once('exit', () => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited) throw new Error(`CoachLTI exited during start-up: ${output.slice(-2000)}`);
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`CoachLTI not ready after 90 s: ${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    databaseUri,
    process: child,
    alive: () => !exited && child.exitCode === null,
    output: () => output,
    async stop() {
      if (exited) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await done;
      clearTimeout(timer);
    },
  };
}
