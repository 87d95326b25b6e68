import { spawn, type ChildProcess } from 'node:child_process';
import { devPlatformDirectory } from '../../src/devplatform';
import type { EnqueueInput } from '../../src/grading/outbox';
import { fromRoot } from '../../src/shared/paths';
import { Browser } from '../support/browser';
import { launch } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(240_000);

const competencies = ['C1.1', 'C1.2', 'C1.3', 'C1.4', 'C2.1', 'C2.2', 'C2.3', 'C2.4', 'C3.1', 'C3.2', 'C3.3', 'C4.1', 'C4.2'];

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
    const shape = 'moodle';
    const contextId = devPlatformDirectory().courses.find((c) => c.shape === shape)!.contextId;
    const learners = devPlatformDirectory().users.filter(
      (u) => u.shape === shape && u.enrollments.some((e) => e.contextId === contextId && e.role === 'learner' && e.status === 'Active'),
    );
    await launch(server, new Browser(), { shape, userId: learners[0]!.userId, contextId });
    const course = (await server.connection.db!.collection('courses').findOne({ contextId }))!;
    const registration = (await server.devPlatform!.registration(shape))!;
    // Slow the LMS down a little so the kill lands while requests are in flight.
    server.devPlatform!.faults.set({ seed: 7, rateTimeout: 0.05, timeoutDelayMs: 200, appliesTo: ['scores'] });

    const expected = new Map<string, string>();
    const computedAt = new Date('2026-11-24T15:00:00.000Z');
    for (const [li, learner] of learners.entries()) {
      for (const competency of competencies) {
        const input: EnqueueInput = {
          issuer: registration.issuer,
          clientId: registration.clientId,
          productFamily: 'moodle',
          courseId: course._id.toHexString(),
          contextId,
          courseTitle: String(course.title),
          userId: li.toString(16).padStart(24, '0'),
          userSub: learner.userId,
          userName: learner.name,
          target: { kind: 'competency', id: competency, lineItemUrl: undefined },
          score: {
            scoreGiven: 50 + li,
            activityProgress: 'Completed',
            gradingProgress: 'FullyGraded',
            comment: 'crash test',
            timestamp: computedAt.toISOString(),
          },
          version: computedAt.getTime(),
          newSubmission: true,
        };
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
