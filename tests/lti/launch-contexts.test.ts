import { Browser, findLink, parseForms, type PageResponse } from '../support/browser';
import { launch, launchInput, prepareLaunch, seedIds } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';
import { createLaunchTokens, type LaunchSession } from '../../src/lti/launch-token';

/** A browser whose every request goes out without cookies, as in an LMS iframe with third-party cookies blocked. */
class CookielessBrowser extends Browser {
  override send(...args: Parameters<Browser['send']>): ReturnType<Browser['send']> {
    this.clearCookies();
    return super.send(...args);
  }
}

/** The launch token a page's links carry. */
function tokenOf(page: PageResponse): string {
  const token = new URL(page.url).searchParams.get('launch');
  if (!token) throw new Error(`no launch token in ${page.url}`);
  return token;
}

/** Starts (or resumes) the module shown on the page and returns its first section. */
async function startModule(browser: Browser, modulePage: PageResponse): Promise<PageResponse> {
  const start = parseForms(modulePage.text, modulePage.url).find((f) => f.action.includes('/attempts'));
  if (!start) throw new Error(`no start form on ${modulePage.url}: ${modulePage.text.slice(0, 300)}`);
  const res = await browser.post(start.action, start.fields);
  expect(res.status).toBe(303);
  return browser.follow(res);
}

/** Answers the first unanswered question of a section page with its first option; returns the POST's answer. */
async function answerFirst(browser: Browser, section: PageResponse, extra: Record<string, string> = {}): Promise<PageResponse> {
  const form = parseForms(section.text, section.url).find((f) => f.action.includes('/items/'));
  if (!form) throw new Error(`no question on ${section.url}: ${section.text.slice(0, 300)}`);
  const choice: Record<string, string> = {};
  for (const [name, values] of Object.entries(form.choices)) choice[name] = values[0]!;
  for (const name of form.textareas) choice[name] = 'I would ask what the learner wants from our time together.';
  return browser.post(form.action, { ...form.fields, ...choice, ...extra });
}

describe('launch contexts side by side', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  const db = () => server.connection.db!;
  const courseIdOf = async (contextId: string) => (await db().collection('courses').findOne({ contextId }))!._id.toHexString();
  const answersOf = async (userSub: string) => {
    const user = await db().collection('users').findOne({ sub: userSub });
    if (!user) return [];
    const attempts = await db().collection('attempts').find({ userId: user._id }).toArray();
    return attempts.map((a) => ({ courseId: String(a.courseId), answers: (a.answers as unknown[]).length }));
  };

  test('when a coach opens course 1 in tab A and course 2 in tab B of one browser, then answering in tab A, reloading it and answering in tab B all work and land in their own course', async () => {
    // Elena is a learner in both Canvas courses.
    const course1 = seedIds('canvas', 'coach', 1);
    const course0 = { ...course1, contextId: seedIds('canvas', 'coach', 0).contextId };
    const browser = new Browser();
    const landingA = await launch(server, browser, {
      shape: 'canvas',
      userId: course0.userId,
      contextId: course0.contextId,
      custom: { module_id: 'M01' },
    });
    const sectionA = await startModule(browser, landingA);
    const landingB = await launch(server, browser, {
      shape: 'canvas',
      userId: course1.userId,
      contextId: course1.contextId,
      custom: { module_id: 'M01' },
    });
    const sectionB = await startModule(browser, landingB);

    const answerA = await answerFirst(browser, sectionA);
    expect(answerA.status).toBe(303);
    const reloadA = await browser.get(sectionA.url);
    expect(reloadA.status).toBe(200);
    expect(reloadA.text).toContain(seedIds('canvas', 'coach', 0).courseTitle);
    const answerB = await answerFirst(browser, sectionB);
    expect(answerB.status).toBe(303);

    const byCourse = await answersOf(course0.userId);
    expect(byCourse).toHaveLength(2);
    expect(byCourse).toEqual(
      expect.arrayContaining([
        { courseId: await courseIdOf(course0.contextId), answers: 1 },
        { courseId: await courseIdOf(course1.contextId), answers: 1 },
      ]),
    );
  });

  test('when one person is a coach in course 1 and faculty in course 2 in one browser, then each tab keeps its role and the faculty change lands in course 2 only', async () => {
    const coach = seedIds('canvas', 'coach', 1); // Elena, learner in both courses
    const course0 = seedIds('canvas', 'coach', 0);
    await db()
      .collection('devplatform_enrollments')
      .updateOne({ _id: `${coach.contextId}:${coach.userId}` as unknown as never }, { $set: { role: 'instructor' } });
    const browser = new Browser();
    const coachTab = await launch(server, browser, { shape: 'canvas', userId: coach.userId, contextId: course0.contextId });
    expect(new URL(coachTab.url).pathname).not.toMatch(/^\/course/);
    const facultyTab = await launch(server, browser, { shape: 'canvas', userId: coach.userId, contextId: coach.contextId });
    expect(new URL(facultyTab.url).pathname).toBe('/course');

    // Back in the coach tab: still the coach's page of course 1.
    const training = await browser.get(findLink(coachTab, /My training/)!);
    const profile = await browser.get(findLink(training, /My competency profile/)!);
    expect(profile.status).toBe(200);
    expect(profile.text).toContain(course0.courseTitle);
    const assignPage = await browser.get(findLink(facultyTab, /Assign modules/i)!);
    expect(assignPage.status).toBe(200);
    expect(assignPage.text).toContain(coach.courseTitle);
    const form = parseForms(assignPage.text, assignPage.url).find((f) => f.action.includes('/course/assignments'))!;
    const selects = [...assignPage.text.matchAll(/name="(assign-[^"]+)"/g)].map((m) => m[1]!);
    const saved = await browser.post(form.action, { ...form.fields, ...Object.fromEntries(selects.map((s) => [s, 'optional'])) });
    expect(saved.status).toBe(303);
    // The coach tab cannot use the faculty pages: its context is the coach's.
    const coachTry = await browser.get(`${server.url}/course?launch=${tokenOf(coachTab)}`);
    expect(coachTry.status).toBe(403);

    const assignments = await db().collection('course_assignments').find({}).toArray();
    expect(assignments.map((a) => a.courseId)).toEqual([await courseIdOf(coach.contextId)]);
  });

  test('when the browser sends no cookies at all, then a launch posted by the platform, the coach pages and an answer work by the launch token alone, and every link carries it', async () => {
    const browser = new CookielessBrowser();
    const input = launchInput('moodle', 'coach', { custom: { module_id: 'M02' } });
    const prepared = await prepareLaunch(server, browser, input);
    browser.extraHeaders = { Origin: new URL(server.config.toolUrl).origin };
    const launched = await browser.post(prepared.launchUrl, { id_token: prepared.idToken, state: prepared.state });
    expect(launched.status).toBe(303);
    expect(launched.location).toMatch(/\/modules\/M02\?launch=[A-Za-z0-9_-]+$/);
    browser.extraHeaders = {};
    const landing = await browser.follow(launched);
    expect(landing.status).toBe(200);
    const token = tokenOf(landing);
    const links = [...landing.text.matchAll(/\shref="(\/[^"/][^"]*)"/g)].map((m) => m[1]!).filter((u) => !u.startsWith('/static/'));
    expect(links.length).toBeGreaterThan(0);
    for (const url of links) expect(url).toContain(`launch=${token}`);
    const forms = parseForms(landing.text, landing.url);
    expect(forms.length).toBeGreaterThan(0);
    for (const form of forms) expect(form.fields.launch).toBe(token);

    const section = await startModule(browser, landing);
    expect(section.status).toBe(200);
    const answered = await answerFirst(browser, section);
    expect(answered.status).toBe(303);
    expect(answered.location).toContain(`launch=${token}`);
    const training = await browser.get(`${server.url}/training?launch=${token}`);
    expect(training.status).toBe(200);
    expect(await answersOf(input.userId)).toEqual([{ courseId: await courseIdOf(input.contextId), answers: 1 }]);
  });

  test('when a launch without cookies is posted from another site, then it is refused and no person or session is recorded', async () => {
    const browser = new CookielessBrowser();
    const input = launchInput('canvas', 'coach2');
    const prepared = await prepareLaunch(server, browser, input);
    const sessions = await db().collection('sessions').countDocuments();
    browser.extraHeaders = { Origin: 'https://attacker.example' };
    const res = await browser.post(prepared.launchUrl, { id_token: prepared.idToken, state: prepared.state });
    expect(res.status).toBe(401);
    expect(res.text).toContain('blocked the sign-in cookie');
    expect(await db().collection('users').countDocuments({ sub: input.userId })).toBe(0);
    expect(await db().collection('sessions').countDocuments()).toBe(sessions);
  });

  test('when a launch token is forged, expired or belongs to someone else, then the page says so and nothing changes', async () => {
    const ownerBrowser = new Browser();
    const owner = launchInput('canvas', 'coach', { custom: { module_id: 'M03' } });
    const section = await startModule(ownerBrowser, await launch(server, ownerBrowser, owner));
    const token = tokenOf(section);
    const before = await answersOf(owner.userId);

    const flipped = `${token.slice(0, 40)}${token[40] === 'A' ? 'B' : 'A'}${token.slice(41)}`;
    const forged = await new CookielessBrowser().get(section.url.replace(token, flipped));
    expect(forged.status).toBe(401);
    expect(forged.text).toContain('This CoachLTI link is not valid');
    const forgedPost = await answerFirst(new CookielessBrowser(), { ...section, text: section.text.replaceAll(token, flipped) });
    expect(forgedPost.status).toBe(401);

    const context: LaunchSession = {
      userId: 'ffffffffffffffffffffffff',
      userName: 'Someone',
      issuer: 'https://lms.example',
      clientId: 'c',
      deploymentId: 'd',
      view: 'learner',
      isLearner: true,
      courseId: undefined,
      courseTitle: undefined,
      resourceLinkId: undefined,
      moduleId: undefined,
      deepLinking: undefined,
    };
    const old = createLaunchTokens(server.config.ltiKey).issue(context, Date.now() / 1000 - 9 * 3600).token;
    const expired = await new CookielessBrowser().get(`${server.url}/training?launch=${old}`);
    expect(expired.status).toBe(401);
    expect(expired.text).toContain('This CoachLTI page has expired');
    const otherKey = createLaunchTokens('another-key-another-key-another-key').issue(context).token;
    expect((await new CookielessBrowser().get(`${server.url}/training?launch=${otherKey}`)).status).toBe(401);

    // Another coach's browser (its own session) using the owner's page and form.
    const otherBrowser = new Browser();
    await launch(server, otherBrowser, launchInput('canvas', 'coach2'));
    const foreign = await otherBrowser.get(section.url);
    expect(foreign.status).toBe(403);
    expect(foreign.text).toContain('belongs to someone else');
    const foreignPost = await answerFirst(otherBrowser, section);
    expect(foreignPost.status).toBe(403);

    expect(await answersOf(owner.userId)).toEqual(before);
  });

  test("when a form of a context is posted without that context's CSRF secret, then it is refused even with the launch token", async () => {
    const browser = new CookielessBrowser();
    const input = launchInput('moodle', 'coach2', { custom: { module_id: 'M04' } });
    const prepared = await prepareLaunch(server, browser, input);
    browser.extraHeaders = { Origin: new URL(server.config.toolUrl).origin };
    const landing = await browser.follow(await browser.post(prepared.launchUrl, { id_token: prepared.idToken, state: prepared.state }));
    browser.extraHeaders = {};
    const section = await startModule(browser, landing);
    const before = await answersOf(input.userId);

    const missing = await answerFirst(browser, section, { _csrf: '' });
    expect(missing.status).toBe(403);
    expect(missing.text).toContain('This form has expired');
    // The secret of another context (another launch of the same person) does not open this one.
    const other = await launch(server, new Browser(), launchInput('moodle', 'coach2', { custom: { module_id: 'M05' } }));
    const otherSecret = parseForms(other.text, other.url).find((f) => f.fields._csrf)!.fields._csrf!;
    const wrong = await answerFirst(browser, section, { _csrf: otherSecret });
    expect(wrong.status).toBe(403);
    expect(await answersOf(input.userId)).toEqual(before);
  });

  test('when a deep-linking selection is sent from a browser without cookies, then it goes to the LMS once and a second post is refused', async () => {
    const browser = new CookielessBrowser();
    const prepared = await prepareLaunch(server, browser, launchInput('canvas', 'faculty', { messageType: 'LtiDeepLinkingRequest' }));
    browser.extraHeaders = { Origin: new URL(server.config.toolUrl).origin };
    const page = await browser.follow(await browser.post(prepared.launchUrl, { id_token: prepared.idToken, state: prepared.state }));
    browser.extraHeaders = {};
    expect(new URL(page.url).pathname).toBe('/deep-linking');
    const form = parseForms(page.text, page.url).find((f) => f.action.endsWith('/deep-linking'))!;
    const selection = { ...form.fields, modules: form.choices.modules![0]! };
    const first = await browser.post(form.action, selection);
    expect(first.status).toBe(200);
    expect(first.text).toContain('name="JWT"');
    const second = await browser.post(form.action, selection);
    expect(second.status).toBe(403);
    expect(second.text).toContain('already been sent');
  });

  test('when a page of a launch is served, then no Referer can carry its token to another site', async () => {
    const browser = new Browser();
    const landing = await launch(server, browser, launchInput('canvas', 'coach'));
    expect(landing.headers.get('referrer-policy')).toBe('no-referrer');
  });
});
