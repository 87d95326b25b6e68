import { Types } from 'mongoose';
import { createCompetencyRepository } from '../../src/competencies/competency-repository';
import { createLaunchRecords } from '../../src/courses/launch-records';
import { createCourseGradingSettings } from '../../src/grading/course-settings';
import { createLineItemService } from '../../src/grading/line-items';
import { createPassbackWorker, type WorkerOptions } from '../../src/grading/passback-worker';
import { createPlatformThrottle, throttledClient } from '../../src/grading/platform-throttle';
import { createPlatformClient, scopes } from '../../src/lti/platform-client';
import { competencyIds, scoreCourse, type ScoreCourse } from '../support/outbox-fixtures';
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(400_000);

interface Sent {
  method: string;
  url: string;
  startedAt: number;
  endedAt: number;
  status: number;
}

/** A worker of its own (own platform client, token cache and throttle) that records every LMS request it makes. */
function recordingWorker(server: TestServer, options: { rate?: number; worker?: Partial<WorkerOptions> } = {}) {
  const sent: Sent[] = [];
  const recording: typeof fetch = async (input, init) => {
    const startedAt = Date.now();
    const res = await fetch(input, init);
    sent.push({ method: init?.method ?? 'GET', url: String(input), startedAt, endedAt: Date.now(), status: res.status });
    return res;
  };
  const throttle = createPlatformThrottle({ ratePerSecond: options.rate ?? 0 });
  const client = throttledClient(createPlatformClient({ provider: server.lti, logger: server.logger, fetch: recording }), throttle);
  const worker = createPassbackWorker({
    outbox: server.outbox,
    client,
    throttle,
    lineItems: createLineItemService({ connection: server.connection, client }),
    records: createLaunchRecords(server.connection),
    framework: () => createCompetencyRepository(server.connection).loadFramework(),
    settings: createCourseGradingSettings(server.connection),
    logger: server.logger,
    options: { baseBackoffMs: 20, maxBackoffMs: 200, idlePollMs: 20, ...options.worker },
  });
  return { worker, sent, scoreRequests: () => sent.filter((s) => s.method === 'POST' && s.url.endsWith('/scores')) };
}

async function drained(server: TestServer, timeoutMs = 180_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await server.outbox.pendingCount()) > 0) {
    if (Date.now() > until) {
      const errors = server.logs.lines.filter((l) => Number(l.level) >= 50).slice(-5);
      throw new Error(`outbox not drained: ${JSON.stringify(await server.outbox.counts({}))} ${JSON.stringify(errors)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every learner × competency of the course, one newer score each (versions and timestamps from the clock). */
async function enqueueAll(server: TestServer, course: ScoreCourse, learners: number, label: string): Promise<Map<string, number>> {
  const latest = new Map<string, number>();
  const base = Date.now();
  for (let li = 0; li < learners; li += 1)
    for (const [ci, competency] of competencyIds.entries()) {
      const score = (li * 13 + ci * 7 + base) % 100;
      await server.outbox.enqueue(course.entry(li, competency, score, new Date(base + li * 13 + ci), label), new Date());
      latest.set(`${course.learners[li]!.userId}|${competency}`, score);
    }
  return latest;
}

async function expectInGradebook(server: TestServer, course: ScoreCourse, latest: Map<string, number>): Promise<void> {
  const book = await server.devPlatform!.gradebook(course.contextId);
  for (const [key, score] of latest) {
    const [sub, competency] = key.split('|');
    const item = book.lineItems.find((l) => l.tag === 'coaching-competency' && l.resourceId === competency)!;
    expect({ key, score: item.results.find((r) => r.userId === sub)?.scoreGiven }).toEqual({ key, score });
  }
}

describe('passback throughput limits and guarantees', () => {
  let server: TestServer;
  let canvas: ScoreCourse;
  let moodle: ScoreCourse;
  beforeAll(async () => {
    server = await startTestServer({}, { tuning: { startWorker: false } });
    canvas = await scoreCourse(server, 'canvas');
    moodle = await scoreCourse(server, 'moodle');
  });
  afterAll(async () => {
    server.devPlatform?.faults.clear();
    await server.stop();
  });

  test('when four claimers take batches of the same outbox at once, then no entry is handed to two of them', async () => {
    await enqueueAll(server, canvas, Math.min(20, canvas.learners.length), 'claim race');
    const owners = ['w1', 'w2', 'w3', 'w4'];
    const won = new Map<string, string[]>();
    try {
      await Promise.all(
        owners.map(async (owner) => {
          for (;;) {
            const batch = await server.outbox.claimBatch(owner, new Date(), 60_000, 25);
            if (batch.length === 0) return;
            for (const e of batch) won.set(e.id, [...(won.get(e.id) ?? []), owner]);
          }
        }),
      );
      const counts = await server.outbox.counts({});
      expect(counts.pending).toBe(0);
      expect(won.size).toBe(counts.sending);
      expect([...won.values()].filter((o) => o.length > 1)).toEqual([]);
    } finally {
      // Hand them back so the next tests start from pending entries.
      for (const owner of owners)
        await server.outbox.release(
          [...won].filter(([, o]) => o.includes(owner)).map(([id]) => id),
          owner,
          new Date(),
          new Date(),
        );
    }
    expect((await server.outbox.counts({})).sending).toBe(0);
  });

  test('when a newer score arrives while a worker that then dies was sending the older one, then nobody takes the entry until the lease expires, and then the newer score is claimed', async () => {
    // Only this course's platform: other tests' entries of the Canvas course stay out of it.
    const canvasPlatform = {
      issuer: canvas.entry(0, 'C1.1', 0, new Date()).issuer,
      clientId: canvas.entry(0, 'C1.1', 0, new Date()).clientId,
    };
    const claim = (owner: string, at: Date, limit: number) => server.outbox.claimBatch(owner, at, 60_000, limit, [canvasPlatform]);
    const at = Date.now();
    await server.outbox.enqueue(moodle.entry(0, 'C1.1', 40, new Date(at), 'lease'), new Date());
    const [older] = await claim('dead-worker', new Date(), 1);
    expect(older?.score.scoreGiven).toBe(40);
    try {
      // The newer score is queued while the older one may still be in flight: pending, still leased.
      await server.outbox.enqueue(moodle.entry(0, 'C1.1', 55, new Date(at + 1000), 'lease'), new Date());
      expect(await claim('other-worker', new Date(), 10)).toEqual([]);
      await server.outbox.releaseExpiredLeases(new Date());
      expect(await claim('other-worker', new Date(), 10)).toEqual([]);
      // The dead worker never renews: past its lease, the sweep frees the entry and the newer score is taken.
      const later = new Date(Date.now() + 61_000);
      await server.outbox.releaseExpiredLeases(later);
      const [newer] = await claim('other-worker', later, 10);
      expect({
        id: newer?.id,
        score: newer?.score.scoreGiven,
        newerVersion: newer !== undefined && newer.version > older!.version,
      }).toEqual({
        id: older!.id,
        score: 55,
        newerVersion: true,
      });
    } finally {
      // Later tests count every score sent to Moodle: this entry is not theirs.
      await server.connection.db!.collection('passback_outbox').deleteOne({ _id: new Types.ObjectId(older!.id) });
    }
  });

  test('when two workers claim in batches from one outbox, then every score arrives and no entry is sent twice', async () => {
    const latest = await enqueueAll(server, canvas, Math.min(20, canvas.learners.length), 'two workers');
    const a = recordingWorker(server, { worker: { batchSize: 10, concurrency: 8, perPlatformConcurrency: 4 } });
    const b = recordingWorker(server, { worker: { batchSize: 10, concurrency: 8, perPlatformConcurrency: 4 } });
    a.worker.start();
    b.worker.start();
    try {
      await drained(server);
    } finally {
      await Promise.all([a.worker.stop(), b.worker.stop()]);
    }
    const posts = [...a.scoreRequests(), ...b.scoreRequests()];
    expect(a.scoreRequests().length).toBeGreaterThan(0);
    expect(b.scoreRequests().length).toBeGreaterThan(0);
    expect(posts.every((p) => p.status >= 200 && p.status < 300)).toBe(true);
    // One POST per learner × column: each entry was sent exactly once.
    expect(posts).toHaveLength(latest.size);
    await expectInGradebook(server, canvas, latest);
  });

  test('when the LMS answers 429 with Retry-After 2, then nothing more is sent to it for 2 s and every score still arrives', async () => {
    const { worker, scoreRequests } = recordingWorker(server, { worker: { batchSize: 20, concurrency: 8, perPlatformConcurrency: 4 } });
    // Columns first, so the pause is about scores only.
    const warm = await enqueueAll(server, moodle, 1, 'warm');
    worker.start();
    try {
      await drained(server);
      await expectInGradebook(server, moodle, warm);
      server.devPlatform!.faults.set({ seed: 7, rate429: 1, retryAfterSeconds: 2, appliesTo: ['scores'] });
      const latest = await enqueueAll(server, moodle, 3, 'retry-after');
      worker.nudge();
      const until = Date.now() + 30_000;
      while (!scoreRequests().some((s) => s.status === 429) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      const first429 = scoreRequests().find((s) => s.status === 429)!;
      expect(first429).toBeDefined();
      await new Promise((r) => setTimeout(r, 500));
      server.devPlatform!.faults.clear();
      await drained(server);
      await expectInGradebook(server, moodle, latest);
      const duringPause = scoreRequests().filter((s) => s.startedAt > first429.endedAt + 20 && s.startedAt < first429.endedAt + 2_000 - 20);
      expect(duringPause).toEqual([]);
      expect(scoreRequests().some((s) => s.startedAt >= first429.endedAt + 1_950 && s.status >= 200 && s.status < 300)).toBe(true);
    } finally {
      server.devPlatform!.faults.clear();
      await worker.stop();
    }
  });

  test('when the platform rate is 20 requests per second, then no one-second window holds more than 22 requests, and one token per scope set serves every score', async () => {
    server.devPlatform!.stats.reset();
    const { worker, sent, scoreRequests } = recordingWorker(server, { rate: 20, worker: { concurrency: 16, perPlatformConcurrency: 16 } });
    const learners = Math.min(6, canvas.learners.length);
    const latest = await enqueueAll(server, canvas, learners, 'rate');
    const started = Date.now();
    worker.start();
    try {
      await drained(server);
    } finally {
      await worker.stop();
    }
    const services = sent.filter((s) => !s.url.includes('/token')).map((s) => s.startedAt);
    let most = 0;
    for (const [i, t] of services.entries()) most = Math.max(most, services.slice(i).filter((u) => u - t < 1000).length);
    expect(most).toBeLessThanOrEqual(22);
    expect(scoreRequests()).toHaveLength(latest.size);
    expect(Date.now() - started).toBeGreaterThanOrEqual(((latest.size - 2) / 20) * 1000);
    await expectInGradebook(server, canvas, latest);
    const tokens = server.devPlatform!.stats.tokenRequests();
    expect(tokens[scopes.score]).toBe(1);
    for (const count of Object.values(tokens)) expect(count).toBe(1);
  });

  test('when the LMS deleted a competency column the worker knows, then the column is created again once and the score lands in it', async () => {
    const { worker, sent } = recordingWorker(server);
    worker.start();
    try {
      const first = await enqueueAll(server, canvas, 1, 'before delete');
      await drained(server);
      await expectInGradebook(server, canvas, first);
      const book = await server.devPlatform!.gradebook(canvas.contextId);
      const gone = book.lineItems.find((l) => l.tag === 'coaching-competency' && l.resourceId === 'C1.1')!;
      const registration = (await server.devPlatform!.registration('canvas'))!;
      const admin = createPlatformClient({ provider: server.lti, logger: server.logger });
      const deleted = await admin.request(registration, [scopes.lineItem], gone.url, { method: 'DELETE' });
      expect(deleted.status).toBe(204);

      const creationsBefore = sent.filter((s) => s.method === 'POST' && s.url.endsWith('/lineitems')).length;
      const latest = await enqueueAll(server, canvas, 2, 'after delete');
      worker.nudge();
      await drained(server);
      await expectInGradebook(server, canvas, latest);
      const after = await server.devPlatform!.gradebook(canvas.contextId);
      const columns = after.lineItems.filter((l) => l.tag === 'coaching-competency');
      expect(columns).toHaveLength(13);
      const recreated = columns.find((l) => l.resourceId === 'C1.1')!;
      expect(recreated.url).not.toBe(gone.url);
      expect(sent.filter((s) => s.method === 'POST' && s.url.endsWith('/lineitems')).length - creationsBefore).toBe(1);
      const course = (await server.connection.db!.collection('courses').findOne({ contextId: canvas.contextId }))!;
      const stored = await server.connection
        .db!.collection('course_line_items')
        .find({ courseId: course._id.toHexString(), competencyId: 'C1.1' })
        .toArray();
      expect(stored.map((d) => d.lineItemUrl)).toEqual([recreated.url]);
      const entries = await server.outbox.list({ courseId: course._id.toHexString(), target: 'C1.1', limit: 100 });
      expect(entries.every((e) => e.status === 'sent')).toBe(true);
    } finally {
      await worker.stop();
    }
  });
});
