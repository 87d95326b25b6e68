import { competencyIds, scoreCourse } from '../support/outbox-fixtures';
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(300_000);

describe('passback under faults', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(
      {},
      {
        tuning: {
          platformTimeoutMs: 400,
          worker: { baseBackoffMs: 20, maxBackoffMs: 300, idlePollMs: 20, concurrency: 8, perPlatformConcurrency: 4, leaseMs: 5_000 },
        },
      },
    );
  });
  afterAll(async () => {
    server.devPlatform?.faults.clear();
    await server.stop();
  });

  test('when 1,000+ scores meet 20 % 500s, 5 % 429s, 2 % resets and 1 % timeouts, then every latest score arrives, no older timestamp is ever sent, and one token per scope set suffices', async () => {
    const { contextId, learners, entry } = await scoreCourse(server, 'canvas');
    const course = (await server.connection.db!.collection('courses').findOne({ contextId }))!;

    server.devPlatform!.stats.reset();
    server.devPlatform!.faults.set({
      seed: 42,
      rate500: 0.2,
      rate429: 0.05,
      retryAfterSeconds: 0,
      rateReset: 0.02,
      rateTimeout: 0.01,
      timeoutDelayMs: 1_000,
      appliesTo: ['scores'],
    });

    const latest = new Map<string, { score: number; timestamp: string }>();
    let enqueued = 0;
    const base = Date.parse('2026-11-24T12:00:00.000Z');
    for (let round = 0; round < 4; round += 1) {
      for (const [li, learner] of learners.entries()) {
        for (const [ci, competency] of competencyIds.entries()) {
          const computedAt = new Date(base + round * 60_000 + li * 13 + ci);
          const score = Math.round(((round * 17 + li * 7 + ci * 3) % 100) * 100 + 25) / 100;
          const input = entry(li, competency, score, computedAt, `round ${round}`);
          await server.outbox.enqueue(input, new Date());
          latest.set(`${learner.userId}|${competency}`, { score, timestamp: computedAt.toISOString() });
          enqueued += 1;
        }
      }
      server.worker.nudge();
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(enqueued).toBeGreaterThanOrEqual(1000);

    const until = Date.now() + 240_000;
    while ((await server.outbox.pendingCount()) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    const counts = await server.outbox.counts({});
    expect(counts).toMatchObject({ pending: 0, sending: 0, failed: 0, skipped: 0 });

    const book = await server.devPlatform!.gradebook(contextId);
    for (const [key, expected] of latest) {
      const [sub, competency] = key.split('|');
      const item = book.lineItems.find((l) => l.tag === 'coaching-competency' && l.resourceId === competency)!;
      const result = item.results.find((r) => r.userId === sub);
      expect({ key, score: result?.scoreGiven, timestamp: result?.timestamp }).toEqual({
        key,
        score: expected.score,
        timestamp: expected.timestamp,
      });
    }

    const entries = await server.outbox.list({ courseId: course._id.toHexString(), limit: 10_000 });
    const attempts = entries.flatMap((e) => e.attempts);
    // A timed-out try may still have been stored by the LMS; its repeat then gets 409 and must be confirmed
    // (the LMS holds exactly our score), never reported as superseded. No entry may end superseded.
    expect(attempts.filter((a) => a.httpStatus === 409 && a.outcome !== 'sent')).toEqual([]);
    expect(counts.superseded).toBe(0);
    const statuses = new Set(attempts.map((a) => a.httpStatus));
    expect(statuses.has(500)).toBe(true);
    expect(statuses.has(429)).toBe(true);
    expect(attempts.some((a) => typeof a.httpStatus !== 'number')).toBe(true); // resets and timeouts

    const tokens = server.devPlatform!.stats.tokenRequests();
    for (const count of Object.values(tokens)) expect(count).toBeLessThanOrEqual(1);
  });
});
