import { spawn, type ChildProcess } from 'node:child_process';
import { fromRoot } from '../../src/shared/paths';
import { competencyIds, scoreCourse } from '../support/outbox-fixtures';
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(240_000);

function startWorkerProcess(server: TestServer): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fromRoot('src', 'grading', 'cli', 'worker.ts')], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      MONGODB_URI: process.env.CRASH_TEST_DB_URI,
      LTI_KEY: server.config.ltiKey,
      SESSION_SECRET: server.config.sessionSecret,
      DATA_DIR: server.config.dataDir,
      PASSBACK_BASE_BACKOFF_MS: '20',
      PASSBACK_LEASE_MS: '3000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('WORKER READY')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${err}`)));
  });
}

describe('a passback worker process killed mid-run', () => {
  let server: TestServer;
  beforeAll(async () => {
    const { testDatabaseUri } = await import('../support/test-server');
    process.env.CRASH_TEST_DB_URI = testDatabaseUri('crash');
    server = await startTestServer({ MONGODB_URI: process.env.CRASH_TEST_DB_URI }, { tuning: { startWorker: false } });
  });
  afterAll(async () => {
    server.devPlatform?.faults.clear();
    await server.stop();
  });

  test('when the worker is SIGKILLed while sending and another starts, then nothing is lost and no score version is accepted twice', async () => {
    const { contextId, learners, entry } = await scoreCourse(server, 'moodle');
    // Slow the LMS down a little so the kill lands while requests are in flight.
    server.devPlatform!.faults.set({ seed: 7, rateTimeout: 0.05, timeoutDelayMs: 200, appliesTo: ['scores'] });

    const expected = new Map<string, string>();
    const computedAt = new Date('2026-11-24T15:00:00.000Z');
    for (const [li, learner] of learners.entries()) {
      for (const competency of competencyIds) {
        const input = entry(li, competency, 50 + li, computedAt, 'crash test');
        await server.outbox.enqueue(input, new Date());
        expected.set(`${learner.userId}|${competency}`, computedAt.toISOString());
      }
    }

    const first = await startWorkerProcess(server);
    const until = Date.now() + 60_000;
    while ((await server.outbox.counts({})).sent < 40 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    first.kill('SIGKILL');
    const atKill = await server.outbox.counts({});
    expect(atKill.sent).toBeGreaterThan(0);
    expect(atKill.sent).toBeLessThan(expected.size);

    const second = await startWorkerProcess(server);
    try {
      const deadline = Date.now() + 120_000;
      while ((await server.outbox.pendingCount()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      second.kill('SIGTERM');
    }
    const counts = await server.outbox.counts({});
    expect(counts.pending + counts.sending + counts.failed).toBe(0);
    const book = await server.devPlatform!.gradebook(contextId);
    const items = book.lineItems.filter((l) => l.tag === 'coaching-competency');
    expect(items).toHaveLength(13);
    for (const [key, timestamp] of expected) {
      const [sub, competency] = key.split('|');
      expect(items.find((i) => i.resourceId === competency)!.results.find((r) => r.userId === sub)?.timestamp).toBe(timestamp);
    }
    // One version per user × line item was queued: the LMS must have accepted exactly that many scores.
    expect(items.reduce((n, i) => n + i.scoresReceived, 0)).toBe(expected.size);
  });
});
