import { globalScope } from '../../src/admin/admin-scope';
import { Types } from 'mongoose';
import { createLineItemService } from '../../src/grading/line-items';
import { createRosterService } from '../../src/lti/nrps';
import { scopes } from '../../src/lti/platform-client';
import { Browser, parseForms } from '../support/browser';
import { finishModule } from '../support/coach';
import { launch, launchInput, seedIds } from '../support/lti-launch';
import { competencyIds, scoreCourse } from '../support/outbox-fixtures';
import { startTestServer, type TestServer } from '../support/test-server';
import { devPlatformDirectory, type Shape } from '../../src/devplatform';

jest.setTimeout(240_000);

async function drained(server: TestServer, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await server.outbox.pendingCount()) > 0) {
    if (Date.now() > until) throw new Error(`outbox not drained: ${JSON.stringify(await server.outbox.counts({}))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Faculty add a module through deep linking; returns the platform's link (with its line item). */
async function deepLink(server: TestServer, shape: Shape, courseIndex: number, moduleId: string) {
  const faculty = new Browser();
  const page = await launch(server, faculty, launchInput(shape, 'faculty', { messageType: 'LtiDeepLinkingRequest' }, courseIndex));
  const form = parseForms(page.text, page.url)[0]!;
  await faculty.submitForm(await faculty.post(form.action, { ...form.fields, action: 'add', modules: moduleId }));
  const contextId = seedIds(shape, 'faculty', courseIndex).contextId;
  const link = (await server.devPlatform!.deepLinks(contextId)).find((l) => l.custom.module_id === moduleId)!;
  expect(link.lineItemIds).toHaveLength(1);
  return { contextId, link };
}

async function userBySub(server: TestServer, sub: string) {
  return (await server.connection.db!.collection('users').findOne({ sub }))!;
}

describe('passback integrity', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, { tuning: { worker: { baseBackoffMs: 20, maxBackoffMs: 200, idlePollMs: 30 } } });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when a coach finishes a linked module from "My training", then its module column gets the score, and once faculty rate every reflection it is FullyGraded', async () => {
    const { contextId, link } = await deepLink(server, 'canvas', 0, 'M04');
    // Someone opens the link once, so the tool knows the link and its line item.
    await launch(server, new Browser(), launchInput('canvas', 'faculty', { resourceLinkId: link.resourceLinkId }, 0));
    const coach = seedIds('canvas', 'coach', 0);
    const ids = await finishModule(server, 'canvas', coach.userId, contextId, 'M04'); // "My training": no resource link
    await drained(server);

    const moduleColumn = () => server.devPlatform!.gradebook(contextId).then((b) => b.lineItems.find((l) => l.id === link.lineItemIds[0])!);
    const before = (await moduleColumn()).results.find((r) => r.userId === coach.userId)!;
    expect(before.gradingProgress).toBe('PendingManual');
    expect(before.scoreGiven).toBeGreaterThan(0);

    const attempt = (await server.connection
      .db!.collection('attempts')
      .findOne({ userId: new Types.ObjectId(ids.userId), moduleId: 'M04' }))!;
    const faculty = await userBySub(server, seedIds('canvas', 'faculty', 0).userId);
    const reflections = (attempt.answers as { itemId: string; kind: string }[]).filter((a) => a.kind === 'reflection');
    expect(reflections.length).toBeGreaterThan(0);
    for (const r of reflections)
      await server.assessment.rateReflection(
        { userId: faculty._id.toHexString(), courseId: ids.courseId },
        attempt._id.toHexString(),
        r.itemId,
        'expert',
      );
    await drained(server);

    const after = (await moduleColumn()).results.find((r) => r.userId === coach.userId)!;
    expect(after.gradingProgress).toBe('FullyGraded');
    expect(after.scoreGiven).toBeGreaterThan(before.scoreGiven!);
    expect(Date.parse(after.timestamp)).toBeGreaterThan(Date.parse(before.timestamp));
    const book = await server.devPlatform!.gradebook(contextId);
    for (const item of book.lineItems.filter((l) => l.tag === 'coaching-competency')) {
      const result = item.results.find((r) => r.userId === coach.userId);
      if (result) expect(result.gradingProgress).toBe('FullyGraded');
    }
    expect(await server.connection.db!.collection('attempts').countDocuments({ scoresOwed: { $exists: true } })).toBe(0);
  });

  test('when the LMS pages line items, results and members by 10, then every page is read', async () => {
    const contextId = seedIds('canvas', 'coach', 0).contextId;
    server.devPlatform!.knobs.pageSize(10);
    try {
      const db = server.connection.db!;
      const course = (await db.collection('courses').findOne({ contextId }))!;
      const record = (await (
        await import('../../src/courses/launch-records')
      )
        .createLaunchRecords(server.connection)
        .findCourse(course._id.toHexString()))!;
      // Roster: 28 members, read in 3 pages.
      const enrolled = devPlatformDirectory().users.filter((u) => u.enrollments.some((e) => e.contextId === contextId)).length;
      expect(enrolled).toBeGreaterThan(20);
      const members = await createRosterService({ client: server.platformClient }).roster(record);
      expect(members).toHaveLength(enrolled);
      // Line items: forget what we know; the 13 existing columns are found again over two pages, none created twice.
      const countBefore = (await server.devPlatform!.gradebook(contextId)).lineItems.length;
      await db.collection('course_line_items').deleteMany({ courseId: record.id });
      const service = createLineItemService({ connection: server.connection, client: server.platformClient });
      const framework = await (
        await import('../../src/competencies/competency-repository')
      )
        .createCompetencyRepository(server.connection)
        .loadFramework();
      const map = await service.ensure(
        record,
        framework.domains.flatMap((d) => d.competencies.map((c) => ({ id: c.id, name: c.name }))),
      );
      expect(map.size).toBe(13);
      expect((await server.devPlatform!.gradebook(contextId)).lineItems).toHaveLength(countBefore);
      // Results: 12 learners with a score in one column, read by reconcile over two pages.
      const entryCourse = await scoreCourse(server, 'canvas');
      for (let li = 0; li < 12; li += 1)
        await server.outbox.enqueue(entryCourse.entry(li, 'C1.1', 40 + li, new Date(Date.now() - 1000)), new Date());
      server.worker.nudge();
      await drained(server);
      const rows = (await server.grading.reconcileCourse(globalScope, record.id)).filter((r) => r.competencyId === 'C1.1');
      const lmsResults = (await server.devPlatform!.gradebook(contextId)).lineItems.find((l) => l.resourceId === 'C1.1')!.results;
      expect(lmsResults.length).toBeGreaterThan(10);
      expect(rows.filter((r) => r.lms !== undefined)).toHaveLength(lmsResults.length);
      expect(rows.filter((r) => r.status === 'missing-in-lms')).toEqual([]);
    } finally {
      server.devPlatform!.knobs.pageSize(undefined);
    }
  });

  test('when faculty switch a column off before any send, then it is never created; on again, it is backfilled; off again, the LMS column is removed after confirmation', async () => {
    const facultyIds = seedIds('canvas', 'faculty', 1);
    const faculty = new Browser();
    const page = await launch(server, faculty, launchInput('canvas', 'faculty', {}, 1));
    const form = parseForms(page.text, page.url).find((f) => f.action.endsWith('/course/grading-settings'))!;
    await faculty.post(form.action, { ...form.fields, sync: form.choices.sync!.filter((c) => c !== 'C2.2') });

    const coach = seedIds('canvas', 'coach', 1);
    await finishModule(server, 'canvas', coach.userId, facultyIds.contextId, 'M04');
    await drained(server);
    const columns = async () =>
      (await server.devPlatform!.gradebook(facultyIds.contextId)).lineItems.filter((l) => l.tag === 'coaching-competency');
    expect((await columns()).map((c) => c.resourceId).sort()).toEqual(competencyIds.filter((c) => c !== 'C2.2').sort());

    // On again: the column is created and the coach's current score arrives; other columns are not re-sent.
    const sentBefore = (await columns()).reduce((n, c) => n + c.scoresReceived, 0);
    const again = await faculty.get(new URL('/course', page.url).toString());
    const form2 = parseForms(again.text, again.url).find((f) => f.action.endsWith('/course/grading-settings'))!;
    await faculty.post(form2.action, { ...form2.fields, sync: competencyIds });
    server.worker.nudge();
    await drained(server);
    const c22 = (await columns()).find((c) => c.resourceId === 'C2.2')!;
    const user = await userBySub(server, coach.userId);
    const snapshot = (await server.connection.db!.collection('competency_scores').findOne({ userId: user._id }))!;
    const mine = (snapshot.scores as { competencyId: string; score: number }[]).find((s) => s.competencyId === 'C2.2')!;
    expect(c22.results.find((r) => r.userId === coach.userId)?.scoreGiven).toBe(mine.score);
    expect((await columns()).reduce((n, c) => n + c.scoresReceived, 0)).toBe(sentBefore + 1);

    // Off again: a confirmation page first; nothing is deleted until it is confirmed; the removal is audited.
    const third = await faculty.get(new URL('/course', page.url).toString());
    const form3 = parseForms(third.text, third.url).find((f) => f.action.endsWith('/course/grading-settings'))!;
    const saved = await faculty.post(form3.action, { ...form3.fields, sync: competencyIds.filter((c) => c !== 'C2.4') });
    expect(saved.location).toMatch(/\/course\/columns\/remove\?ids=C2\.4(&launch=[A-Za-z0-9_-]+)?$/);
    const confirm = await faculty.follow(saved);
    expect(confirm.text).toContain('Remove these columns from the LMS gradebook?');
    expect((await columns()).some((c) => c.resourceId === 'C2.4')).toBe(true);
    const removeForm = parseForms(confirm.text, confirm.url).find((f) => f.action.endsWith('/course/columns/remove'))!;
    // Nothing ticked: the same page answers inline (400) and nothing is removed.
    const none = await faculty.post(removeForm.action, removeForm.fields);
    expect(none.status).toBe(400);
    expect(none.text).toMatch(
      /role="alert"[\s\S]*<a href="#remove-C2\.4">Choose at least one column to remove, or keep the columns\.<\/a>/,
    );
    expect(none.text).toMatch(/<fieldset aria-invalid="true" aria-describedby="remove-error">/);
    expect((await columns()).some((c) => c.resourceId === 'C2.4')).toBe(true);
    const done = await faculty.follow(await faculty.post(removeForm.action, { ...removeForm.fields, remove: 'C2.4' }));
    expect(done.text).toContain('Removed 1 column from the gradebook.');
    expect((await columns()).some((c) => c.resourceId === 'C2.4')).toBe(false);
    const audit = await server.connection.db!.collection('admin_audit_log').findOne({ action: 'passback.remove-columns' });
    // Faculty actions name the person and the course (issue 11).
    expect(audit?.detail).toBe(`${seedIds('canvas', 'faculty', 1).name} in ${seedIds('canvas', 'faculty', 1).courseTitle}: removed C2.4`);

    // A later score for C2.4 is neither queued nor creates the column again.
    const coach2 = seedIds('canvas', 'coach2', 1);
    await finishModule(server, 'canvas', coach2.userId, facultyIds.contextId, 'M04');
    await drained(server);
    expect((await columns()).some((c) => c.resourceId === 'C2.4')).toBe(false);
  });

  test('when the LMS grants only score, lineitem.readonly and result.readonly, then the module column is sent, competency entries fail with the reason, no lineitem token is asked for and nothing retries', async () => {
    const contextId = seedIds('moodle', 'coach', 0).contextId;
    const granted = [scopes.score, scopes.lineItemReadonly, scopes.resultReadonly];
    server.devPlatform!.knobs.grantScopes(contextId, granted);
    try {
      const { link } = await deepLink(server, 'moodle', 0, 'M02');
      server.devPlatform!.stats.reset();
      const coach = seedIds('moodle', 'coach', 0);
      await launch(server, new Browser(), launchInput('moodle', 'coach', { resourceLinkId: link.resourceLinkId }, 0));
      await finishModule(server, 'moodle', coach.userId, contextId, 'M02');
      await drained(server);
      await new Promise((r) => setTimeout(r, 500)); // a retry loop would show up here

      const book = await server.devPlatform!.gradebook(contextId);
      expect(book.lineItems.filter((l) => l.tag === 'coaching-competency')).toEqual([]);
      expect(book.lineItems.find((l) => l.id === link.lineItemIds[0])!.results.map((r) => r.userId)).toEqual([coach.userId]);
      const user = await userBySub(server, coach.userId);
      const entries = await server.outbox.list({ userId: user._id.toHexString() });
      const competency = entries.filter((e) => e.target.kind === 'competency');
      expect(competency.length).toBeGreaterThan(0);
      for (const e of competency) {
        expect(e.status).toBe('failed');
        expect(e.reason).toContain('the LMS did not grant column creation (lineitem scope)');
        expect(e.attemptCount).toBe(1);
      }
      expect(entries.find((e) => e.target.kind === 'module')?.status).toBe('sent');
      const tokenScopes = Object.keys(server.devPlatform!.stats.tokenRequests()).flatMap((k) => k.split(' '));
      expect(tokenScopes).not.toContain(scopes.lineItem);
      for (const s of tokenScopes) expect(granted).toContain(s);

      const faculty = await launch(server, new Browser(), launchInput('moodle', 'faculty', {}, 0));
      expect(faculty.text).toContain('LMS did not grant column creation');
    } finally {
      server.devPlatform!.knobs.grantScopes(contextId, undefined);
    }
  });

  test('when the LMS refuses a freshly fetched token with 403, then the entries fail at once as a configuration problem', async () => {
    const contextId = seedIds('moodle', 'coach', 1).contextId;
    const coach = seedIds('moodle', 'coach', 1);
    // The course's launches granted score, but the LMS now refuses it (an administrator changed the setting).
    await server.worker.stop();
    await finishModule(server, 'moodle', coach.userId, contextId, 'M03');
    server.devPlatform!.knobs.grantScopes(contextId, [scopes.lineItem, scopes.lineItemReadonly, scopes.resultReadonly]);
    server.worker.start();
    try {
      await drained(server);
      const user = await userBySub(server, coach.userId);
      const entries = (await server.outbox.list({ userId: user._id.toHexString() })).filter((e) => e.target.kind === 'competency');
      expect(entries.length).toBeGreaterThan(0);
      for (const e of entries) {
        expect(e.status).toBe('failed');
        expect(e.reason).toMatch(/^configuration: the LMS refused access \(HTTP 403\) with a new access token/);
        expect(e.attemptCount).toBe(1);
      }
    } finally {
      server.devPlatform!.knobs.grantScopes(contextId, undefined);
    }
  });
});

describe('passback ordering and recovery', () => {
  let server: TestServer;
  let clock = Date.now();
  beforeAll(async () => {
    server = await startTestServer(
      {},
      { tuning: { now: () => new Date(clock), worker: { baseBackoffMs: 20, maxBackoffMs: 200, idlePollMs: 30 } } },
    );
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when the clock goes back 1 hour between two recomputes, then the later one still wins and its AGS timestamp is newer', async () => {
    clock = Date.now();
    const coach = seedIds('canvas', 'coach', 0);
    const ids = await finishModule(server, 'canvas', coach.userId, coach.contextId, 'M01');
    await drained(server);
    const db = server.connection.db!;
    const first = (await db.collection('competency_scores').findOne({ userId: new Types.ObjectId(ids.userId) }))!;
    const book1 = await server.devPlatform!.gradebook(coach.contextId);

    clock -= 3_600_000;
    const attempt = (await db.collection('attempts').findOne({ userId: new Types.ObjectId(ids.userId), moduleId: 'M01' }))!;
    const reflection = (attempt.answers as { itemId: string; kind: string }[]).find((a) => a.kind === 'reflection')!;
    await launch(server, new Browser(), launchInput('canvas', 'faculty', {}, 0));
    const faculty = await userBySub(server, seedIds('canvas', 'faculty', 0).userId);
    await server.assessment.rateReflection(
      { userId: faculty._id.toHexString(), courseId: ids.courseId },
      attempt._id.toHexString(),
      reflection.itemId,
      'novice',
    );
    await drained(server);

    const second = (await db.collection('competency_scores').findOne({ userId: new Types.ObjectId(ids.userId) }))!;
    expect(second.version).toBeGreaterThan(first.version as number);
    expect((second.computedAt as Date).getTime()).toBeLessThan((first.computedAt as Date).getTime());
    const book2 = await server.devPlatform!.gradebook(coach.contextId);
    let changed = 0;
    for (const s of second.scores as { competencyId: string; score: number }[]) {
      const item = book2.lineItems.find((l) => l.resourceId === s.competencyId)!;
      const now = item.results.find((r) => r.userId === coach.userId)!;
      expect(now.scoreGiven).toBe(s.score);
      const before = book1.lineItems.find((l) => l.resourceId === s.competencyId)!.results.find((r) => r.userId === coach.userId)!;
      if (before.scoreGiven !== now.scoreGiven) {
        changed += 1;
        expect(Date.parse(now.timestamp)).toBeGreaterThan(Date.parse(before.timestamp));
      }
    }
    expect(changed).toBeGreaterThan(0);
  });

  test('when writing the outbox fails once after a completion, then the scores stay owed and the sweeper delivers them', async () => {
    const coach = seedIds('canvas', 'coach', 1);
    // The first outbox write fails, whichever way it is written (one entry, or a recomputation's columns at once).
    const outbox = server.outbox as Pick<typeof server.outbox, 'enqueue' | 'enqueueMany'>;
    const original = { enqueue: outbox.enqueue, enqueueMany: outbox.enqueueMany };
    let failures = 0;
    const failOnce = (): void => {
      if (failures === 0) {
        failures += 1;
        throw new Error('injected outbox failure');
      }
    };
    outbox.enqueue = async (...args) => {
      failOnce();
      return original.enqueue(...args);
    };
    outbox.enqueueMany = async (...args) => {
      failOnce();
      return original.enqueueMany(...args);
    };
    let ids: { userId: string; courseId: string };
    try {
      ids = await finishModule(server, 'canvas', coach.userId, coach.contextId, 'M05');
    } finally {
      Object.assign(outbox, original);
    }
    expect(failures).toBe(1);
    const db = server.connection.db!;
    expect(await db.collection('attempts').countDocuments({ userId: new Types.ObjectId(ids.userId), scoresOwed: { $exists: true } })).toBe(
      1,
    );
    expect(await server.outbox.list({ userId: ids.userId })).toEqual([]);

    expect(await server.sweeper.sweepNow()).toBe(1);
    await drained(server);
    expect(await db.collection('attempts').countDocuments({ userId: new Types.ObjectId(ids.userId), scoresOwed: { $exists: true } })).toBe(
      0,
    );
    const snapshot = (await db.collection('competency_scores').findOne({ userId: new Types.ObjectId(ids.userId) }))!;
    const book = await server.devPlatform!.gradebook(coach.contextId);
    for (const s of snapshot.scores as { competencyId: string; score: number }[]) {
      const result = book.lineItems.find((l) => l.resourceId === s.competencyId)!.results.find((r) => r.userId === coach.userId);
      expect(result?.scoreGiven).toBe(s.score);
    }
  });

  test('when the LMS answers 409 because an earlier try already stored our score, then the entry is sent (confirmed); when it holds another score, superseded with both values', async () => {
    const { contextId, learners, entry } = await scoreCourse(server, 'moodle');
    const course = (await server.connection.db!.collection('courses').findOne({ contextId }))!;
    const target = { issuer: String(course.issuer), clientId: String(course.clientId) };
    // The column exists, and the LMS already holds learner 0's score (its answer was lost) and another score for learner 1.
    const created = await server.platformClient.request(target, [scopes.lineItem], String(course.lineItemsUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.ims.lis.v2.lineitem+json' },
      body: JSON.stringify({ label: 'Coaching competency C4.2', scoreMaximum: 100, tag: 'coaching-competency', resourceId: 'C4.2' }),
    });
    const lineItemUrl = ((await created.json()) as { id: string }).id;
    const at = new Date(Date.now() - 60_000);
    const post = (sub: string, score: number, timestamp: Date) =>
      server.platformClient.request(target, [scopes.score], `${lineItemUrl}/scores`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/vnd.ims.lis.v1.score+json' },
        body: JSON.stringify({
          userId: sub,
          scoreGiven: score,
          scoreMaximum: 100,
          activityProgress: 'InProgress',
          gradingProgress: 'FullyGraded',
          timestamp: timestamp.toISOString(),
        }),
      });
    expect((await post(learners[0]!.userId, 55, at)).status).toBe(204);
    expect((await post(learners[1]!.userId, 66, new Date(at.getTime() + 3_600_000))).status).toBe(204);

    await server.outbox.enqueue(entry(0, 'C4.2', 55, at), new Date());
    await server.outbox.enqueue(entry(1, 'C4.2', 50, at), new Date());
    server.worker.nudge();
    await drained(server);
    const entries = await server.outbox.list({ courseId: course._id.toHexString(), target: 'C4.2' });
    const e0 = entries.find((e) => e.userSub === learners[0]!.userId)!;
    const e1 = entries.find((e) => e.userSub === learners[1]!.userId)!;
    expect(e0.attempts.map((a) => a.httpStatus)).toEqual([409]);
    expect(e0.status).toBe('sent');
    expect(e0.reason).toContain('confirmed: the LMS already holds this score (55)');
    expect(e1.status).toBe('superseded');
    expect(e1.reason).toMatch(/the LMS holds 66 .*ours is 50/);
  });

  test('when two first enqueues race, then the higher version wins; when a pending entry is replaced, its 72 h window keeps its start', async () => {
    const { entry } = await scoreCourse(server, 'canvas');
    await server.worker.stop();
    try {
      const at = new Date(Date.now() - 5_000);
      const older = { ...entry(2, 'C3.1', 10, at), version: 1 };
      const newer = { ...entry(2, 'C3.1', 20, at), version: 2 };
      const outcomes = await Promise.all([server.outbox.enqueue(newer, new Date()), server.outbox.enqueue(older, new Date())]);
      // Whichever insert lands first, the loser's duplicate-key error is retried as a compare-and-set update.
      expect(outcomes).toContain('queued');
      const [stored] = await server.outbox.list({ userId: newer.userId, target: 'C3.1' });
      expect({ version: stored!.version, score: stored!.score.scoreGiven }).toEqual({ version: 2, score: 20 });

      const firstQueuedAt = stored!.firstQueuedAt.getTime();
      await new Promise((r) => setTimeout(r, 20));
      expect(await server.outbox.enqueue({ ...entry(2, 'C3.1', 30, at), version: 3 }, new Date())).toBe('queued');
      const [replaced] = await server.outbox.list({ userId: newer.userId, target: 'C3.1' });
      expect(replaced!.firstQueuedAt.getTime()).toBe(firstQueuedAt);
      // Same proposed timestamp (clock did not move): the stored one still increases.
      expect(Date.parse(replaced!.score.timestamp)).toBeGreaterThan(Date.parse(stored!.score.timestamp));
    } finally {
      server.worker.start();
    }
    await drained(server);
  });
});
