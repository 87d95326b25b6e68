import { createLineItemService } from '../../src/grading/line-items';
import { createPassbackWorker } from '../../src/grading/passback-worker';
import { createPlatformClient } from '../../src/lti/platform-client';
import { Browser, parseForms } from '../support/browser';
import { finishedJob } from '../admin/support';
import { finishModule, hurry } from '../support/coach';
import { launch, launchInput, seedIds } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';
import { devPlatformDirectory } from '../../src/devplatform';

jest.setTimeout(180_000);

async function drained(server: TestServer, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await server.outbox.pendingCount()) > 0) {
    if (Date.now() > until) throw new Error(`outbox not drained: ${JSON.stringify(await server.outbox.counts({}))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('competency grade passback', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, { tuning: { worker: { baseBackoffMs: 20, maxBackoffMs: 200, idlePollMs: 50 } } });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when a coach finishes a deep-linked module, then the LMS receives a score per competency touched and the module score, matching our scores', async () => {
    const faculty = new Browser();
    const dlPage = await launch(server, faculty, launchInput('canvas', 'faculty', { messageType: 'LtiDeepLinkingRequest' }, 1));
    const form = parseForms(dlPage.text, dlPage.url)[0]!;
    const answer = await faculty.post(form.action, { ...form.fields, action: 'add', modules: 'M04' });
    await faculty.submitForm(answer);
    const contextId = seedIds('canvas', 'coach', 1).contextId;
    const link = (await server.devPlatform!.deepLinks(contextId)).find((l) => l.custom.module_id === 'M04')!;
    expect(link.lineItemIds).toHaveLength(1);

    const coach = new Browser();
    const landing = await launch(server, coach, launchInput('canvas', 'coach', { resourceLinkId: link.resourceLinkId }, 1));
    expect(new URL(landing.url).pathname).toBe('/modules/M04');
    await hurry(coach, landing);
    await drained(server);

    const book = await server.devPlatform!.gradebook(contextId);
    const competencyItems = book.lineItems.filter((l) => l.tag === 'coaching-competency');
    expect(competencyItems).toHaveLength(13);
    expect(competencyItems.every((l) => l.resourceLinkId === undefined && l.scoreMaximum === 100)).toBe(true);
    expect(competencyItems.find((l) => l.resourceId === 'C2.2')!.label).toBe('Coaching competency C2.2 · Emotional intelligence');

    const db = server.connection.db!;
    const user = (await db.collection('users').findOne({ sub: seedIds('canvas', 'coach', 1).userId }))!;
    const snapshot = (await db.collection('competency_scores').findOne({ userId: user._id }))!;
    // Score model: before any faculty rating no competency has sufficient evidence, so the LMS gets no number,
    // only the comment saying what is missing, PendingManual while reflections await a rating.
    for (const s of snapshot.scores as { competencyId: string; status: string; score?: number; pendingFacultyRating: boolean }[]) {
      const result = competencyItems.find((l) => l.resourceId === s.competencyId)!.results.find((r) => r.userId === user.sub)!;
      expect(result.scoreGiven).toBe(s.score);
      expect(result.gradingProgress).toBe(s.pendingFacultyRating ? 'PendingManual' : 'FullyGraded');
      expect(result.timestamp).toBe((snapshot.computedAt as Date).toISOString());
      if (s.status === 'scored') expect(result.comment).toMatch(/^(Novice|Developing|Proficient|Expert) · \d+\/100 · from 1 module/);
      else expect(result.comment).toMatch(/^Insufficient evidence · .+ · from 1 module$/);
    }
    expect((snapshot.scores as { status: string }[]).every((s) => s.status === 'insufficient-evidence')).toBe(true);
    const moduleItem = book.lineItems.find((l) => l.id === link.lineItemIds[0])!;
    const sent = await server.outbox.list({ userId: user._id.toHexString() });
    // The module's own column holds exactly the module score the tool computed and sent.
    const moduleEntry = sent.find((e) => e.target.kind === 'module')!;
    expect(typeof moduleEntry.score.scoreGiven).toBe('number');
    expect(moduleItem.results.find((r) => r.userId === user.sub)?.scoreGiven).toBe(moduleEntry.score.scoreGiven);
    expect(sent.every((e) => e.status === 'sent')).toBe(true);
    expect(sent.length).toBe((snapshot.scores as unknown[]).length + 1);
  });

  test('when faculty open their course, then each coach shows a passback badge, and a resync re-sends with new_submission false', async () => {
    const faculty = new Browser();
    const page = await launch(server, faculty, launchInput('canvas', 'faculty', {}, 1));
    const coachName = seedIds('canvas', 'coach', 1).name;
    expect(page.text).toMatch(new RegExp(`${coachName}</a></th><td><span class="badge badge-synced">Synced`));
    const db = server.connection.db!;
    const user = (await db.collection('users').findOne({ sub: seedIds('canvas', 'coach', 1).userId }))!;
    const before = await server.outbox.list({ userId: user._id.toHexString() });

    const resync = parseForms(page.text, page.url).find((f) => f.action.endsWith('/course/resync'))!;
    const after = await faculty.follow(await faculty.post(resync.action, resync.fields));
    expect(after.text).toContain('Resync queued. Its progress shows below.');
    const course = (await db.collection('courses').findOne({ contextId: seedIds('canvas', 'coach', 1).contextId }))!;
    expect((await finishedJob(server, course._id.toHexString(), 'resync')).state).toBe('done');
    await drained(server);
    const entries = await server.outbox.list({ userId: user._id.toHexString() });
    const competencyEntries = entries.filter((e) => e.target.kind === 'competency');
    expect(competencyEntries.every((e) => e.status === 'sent' && e.newSubmission === false)).toBe(true);
    expect(Math.min(...competencyEntries.map((e) => e.version))).toBeGreaterThan(
      Math.max(...before.filter((e) => e.target.kind === 'competency').map((e) => e.version)),
    );
  });

  test('when faculty turn a competency column off, then later scores for it are not queued', async () => {
    const faculty = new Browser();
    const page = await launch(server, faculty, launchInput('canvas', 'faculty', {}, 1));
    const form = parseForms(page.text, page.url).find((f) => f.action.endsWith('/course/grading-settings'))!;
    const keep = form.choices.sync!.filter((c) => c !== 'C2.2');
    await faculty.post(form.action, { ...form.fields, sync: keep });
    const coach = seedIds('canvas', 'coach2', 1);
    await finishModule(server, 'canvas', coach.userId, coach.contextId, 'M04');
    const user = (await server.connection.db!.collection('users').findOne({ sub: coach.userId }))!;
    const targets = (await server.outbox.list({ userId: user._id.toHexString() })).map((e) => e.target.id);
    expect(targets).toContain('C2.4');
    expect(targets).not.toContain('C2.2');
  });

  test('when 20 coaches finish at the same moment and a second worker process runs, then the 13 line items are created exactly once and every score arrives', async () => {
    const extra = createPassbackWorker({
      outbox: server.outbox,
      client: createPlatformClient({ provider: server.lti, logger: server.logger }),
      lineItems: createLineItemService({
        connection: server.connection,
        client: createPlatformClient({ provider: server.lti, logger: server.logger }),
      }),
      records: (await import('../../src/courses/launch-records')).createLaunchRecords(server.connection),
      framework: async () =>
        (await import('../../src/competencies/competency-repository')).createCompetencyRepository(server.connection).loadFramework(),
      logger: server.logger,
      options: { baseBackoffMs: 20, maxBackoffMs: 200, idlePollMs: 20 },
    });
    extra.start();
    try {
      const contextId = seedIds('moodle', 'coach', 0).contextId;
      const learners = devPlatformDirectory()
        .users.filter(
          (u) =>
            u.shape === 'moodle' && u.enrollments.some((e) => e.contextId === contextId && e.role === 'learner' && e.status === 'Active'),
        )
        .slice(0, 20);
      expect(learners).toHaveLength(20);
      await Promise.all(learners.map((l) => finishModule(server, 'moodle', l.userId, contextId, 'M02')));
      await drained(server);
      const book = await server.devPlatform!.gradebook(contextId);
      const items = book.lineItems.filter((l) => l.tag === 'coaching-competency');
      expect(items).toHaveLength(13);
      expect(new Set(items.map((i) => i.resourceId)).size).toBe(13);
      for (const c of ['C1.2', 'C1.3', 'C3.3']) {
        expect(items.find((i) => i.resourceId === c)!.results).toHaveLength(20);
      }
      expect(await server.connection.db!.collection('course_line_items').countDocuments({})).toBeGreaterThanOrEqual(13);
    } finally {
      await extra.stop();
    }
  });

  test('when a faculty member (not a learner) has scores, then they are recorded as skipped with the reason and never sent', async () => {
    const contextId = seedIds('moodle', 'faculty', 1).contextId;
    const faculty = seedIds('moodle', 'faculty', 1);
    await finishModule(server, 'moodle', faculty.userId, contextId, 'M01');
    const db = server.connection.db!;
    const user = (await db.collection('users').findOne({ sub: faculty.userId }))!;
    const entries = await server.outbox.list({ userId: user._id.toHexString() });
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => e.status === 'skipped' && e.reason?.includes('not a learner'))).toBe(true);
  });
});
