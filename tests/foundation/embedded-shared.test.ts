import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { fromRoot } from '../../src/shared/paths';
import { Browser } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer, testPlatformKeyBits, type TestServer } from '../support/test-server';

jest.setTimeout(240_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a CLI as `npm run …` does, on the embedded default (no MONGODB_URI) in the given DATA_DIR. */
function runCli(script: string[], args: string[], dataDir: string, stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fromRoot(...script), ...args], {
      cwd: fromRoot(),
      env: { PATH: process.env.PATH, NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'warn', TEST_PLATFORM_KEY_BITS: testPlatformKeyBits },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.stdin.on('error', () => undefined);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (stdin !== undefined) child.stdin.write(stdin);
    child.stdin.end();
  });
}

const platformCli = ['src', 'lti', 'cli', 'platform.ts'];
const adminCli = ['src', 'admin', 'cli', 'admin.ts'];

interface Published {
  port: number;
  pid: number;
  databasePid: number;
  startedAt: string;
}

const publishedFile = (dataDir: string): string => path.join(dataDir, 'embedded-db', 'server.json');
const readPublished = (dataDir: string): Published => JSON.parse(readFileSync(publishedFile(dataDir), 'utf8')) as Published;

async function waitForReadyz(
  server: TestServer,
  status: number,
  timeoutMs: number,
  reason: RegExp = /.*/,
): Promise<{ status: string; reason?: string }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(server.url).get('/readyz');
    const body = res.body as { status: string; reason?: string };
    if (res.status === status && reason.test(body.reason ?? '')) return body;
    if (Date.now() > until) throw new Error(`/readyz stayed ${res.status} (${JSON.stringify(res.body)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('embedded default database shared with the command-line tools', () => {
  let dataDir: string;
  let server: TestServer;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'coachlti-shared-'));
    server = await startTestServer({ MONGODB_URI: undefined, DATA_DIR: dataDir });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('when the server runs, then it publishes its database address (port, pid, start time) in DATA_DIR', async () => {
    const published = readPublished(dataDir);
    expect(published.pid).toBe(process.pid);
    expect(server.database.uri).toBe(`mongodb://127.0.0.1:${published.port}`);
    expect(Number.isInteger(published.databasePid)).toBe(true);
    expect(Number.isNaN(Date.parse(published.startedAt))).toBe(false);
  });

  test('when npm run platform -- list and npm run admin -- create/list run while the server runs, then they use its database and exit 0', async () => {
    const platforms = await runCli(platformCli, ['list'], dataDir);
    expect(platforms.stderr).toBe('');
    expect(platforms.code).toBe(0);
    const registered = await server.registry.list();
    expect(registered.length).toBeGreaterThan(0);
    const lines = platforms.stdout.trim().split('\n');
    expect(lines).toHaveLength(registered.length);
    for (const p of registered) expect(platforms.stdout).toContain(`${p.issuer}  ${p.clientId}`);

    const created = await runCli(adminCli, ['create', 'ops@school.edu'], dataDir, 'a long enough passphrase\n');
    expect(created).toEqual({ code: 0, stdout: 'created admin account ops@school.edu\n', stderr: '' });
    const listed = await runCli(adminCli, ['list'], dataDir);
    expect(listed.code).toBe(0);
    expect(listed.stderr).toBe('');
    expect(listed.stdout).toMatch(/^ops@school\.edu +created \S+ {2}scope global {2}never signed in\n$/);
    // The server sees the account the CLI wrote: one database, not a copy.
    expect(await server.connection.collection('admin_accounts').countDocuments({ email: 'ops@school.edu' })).toBe(1);
  });

  test('when a second server starts on the same DATA_DIR, then it refuses with one sentence naming the other process, not "install Java"', async () => {
    const attempt = startTestServer({ MONGODB_URI: undefined, DATA_DIR: dataDir });
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `^Another CoachLTI process uses DATA_DIR ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(pid ${process.pid}, a CoachLTI server\\)`,
      ),
    );
    await expect(attempt).rejects.not.toThrow(/Java|Maven/);
  });

  test('when the embedded database process is killed, then /readyz answers 503 with the reason, and 200 again after the restart with the data intact', async () => {
    await server.connection.collection('restart_probe').insertOne({ _id: 'probe' as never, note: 'before the crash' });
    const before = readPublished(dataDir);
    process.kill(before.databasePid, 'SIGKILL');

    // Right after the kill the ping may fail first; the supervisor's reason follows within milliseconds.
    const down = await waitForReadyz(server, 503, 10_000, /^embedded database/);
    expect(down.reason).toMatch(/^embedded database stopped unexpectedly \(signal SIGKILL\); restarting$|^embedded database restarting/);
    await waitForReadyz(server, 200, 90_000);

    const after = readPublished(dataDir);
    expect(after.port).toBe(before.port);
    expect(after.databasePid).not.toBe(before.databasePid);
    expect(await server.connection.collection('restart_probe').findOne({ _id: 'probe' as never })).toEqual({
      _id: 'probe',
      note: 'before the crash',
    });
    expect(server.logs.messages()).toContain('embedded database restarted');
    // ltijs (its own connection) is back too: the key set and a whole launch read from the database.
    await request(server.url).get('/lti/keys').expect(200);
    const landing = await launch(server, new Browser(), launchInput('canvas', 'coach'));
    expect(landing.status).toBe(200);
    expect(new URL(landing.url).pathname).toBe('/training');
    const platforms = await runCli(platformCli, ['list'], dataDir);
    expect(platforms.code).toBe(0);
    expect(platforms.stdout).not.toBe('');
  });
});

describe('embedded default database without a running server', () => {
  test('when a stale address file names a dead process, then a CLI ignores it, opens the file itself and exits 0', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'coachlti-stale-'));
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(path.join(dataDir, 'embedded-db'), { recursive: true });
    writeFileSync(
      publishedFile(dataDir),
      JSON.stringify({ port: 1, pid: 2 ** 22 + 12345, databasePid: 2 ** 22 + 12346, startedAt: new Date().toISOString() }),
    );
    const listed = await runCli(adminCli, ['list'], dataDir);
    expect(listed).toEqual({ code: 0, stdout: 'no admin accounts (create one with: npm run admin -- create <email>)\n', stderr: '' });
    expect(existsSync(publishedFile(dataDir))).toBe(false);
  });

  test('when the server stops cleanly, then the address file is removed', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'coachlti-clean-'));
    const server = await startTestServer({ MONGODB_URI: undefined, DATA_DIR: dataDir });
    expect(existsSync(publishedFile(dataDir))).toBe(true);
    await server.stop();
    expect(existsSync(publishedFile(dataDir))).toBe(false);
  });
});
