import request from 'supertest';
import { accessToken, allScopes, clientAssertion, seedIds, startHarness, tokenForm, userAgent, type Harness } from './support';

const scoreScope = allScopes[3] ?? '';

describe('dev platform: fault injection', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    h.platform.faults.clear();
    await h.close();
  });

  /** Status of each of n token requests (400 = reached the real endpoint: no assertion sent). */
  async function tokenStatuses(n: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < n; i += 1) {
      const res = await request(h.url)
        .post('/dev/platform/canvas/token')
        .set('User-Agent', userAgent)
        .type('form')
        .send({ scope: scoreScope });
      statuses.push(res.status);
    }
    return statuses;
  }

  test('when the same plan is set twice, then the same request sequence meets the same faults', async () => {
    const plan = { seed: 42, rate500: 0.25, rate429: 0.25, retryAfterSeconds: 7, appliesTo: ['token' as const] };
    h.platform.faults.set(plan);
    const first = await tokenStatuses(40);
    h.platform.faults.set(plan);
    const second = await tokenStatuses(40);
    expect(second).toEqual(first);
    expect(first).toEqual(expect.arrayContaining([500, 429, 400]));
    h.platform.faults.set({ ...plan, seed: 43 });
    expect(await tokenStatuses(40)).not.toEqual(first);
    h.platform.faults.clear();
    expect(new Set(await tokenStatuses(5))).toEqual(new Set([400]));
  });

  test('when a 429 is injected, then it carries Retry-After; when a reset is injected, then the socket is destroyed', async () => {
    h.platform.faults.set({ seed: 1, rate429: 1, retryAfterSeconds: 7 });
    const limited = await request(h.url).post('/dev/platform/canvas/token').set('User-Agent', userAgent).type('form').send({}).expect(429);
    expect(limited.headers['retry-after']).toBe('7');
    h.platform.faults.set({ seed: 1, rateReset: 1 });
    await expect(request(h.url).post('/dev/platform/canvas/token').set('User-Agent', userAgent).type('form').send({})).rejects.toThrow(
      /socket hang up|ECONNRESET/,
    );
  });

  test('when a timeout is injected, then the request gets no answer until the client gives up', async () => {
    h.platform.faults.set({ seed: 1, rateTimeout: 1, timeoutDelayMs: 5_000 });
    const started = Date.now();
    await expect(
      request(h.url).post('/dev/platform/canvas/token').set('User-Agent', userAgent).type('form').send({}).timeout(300),
    ).rejects.toThrow(/Timeout/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  test('when the plan applies to scores only, then tokens and line items work and scores fail', async () => {
    const ids = seedIds('canvas');
    const token = await accessToken(h, 'canvas', [allScopes[0] ?? '', scoreScope]);
    const created = await request(h.url)
      .post(`/dev/platform/canvas/contexts/${ids.course}/lineitems`)
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/vnd.ims.lis.v2.lineitem+json')
      .send(JSON.stringify({ label: 'Faulty', scoreMaximum: 1 }))
      .expect(201);
    h.platform.faults.set({ seed: 9, rate500: 1, appliesTo: ['scores'] });
    await request(h.url)
      .post('/dev/platform/canvas/token')
      .set('User-Agent', userAgent)
      .type('form')
      .send(tokenForm(await clientAssertion(h, 'canvas'), [scoreScope]))
      .expect(200);
    await request(h.url).get(`/dev/platform/canvas/contexts/${ids.course}/lineitems`).set('Authorization', `Bearer ${token}`).expect(200);
    await request(h.url)
      .post(`${new URL((created.body as { id: string }).id).pathname}/scores`)
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/vnd.ims.lis.v1.score+json')
      .send(
        JSON.stringify({
          userId: ids.learner,
          timestamp: new Date().toISOString(),
          activityProgress: 'Completed',
          gradingProgress: 'FullyGraded',
        }),
      )
      .expect(500);
  });

  test('when a plan is invalid, then set refuses it', () => {
    expect(() => h.platform.faults.set({ seed: 1, rate500: 0.8, rate429: 0.5 })).toThrow(/more than 1/);
    expect(() => h.platform.faults.set({ seed: 1, rate500: 2 })).toThrow(/invalid fault plan/);
  });
});
