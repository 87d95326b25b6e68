import { Browser, findLink, parseForms, withoutLaunchTokens } from '../support/browser';
import { hurry } from '../support/coach';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

describe('a coach works through a module', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when a hurried coach follows only forms and links from the launch, then the module is finished and scored, and the event is recorded once', async () => {
    const browser = new Browser();
    const landing = await launch(server, browser, launchInput('canvas', 'coach', { custom: { module_id: 'M01' } }));
    expect(new URL(landing.url).pathname).toBe('/modules/M01');
    const pages = await hurry(browser, landing);
    const result = pages[pages.length - 1]!;
    expect(new URL(result.url).pathname).toMatch(/^\/modules\/M01\/attempts\/[a-f0-9]{24}\/result$/);
    expect(result.text).toContain('C1.1 Establishing the coaching agreement');

    // Feedback was shown after each answer, and no page before answering carried the answer key.
    expect(pages.some((p) => p.text.includes('Your answer'))).toBe(true);
    const db = server.connection.db!;
    const attempt = (await db.collection('attempts').findOne({ moduleId: 'M01' }))!;
    expect(attempt.status).toBe('completed');
    const snapshot = (await db.collection('competency_scores').findOne({ userId: attempt.userId }))!;
    const ids = (snapshot.scores as { competencyId: string; score: number }[]).map((s) => s.competencyId);
    expect(ids).toEqual(expect.arrayContaining(['C1.1', 'C2.1', 'C3.3']));
    // Score model: no reflection is rated yet, so no competency has the faculty-rated evidence a number needs.
    for (const s of snapshot.scores as { status: string; score?: number; missing?: string }[]) {
      expect(s.status).toBe('insufficient-evidence');
      expect(s.score).toBeUndefined();
      expect(s.missing).toContain('awaiting rating');
    }
    expect(await db.collection('domain_events').countDocuments({ type: 'competencyScoresChanged' })).toBe(1);
    const event = (await db.collection('domain_events').findOne({}))!.payload as {
      scores: unknown[];
      moduleScores: { moduleId: string }[];
    };
    expect(event.scores).toEqual(
      snapshot.scores.map(
        (s: { competencyId: string; status: string; missing: string; modules: string[]; pendingFacultyRating: boolean }) => ({
          competencyId: s.competencyId,
          status: s.status,
          missing: s.missing,
          modules: s.modules,
          pendingFacultyRating: s.pendingFacultyRating,
        }),
      ),
    );
    expect(event.moduleScores.map((m) => m.moduleId)).toEqual(['M01']);
  });

  test('when an answer or the finish form is submitted twice, then nothing is duplicated or lost', async () => {
    const browser = new Browser();
    const landing = await launch(server, browser, launchInput('moodle', 'coach', { custom: { module_id: 'M02' } }));
    const start = parseForms(landing.text, landing.url).find((f) => f.action.endsWith('/attempts'))!;
    const first = await browser.post(start.action, start.fields);
    const second = await browser.post(start.action, start.fields);
    expect(second.location).toBe(first.location);
    const section = await browser.get(first.location!);
    let page = section;
    // Answer the first question twice with different choices: the first answer stands.
    let form = parseForms(page.text, page.url).find((f) => f.action.includes('/items/'));
    while (!form) {
      page = await browser.get(findLink(page, /^Next section/)!);
      form = parseForms(page.text, page.url).find((f) => f.action.includes('/items/'));
    }
    const name = Object.keys(form.choices)[0]!;
    const values = form.choices[name]!;
    await browser.post(form.action, { ...form.fields, [name]: values[0]! });
    await browser.post(form.action, { ...form.fields, [name]: values[1]! });
    const db = server.connection.db!;
    const attempts = await db.collection('attempts').find({ moduleId: 'M02' }).toArray();
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.answers).toHaveLength(1);
    expect(attempts[0]!.answers[0].selected).toEqual([values[0]]);

    const pages = await hurry(browser, await browser.get(first.location!));
    const result = pages[pages.length - 1]!;
    const events = await db.collection('domain_events').countDocuments({ 'payload.cause.moduleId': 'M02' });
    expect(events).toBe(1);
    const complete = `${server.url}${new URL(result.url).pathname.replace(/\/result$/, '')}/complete`;
    const csrf = parseForms(result.text, result.url)[0]!.fields._csrf!;
    const again = await browser.post(complete, { _csrf: csrf });
    expect(again.status).toBe(303);
    expect(await db.collection('domain_events').countDocuments({ 'payload.cause.moduleId': 'M02' })).toBe(1);
  });

  test('when the module overview lists its references, then each shows its own year, not the current one', async () => {
    const browser = new Browser();
    const landing = await launch(server, browser, launchInput('canvas', 'coach2', { custom: { module_id: 'M09' } }));
    const references = /<ul class="references">([\s\S]*?)<\/ul>/.exec(landing.text)?.[1] ?? '';
    expect(references).toContain('de Shazer S (1985)');
    expect(references).toContain('Fainstad T, Mann A, Suresh K, et al. (2022)');
    expect(references).not.toContain(`(${new Date().getFullYear()})`);
  });

  test('when a question page is rendered before answering, then it carries no answer key or feedback', async () => {
    const browser = new Browser();
    const landing = await launch(server, browser, launchInput('canvas', 'coach2', { custom: { module_id: 'M05' } }));
    const start = parseForms(landing.text, landing.url).find((f) => f.action.endsWith('/attempts'))!;
    let page = await browser.follow(await browser.post(start.action, start.fields));
    const html: string[] = [];
    for (let i = 0; i < 8; i += 1) {
      html.push(page.text);
      const next = findLink(page, /^Next section/);
      if (!next) break;
      page = await browser.get(next);
    }
    const all = html.join('\n');
    expect(all).toContain('Select the best answer');
    expect(all).not.toMatch(/is-correct|Correct choice|Also correct|"correct"/);
  });

  test('when the coach opens My training and the profile after finishing, then status, suggestion, chart and table are shown', async () => {
    const browser = new Browser();
    const landing = await launch(server, browser, launchInput('canvas', 'coach', { custom: { module_id: 'M01' } }));
    const training = await browser.get(`${server.url}/training`);
    expect(training.text).toContain('Completed');
    expect(training.text).toContain('Suggested next');
    const profile = await browser.get(`${server.url}/profile`);
    expect(profile.status).toBe(200);
    expect(profile.text).toContain('role="img"');
    // Nothing rated by faculty yet: the profile says so instead of showing a number.
    expect(profile.text).toMatch(/C1\.1 Establishing the coaching agreement<\/th><td>Insufficient evidence: [^<]*awaiting rating/);
    expect(profile.text).toContain('Change over time');
    expect(profile.text).toContain('Coaching theories and research');
    expect(landing.status).toBe(200);
  });

  test('when a reflection is submitted without text or rating, then a 400 page explains it and nothing is stored', async () => {
    const browser = new Browser();
    const landing = await launch(server, browser, launchInput('moodle', 'coach2', { custom: { module_id: 'M03' } }));
    const start = parseForms(landing.text, landing.url).find((f) => f.action.endsWith('/attempts'))!;
    let page = await browser.follow(await browser.post(start.action, start.fields));
    let reflection = parseForms(page.text, page.url).find((f) => f.textareas.length > 0);
    while (!reflection) {
      page = await browser.get(findLink(page, /^Next section/)!);
      reflection = parseForms(page.text, page.url).find((f) => f.textareas.length > 0);
    }
    const res = await browser.post(reflection.action, { ...reflection.fields, text: '   ' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('Write your reflection');
    const attempt = (await server.connection.db!.collection('attempts').findOne({ moduleId: 'M03' }))!;
    expect(attempt.answers).toEqual([]);
  });

  test('when faculty rate a finished coach reflection per criterion with a comment, then the scores are recomputed and the coach sees the comment', async () => {
    const coach = new Browser();
    const landing = await launch(server, coach, launchInput('canvas', 'coach', { custom: { module_id: 'M06' } }, 1));
    const seen = await hurry(coach, landing);
    const db = server.connection.db!;
    const user = (await db.collection('users').findOne({ sub: launchInput('canvas', 'coach', {}, 1).userId }))!;
    const before = (await db.collection('competency_scores').findOne({ userId: user._id }))!;
    expect((before.scores as { pendingFacultyRating: boolean }[]).some((s) => s.pendingFacultyRating)).toBe(true);

    const faculty = new Browser();
    await launch(server, faculty, launchInput('canvas', 'faculty', {}, 1));
    const list = await faculty.get(`${server.url}/course/reflections`);
    expect(list.status).toBe(200);
    const links = [...withoutLaunchTokens(list.text).matchAll(/href="(\/course\/reflections\/[a-f0-9]{24}\/M06\.R\d)"/g)].map((m) => m[1]!);
    expect(links).toHaveLength(2);
    for (const link of links) {
      const page = await faculty.get(`${server.url}${link}`);
      const form = parseForms(page.text, page.url).find((f) => f.action.endsWith(link))!;
      const criteria = Object.keys(form.choices).filter((n) => n.startsWith('criterion-'));
      expect(criteria.length).toBeGreaterThanOrEqual(3);
      const rated = await faculty.post(form.action, {
        ...form.fields,
        ...Object.fromEntries(criteria.map((n) => [n, 'proficient'])),
        comment: 'Clear plan; name the learner’s own goal next time.',
      });
      expect(rated.status).toBe(303);
    }
    const after = (await db.collection('competency_scores').findOne({ userId: user._id }))!;
    expect((after.scores as { pendingFacultyRating: boolean }[]).every((s) => !s.pendingFacultyRating)).toBe(true);
    expect(
      await db.collection('domain_events').countDocuments({ userId: user._id.toHexString(), 'payload.cause.kind': 'faculty-rating' }),
    ).toBe(2);
    // The coach sees the rating and the comment on the reflection.
    const reflectionPage = seen.find((p) => p.text.includes('Save reflection') || p.text.includes('You rated this reflection'))!;
    const again = await coach.get(reflectionPage.url);
    expect(again.text).toContain('Clear plan; name the learner’s own goal next time.');
    expect(again.text).toContain('faculty rated it <strong>Proficient</strong>');
  });
});
