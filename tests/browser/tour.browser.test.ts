/**
 * Screenshot tour (issue 14): every page for each role, in Chromium at desktop width, axe-clean, each page's
 * heading checked. Screenshots go to test-artifacts/tour/<role>-<page>.png; `npm run docs:screenshots` copies a
 * chosen few into src/web/public/guide/ for the README.
 *
 * LTI roles (coach, faculty, teaching assistant, LMS administrator) launch through the built-in platform's iframe
 * (the real OIDC round trip); their pages are then opened top-level in the same browser context (the session
 * cookie is the tool's, on the same origin), so each screenshot shows the whole page. The tool administrator
 * signs in with a password at /admin/login; IT's front door needs no sign-in.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser as Chromium, BrowserContext, Page } from 'playwright-core';
import { createAdminAccounts } from '../../src/admin/admin-accounts';
import { artifactsDir, launchChromium, launchInFrame, pngSize, seriousViolations } from '../support/chromium';
import { seedObservedCoach } from '../support/coach';
import { seedIds } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(900_000);

const width = 1280;
const tourDir = path.join(artifactsDir, 'tour');

interface TourPage {
  name: string;
  url: string;
  /** The page's main heading (h1), matched loosely so wording changes elsewhere do not break the tour. */
  heading: RegExp;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Opens each page, checks status and heading, saves the screenshot and collects serious axe violations. */
async function tour(page: Page, role: string, pages: TourPage[]): Promise<string[]> {
  const problems: string[] = [];
  for (const p of pages) {
    const response = await page.goto(p.url);
    const status = response?.status();
    const heading = (await page.locator('h1').first().innerText()).trim();
    if (status !== 200) problems.push(`${role}-${p.name}: HTTP ${status} (${heading})`);
    if (!p.heading.test(heading)) problems.push(`${role}-${p.name}: heading "${heading}" does not match ${p.heading}`);
    const file = path.join(tourDir, `${role}-${p.name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    if (pngSize(file).width !== width) problems.push(`${role}-${p.name}: screenshot is ${pngSize(file).width} px wide`);
    problems.push(...(await seriousViolations(page)).map((v) => `${role}-${p.name}: ${v}`));
  }
  return problems;
}

describe('screenshot tour of every page for each role', () => {
  let server: TestServer;
  let chromium: Chromium;
  let context: BrowserContext | undefined;
  const ids: Record<string, string> = {};
  const names: Record<string, string> = {};

  beforeAll(async () => {
    mkdirSync(tourDir, { recursive: true });
    server = await startTestServer();
    chromium = await launchChromium();
    const seeded = await seedObservedCoach(server, [
      { competencyId: 'C1.1', level: 'proficient' },
      { competencyId: 'C2.1', level: 'developing' },
    ]);
    ids.coach = seeded.coachId;
    ids.attempt = seeded.attemptId;
    names.coach = seedIds('canvas', 'coach').name;
    names.course = seedIds('canvas', 'coach').courseTitle;
    const m01 = await server.assessment.currentModule('M01');
    names.module = m01.title;
    names.section = m01.sections[0]!.title;
    names.reflection = m01.items.find((i) => i.kind === 'reflection')!.id;
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  afterAll(async () => {
    await chromium?.close();
    await server?.stop();
  });

  const newPage = async (): Promise<Page> => {
    context = await chromium.newContext({ viewport: { width, height: 900 } });
    return context.newPage();
  };

  test('when a coach tours their pages, then each shows its heading and is axe-clean', async () => {
    const page = await newPage();
    await launchInFrame(page, server.config.toolUrl, 'coach');
    const base = server.config.toolUrl;
    const problems = await tour(page, 'coach', [
      { name: 'training', url: `${base}/training`, heading: /My training/ },
      { name: 'module', url: `${base}/modules/M01`, heading: new RegExp(escape(names.module!)) },
      { name: 'section', url: `${base}/modules/M01/attempts/${ids.attempt}/sections/1`, heading: new RegExp(escape(names.section!)) },
      { name: 'result', url: `${base}/modules/M01/attempts/${ids.attempt}/result`, heading: /finished/i },
      { name: 'profile', url: `${base}/profile`, heading: /competency profile/i },
    ]);
    expect(problems).toEqual([]);
  });

  test('when faculty tour the course workspace, then each page shows its heading and is axe-clean', async () => {
    const page = await newPage();
    const base = server.config.toolUrl;
    await launchInFrame(page, server.config.toolUrl, 'faculty', 'deeplink');
    const picker = await tour(page, 'faculty', [{ name: 'add-modules', url: `${base}/deep-linking`, heading: /Add CoachLTI modules/ }]);
    await launchInFrame(page, server.config.toolUrl, 'faculty');
    const problems = await tour(page, 'faculty', [
      { name: 'overview', url: `${base}/course`, heading: new RegExp(escape(names.course!)) },
      { name: 'assign-modules', url: `${base}/course/assignments`, heading: /Assign modules/ },
      { name: 'coach', url: `${base}/course/coaches/${ids.coach}`, heading: new RegExp(escape(names.coach!)) },
      { name: 'observe', url: `${base}/course/coaches/${ids.coach}/observations/new`, heading: /Record an observation/ },
      { name: 'rating-queue', url: `${base}/course/reflections`, heading: /Rate reflections/ },
      {
        name: 'rate',
        url: `${base}/course/reflections/${ids.attempt}/${names.reflection}`,
        heading: new RegExp(escape(names.coach!)),
      },
      { name: 'roster', url: `${base}/course/roster`, heading: /roster/i },
    ]);
    expect([...picker, ...problems]).toEqual([]);
  });

  test('when a teaching assistant tours the pages they may use, then each shows its heading and is axe-clean', async () => {
    const page = await newPage();
    await launchInFrame(page, server.config.toolUrl, 'ta');
    const base = server.config.toolUrl;
    const problems = await tour(page, 'ta', [
      { name: 'overview', url: `${base}/course`, heading: new RegExp(escape(names.course!)) },
      { name: 'rating-queue', url: `${base}/course/reflections`, heading: /Rate reflections/ },
      { name: 'coach', url: `${base}/course/coaches/${ids.coach}`, heading: new RegExp(escape(names.coach!)) },
      { name: 'observe', url: `${base}/course/coaches/${ids.coach}/observations/new`, heading: /Record an observation/ },
    ]);
    expect(problems).toEqual([]);
  });

  test('when an LMS administrator tours the administration of their platform, then each page shows its heading and is axe-clean', async () => {
    const page = await newPage();
    await launchInFrame(page, server.config.toolUrl, 'admin');
    const base = server.config.toolUrl;
    const problems = await tour(page, 'lms-admin', [
      { name: 'home', url: `${base}/admin`, heading: /Administration/ },
      { name: 'passback', url: `${base}/admin/passback`, heading: /passback/i },
      { name: 'audit', url: `${base}/admin/audit`, heading: /Audit/ },
      { name: 'privacy', url: `${base}/admin/privacy`, heading: /Privacy/ },
      { name: 'program', url: `${base}/admin/program`, heading: /Program/ },
    ]);
    expect(problems).toEqual([]);
  });

  test('when the tool administrator signs in and tours /admin, then each page shows its heading and is axe-clean', async () => {
    const email = `tour-${Date.now().toString(36)}@example.edu`;
    const password = 'correct horse battery tour';
    await createAdminAccounts(server.connection).create(email, password);
    const page = await newPage();
    const base = server.config.toolUrl;
    const signIn = await tour(page, 'tool-admin', [{ name: 'sign-in', url: `${base}/admin/login`, heading: /sign-in/i }]);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL(/\/admin(\?|$)/), page.click('form button[type="submit"], form input[type="submit"]')]);
    const problems = await tour(page, 'tool-admin', [
      { name: 'home', url: `${base}/admin`, heading: /Administration/ },
      { name: 'platforms', url: `${base}/admin/platforms`, heading: /Platforms/ },
      { name: 'passback', url: `${base}/admin/passback`, heading: /passback/i },
      { name: 'jobs', url: `${base}/admin/jobs`, heading: /jobs/i },
      { name: 'audit', url: `${base}/admin/audit`, heading: /Audit/ },
      { name: 'privacy', url: `${base}/admin/privacy`, heading: /Privacy/ },
      { name: 'privacy-person', url: `${base}/admin/privacy/people/${ids.coach}`, heading: new RegExp(escape(names.coach!)) },
      { name: 'retention', url: `${base}/admin/privacy/retention`, heading: /Retention/ },
      { name: 'program', url: `${base}/admin/program`, heading: /Program/ },
    ]);
    expect([...signIn, ...problems]).toEqual([]);
  });

  test("when IT opens the tool's front door, then the home page, sign-in and test platform show their headings and are axe-clean", async () => {
    const page = await newPage();
    const base = server.config.toolUrl;
    const problems = await tour(page, 'it', [
      { name: 'home', url: `${base}/`, heading: /CoachLTI/ },
      { name: 'admin-sign-in', url: `${base}/admin/login`, heading: /sign-in/i },
      { name: 'test-platform', url: `${base}/dev/platform`, heading: /test LMS/i },
    ]);
    expect(problems).toEqual([]);
  });
});
