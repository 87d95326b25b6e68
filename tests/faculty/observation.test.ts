import { Browser, parseForms, withoutLaunchTokens } from '../support/browser';
import { hurry } from '../support/coach';
import { launch, launchInput, seedIds } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(180_000);

async function drained(server: TestServer, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await server.outbox.pendingCount()) > 0) {
    if (Date.now() > until) throw new Error('outbox not drained');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('observed coaching practice', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, { tuning: { worker: { baseBackoffMs: 20, maxBackoffMs: 200, idlePollMs: 50 } } });
  });
  afterAll(async () => {
    await server.stop();
  });

  test("when faculty record an observation, then the coach's competency score changes and the LMS column receives it through passback; the narrative is sealed at rest", async () => {
    const faculty = new Browser();
    const dlPage = await launch(server, faculty, launchInput('canvas', 'faculty', { messageType: 'LtiDeepLinkingRequest' }, 1));
    const dl = parseForms(dlPage.text, dlPage.url)[0]!;
    await faculty.submitForm(await faculty.post(dl.action, { ...dl.fields, action: 'add', modules: 'M04' }));
    const { contextId, userId: sub } = seedIds('canvas', 'coach', 1);
    const link = (await server.devPlatform!.deepLinks(contextId)).find((l) => l.custom.module_id === 'M04')!;
    const coach = new Browser();
    await hurry(coach, await launch(server, coach, launchInput('canvas', 'coach', { resourceLinkId: link.resourceLinkId }, 1)));
    await drained(server);

    const db = server.connection.db!;
    const user = (await db.collection('users').findOne({ sub }))!;
    const scoreOf = async () =>
      (
        (await db.collection('competency_scores').findOne({ userId: user._id }))!.scores as {
          competencyId: string;
          status: string;
          score?: number;
          level?: string;
        }[]
      ).find((s) => s.competencyId === 'C2.2')!;
    const column = async () => {
      const book = await server.devPlatform!.gradebook(contextId);
      return book.lineItems.find((l) => l.tag === 'coaching-competency' && l.resourceId === 'C2.2')!.results.find((r) => r.userId === sub)!;
    };
    expect((await scoreOf()).status).toBe('insufficient-evidence');
    expect((await column()).scoreGiven).toBeUndefined();

    const course = await launch(server, faculty, launchInput('canvas', 'faculty', {}, 1));
    const formPage = await faculty.get(new URL(`/course/coaches/${user._id.toHexString()}/observations/new`, course.url).toString());
    expect(formPage.status).toBe(200);
    const form = parseForms(formPage.text, formPage.url).find((f) => f.action.endsWith('/observations'))!;
    const missing = await faculty.post(form.action, {
      ...form.fields,
      observedOn: '2026-11-20',
      setting: 'live',
      duration: '25',
      narrative: 'x',
    });
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('Rate at least one competency you observed.');
    const narrative = `observed-narrative-${Date.now()}`;
    const saved = await faculty.post(form.action, {
      ...form.fields,
      observedOn: '2026-11-20',
      setting: 'simulated',
      duration: '25',
      'level-C2.2': 'proficient',
      narrative,
    });
    expect(saved.status).toBe(303);
    await drained(server);

    const after = await scoreOf();
    expect(after.status).toBe('scored');
    // The hurried coach's answers are mostly wrong: the observation makes the evidence sufficient, and the level
    // follows the score (what the model says, not what the observer rated).
    expect(after.score).toBeGreaterThan(0);
    const result = await column();
    expect(result.scoreGiven).toBe(after.score);
    const label = after.level!.charAt(0).toUpperCase() + after.level!.slice(1);
    expect(result.comment).toMatch(new RegExp(`^${label} · \\d+/100`));

    const stored = (await db.collection('observations').findOne({ userId: user._id }))!;
    expect(JSON.stringify(stored)).not.toContain(narrative);
    const detail = await faculty.get(new URL(saved.location!, course.url).toString());
    expect(detail.text).toContain(narrative);
    expect(detail.text).toContain('Observed Proficient by');
    const audit = await db.collection('admin_audit_log').findOne({ action: 'faculty.observe', subjectUserId: user._id.toHexString() });
    expect(audit?.detail).toContain(
      `${seedIds('canvas', 'faculty', 1).name} in ${seedIds('canvas', 'faculty', 1).courseTitle}: observed C2.2`,
    );

    // The coach sees it: a banner on "My training", the feedback on the profile, then it is no longer new.
    const training = await coach.get(`${server.url}/training`);
    expect(withoutLaunchTokens(training.text)).toContain('Feedback from faculty: <a href="/profile#feedback">1 new observation</a>');
    const profile = await coach.get(`${server.url}/profile`);
    expect(profile.text).toContain('Since your last visit: 1 new observation.');
    expect(profile.text).toContain(narrative);
    expect(profile.text).toContain('Observed levels: C2.2 Proficient');
    const again = await coach.get(`${server.url}/profile`);
    expect(again.text).not.toContain('Since your last visit');
    expect(again.text).toContain(narrative);
  });
});
