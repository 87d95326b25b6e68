import request from 'supertest';
import { accessToken, allScopes, seedIds, startHarness, userAgent, type Harness } from './support';

const [lineItemScope, lineItemReadonlyScope, resultScope, scoreScope] = allScopes as [string, string, string, string];
const lineItemType = 'application/vnd.ims.lis.v2.lineitem+json';
const scoreType = 'application/vnd.ims.lis.v1.score+json';

describe('dev platform: assignment and grade services', () => {
  let h: Harness;
  let token: string;
  const ids = seedIds('canvas');
  const lineItemsPath = `/dev/platform/canvas/contexts/${ids.course}/lineitems`;

  beforeEach(async () => {
    h = await startHarness();
    token = await accessToken(h, 'canvas', [lineItemScope, resultScope, scoreScope]);
  });
  afterEach(async () => {
    await h.close();
  });

  async function createItem(body: Record<string, unknown>, bearer = token): Promise<{ id: string } & Record<string, unknown>> {
    const res = await request(h.url)
      .post(lineItemsPath)
      .set('Authorization', `Bearer ${bearer}`)
      .set('Content-Type', lineItemType)
      .send(JSON.stringify(body))
      .expect(201);
    return res.body as { id: string } & Record<string, unknown>;
  }

  function postScore(itemUrl: string, body: Record<string, unknown>): request.Test {
    return request(h.url)
      .post(`${new URL(itemUrl).pathname}/scores`)
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', scoreType)
      .send(JSON.stringify(body));
  }

  test('when a line item is created, then it is returned with its URL id, a Location header and the line item media type', async () => {
    const res = await request(h.url)
      .post(lineItemsPath)
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', lineItemType)
      .send(
        JSON.stringify({
          label: 'M01 The coaching agreement',
          scoreMaximum: 100,
          resourceLinkId: 'rl-1',
          tag: 'module',
          resourceId: 'M01',
        }),
      )
      .expect(201)
      .expect('Content-Type', /^application\/vnd\.ims\.lis\.v2\.lineitem\+json/);
    const item = res.body as { id: string };
    expect(item).toEqual({
      id: expect.stringMatching(new RegExp(`^${h.platformUrl}/canvas/contexts/${ids.course}/lineitems/\\d+$`)) as unknown,
      label: 'M01 The coaching agreement',
      scoreMaximum: 100,
      resourceLinkId: 'rl-1',
      tag: 'module',
      resourceId: 'M01',
    });
    expect(res.headers.location).toBe(item.id);
    const fetched = await request(h.url).get(new URL(item.id).pathname).set('Authorization', `Bearer ${token}`).expect(200);
    expect(fetched.body).toEqual(item);
  });

  test('when a line item body misses label or scoreMaximum or has the wrong media type, then it is refused', async () => {
    const post = (body: unknown, type = lineItemType) =>
      request(h.url).post(lineItemsPath).set('Authorization', `Bearer ${token}`).set('Content-Type', type).send(JSON.stringify(body));
    const noLabel = await post({ scoreMaximum: 10 }).expect(400);
    expect((noLabel.body as { error: { message: string } }).error.message).toContain('label');
    await post({ label: 'x', scoreMaximum: 0 }).expect(400);
    await post({ label: 'x' }).expect(400);
    await post({ label: 'x', scoreMaximum: 10 }, 'application/json').expect(415);
  });

  test('when line items are listed, then resource_link_id, resource_id and tag filter them and limit pages them with a Link next header', async () => {
    for (let i = 1; i <= 5; i += 1) {
      await createItem({
        label: `Item ${i}`,
        scoreMaximum: 10,
        resourceLinkId: i <= 3 ? 'rl-a' : 'rl-b',
        tag: i % 2 ? 'odd' : 'even',
        resourceId: `R${i}`,
      });
    }
    const list = (query: Record<string, string>) =>
      request(h.url)
        .get(lineItemsPath)
        .query(query)
        .set('Authorization', `Bearer ${token}`)
        .set('Accept', 'application/vnd.ims.lis.v2.lineitemcontainer+json')
        .expect(200)
        .expect('Content-Type', /^application\/vnd\.ims\.lis\.v2\.lineitemcontainer\+json/);
    const labels = (res: request.Response) => (res.body as { label: string }[]).map((i) => i.label);

    expect(labels(await list({ resource_link_id: 'rl-a' }))).toEqual(['Item 1', 'Item 2', 'Item 3']);
    expect(labels(await list({ tag: 'even' }))).toEqual(['Item 2', 'Item 4']);
    expect(labels(await list({ resource_id: 'R5' }))).toEqual(['Item 5']);

    const first = await list({ limit: '2', resource_link_id: 'rl-a' });
    expect(labels(first)).toEqual(['Item 1', 'Item 2']);
    const next = /<([^>]+)>; rel="next"/.exec(String(first.headers.link))?.[1];
    expect(next).toBeDefined();
    const second = await request(h.url)
      .get(new URL(next ?? '').pathname + new URL(next ?? '').search)
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    expect(labels(second)).toEqual(['Item 3']);
    expect(second.headers.link).toBeUndefined();
  });

  test('when a line item is updated and deleted, then PUT replaces its fields and DELETE removes it', async () => {
    const item = await createItem({ label: 'Old', scoreMaximum: 10, resourceLinkId: 'rl-keep' });
    const path = new URL(item.id).pathname;
    const put = await request(h.url)
      .put(path)
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', lineItemType)
      .send(JSON.stringify({ id: item.id, label: 'New', scoreMaximum: 20, resourceLinkId: 'rl-other' }))
      .expect(200);
    expect(put.body).toEqual({ id: item.id, label: 'New', scoreMaximum: 20, resourceLinkId: 'rl-keep' });
    await request(h.url).delete(path).set('Authorization', `Bearer ${token}`).expect(204);
    await request(h.url).get(path).set('Authorization', `Bearer ${token}`).expect(404);
  });

  test('when the token is missing, unknown or lacks the scope, then AGS answers 401 or 403', async () => {
    await request(h.url).get(lineItemsPath).expect(401);
    // Authentication comes before the body is even parsed.
    await request(h.url).post(lineItemsPath).set('Content-Type', lineItemType).send('{not json').expect(401);
    const malformed = await request(h.url)
      .post(lineItemsPath)
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', lineItemType)
      .send('{not json');
    expect(malformed.status).toBe(400);
    const unknown = await request(h.url).get(lineItemsPath).set('Authorization', 'Bearer nope').expect(401);
    expect(unknown.headers['www-authenticate']).toContain('invalid_token');
    const readonly = await accessToken(h, 'canvas', [lineItemReadonlyScope]);
    await request(h.url).get(lineItemsPath).set('Authorization', `Bearer ${readonly}`).expect(200);
    const forbidden = await request(h.url)
      .post(lineItemsPath)
      .set('Authorization', `Bearer ${readonly}`)
      .set('Content-Type', lineItemType)
      .send(JSON.stringify({ label: 'x', scoreMaximum: 1 }))
      .expect(403);
    expect((forbidden.body as { error: { code: string } }).error.code).toBe('insufficient_scope');
    // A canvas token means nothing to the moodle platform.
    await request(h.url)
      .get(`/dev/platform/moodle/contexts/${seedIds('moodle').course}/lineitems`)
      .set('Authorization', `Bearer ${token}`)
      .expect(401);
  });

  test('when a score has a timestamp that is not newer than the stored one, then it is refused with 409', async () => {
    const item = await createItem({ label: 'Scored', scoreMaximum: 100 });
    const score = (timestamp: string, scoreGiven: number) => ({
      userId: ids.learner,
      timestamp,
      scoreGiven,
      scoreMaximum: 100,
      activityProgress: 'Completed',
      gradingProgress: 'FullyGraded',
    });
    const first = await postScore(item.id, score('2026-03-01T10:00:00.000100Z', 70)).expect(200);
    expect((first.body as { resultUrl: string }).resultUrl).toContain(`${item.id}/results`);
    await postScore(item.id, score('2026-03-01T10:00:00.000100Z', 75)).expect(409);
    await postScore(item.id, score('2026-03-01T09:00:00Z', 75)).expect(409);
    // Same instant written with an offset is still not newer.
    await postScore(item.id, score('2026-03-01T12:00:00.000100+02:00', 75)).expect(409);
    // One microsecond later is newer: sub-millisecond precision is kept.
    await postScore(item.id, score('2026-03-01T10:00:00.000101Z', 80)).expect(200);
    const gradebook = await h.platform.gradebook(ids.course);
    const line = gradebook.lineItems.find((l) => l.url === item.id);
    expect(line?.scoresReceived).toBe(2);
    expect(line?.results).toEqual([expect.objectContaining({ userId: ids.learner, scoreGiven: 80, scoreMaximum: 100 })]);
  });

  test('when a score is for someone who is not a learner in the context, then it is refused with 422', async () => {
    const item = await createItem({ label: 'Only learners', scoreMaximum: 10 });
    const body = (userId: string) => ({
      userId,
      timestamp: new Date().toISOString(),
      activityProgress: 'Completed',
      gradingProgress: 'FullyGraded',
    });
    await postScore(item.id, body(ids.instructor)).expect(422);
    await postScore(item.id, body(ids.ta)).expect(422);
    await postScore(item.id, body(ids.admin)).expect(422);
    await postScore(item.id, body('no-such-user')).expect(422);
    await postScore(item.id, body(ids.learner)).expect(200);
  });

  test('when a score breaks the score schema or media type, then it is refused with 400 or 415', async () => {
    const item = await createItem({ label: 'Strict', scoreMaximum: 10 });
    const valid = {
      userId: ids.learner,
      timestamp: new Date().toISOString(),
      activityProgress: 'Completed',
      gradingProgress: 'FullyGraded',
    };
    const noMax = await postScore(item.id, { ...valid, scoreGiven: 5 }).expect(400);
    expect((noMax.body as { error: { message: string } }).error.message).toContain('scoreMaximum');
    await postScore(item.id, { ...valid, activityProgress: 'Done' }).expect(400);
    await postScore(item.id, { ...valid, timestamp: 'yesterday' }).expect(400);
    await request(h.url)
      .post(`${new URL(item.id).pathname}/scores`)
      .set('Authorization', `Bearer ${token}`)
      .set('User-Agent', userAgent)
      .send(valid)
      .expect(415);
  });

  test('when results are read, then they come as a result container on the line item scale, latest score per user', async () => {
    const item = await createItem({ label: 'Results', scoreMaximum: 50 });
    const send = (userId: string, timestamp: string, scoreGiven?: number) =>
      postScore(item.id, {
        userId,
        timestamp,
        ...(scoreGiven !== undefined ? { scoreGiven, scoreMaximum: 10 } : {}),
        comment: scoreGiven !== undefined ? 'well done' : undefined,
        activityProgress: 'Completed',
        gradingProgress: scoreGiven !== undefined ? 'FullyGraded' : 'Pending',
      }).expect(200);
    await send(ids.learner, '2026-03-01T10:00:00Z', 4);
    await send(ids.learner, '2026-03-01T11:00:00Z', 8);
    await send(ids.learner2, '2026-03-01T10:00:00Z');
    const res = await request(h.url)
      .get(`${new URL(item.id).pathname}/results`)
      .set('Authorization', `Bearer ${token}`)
      .set('Accept', 'application/vnd.ims.lis.v2.resultcontainer+json')
      .expect(200)
      .expect('Content-Type', /^application\/vnd\.ims\.lis\.v2\.resultcontainer\+json/);
    const results = res.body as { userId: string; resultScore?: number; resultMaximum?: number; scoreOf: string; comment?: string }[];
    const mine = results.find((r) => r.userId === ids.learner);
    expect(mine).toMatchObject({ scoreOf: item.id, resultScore: 40, resultMaximum: 50, comment: 'well done' });
    expect(results.find((r) => r.userId === ids.learner2)).not.toHaveProperty('resultScore');
    const filtered = await request(h.url)
      .get(`${new URL(item.id).pathname}/results`)
      .query({ user_id: ids.learner2 })
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    expect((filtered.body as unknown[]).length).toBe(1);
    const noScope = await accessToken(h, 'canvas', [scoreScope]);
    await request(h.url)
      .get(`${new URL(item.id).pathname}/results`)
      .set('Authorization', `Bearer ${noScope}`)
      .expect(403);
  });

  test('when the moodle platform accepts a score, then it answers 204 with no body', async () => {
    const moodle = seedIds('moodle');
    const moodleToken = await accessToken(h, 'moodle', [lineItemScope, scoreScope]);
    const created = await request(h.url)
      .post(`/dev/platform/moodle/contexts/${moodle.course}/lineitems`)
      .set('Authorization', `Bearer ${moodleToken}`)
      .set('Content-Type', lineItemType)
      .send(JSON.stringify({ label: 'Moodle item', scoreMaximum: 10 }))
      .expect(201);
    await request(h.url)
      .post(`${new URL((created.body as { id: string }).id).pathname}/scores`)
      .set('Authorization', `Bearer ${moodleToken}`)
      .set('Content-Type', scoreType)
      .send(
        JSON.stringify({
          userId: moodle.learner,
          timestamp: new Date().toISOString(),
          activityProgress: 'Completed',
          gradingProgress: 'FullyGraded',
        }),
      )
      .expect(204);
  });

  test('when the context is unknown or belongs to the other shape, then AGS answers 404', async () => {
    await request(h.url).get('/dev/platform/canvas/contexts/unknown/lineitems').set('Authorization', `Bearer ${token}`).expect(404);
    await request(h.url)
      .get(`/dev/platform/canvas/contexts/${seedIds('moodle').course}/lineitems`)
      .set('Authorization', `Bearer ${token}`)
      .expect(404);
  });
});
