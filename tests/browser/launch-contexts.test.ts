import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type FrameLocator, type Page } from 'playwright-core';
import { launchChromium, screenshot, seriousViolations } from '../support/chromium';
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(240_000);

/**
 * Two launch contexts side by side in one browser (two tabs, two courses), once with cookies and once with
 * every cookie blocked for the tool — what a browser blocking third-party cookies leaves a tool in an LMS
 * iframe (Safari; Chrome with third-party cookies blocked). Blocking all cookies (Chromium's own content
 * setting, in the profile's preferences) is the strict form of it: the tool and the built-in platform share
 * one origin here, so a "third-party only" block would not apply to this iframe.
 */

async function launchInTab(context: BrowserContext, course: string, persona: string): Promise<{ page: Page; frame: FrameLocator }> {
  const page = await context.newPage();
  await page.goto(`${server.config.toolUrl}/dev/platform/?shape=canvas&course=${course}&persona=${persona}&what=training&go=launch`);
  const frame = page.frameLocator('iframe[name="tool"]');
  // The tool's own page (the launch passes through the platform's auto-posting pages first).
  await frame.locator('.site-header').waitFor({ timeout: 30_000 });
  return { page, frame };
}

/** The tool's page shown in the tab's iframe (its URL carries the launch token). */
function toolFrameUrl(page: Page): string {
  const frame = page.frames().find((f) => f.name() === 'tool');
  if (!frame) throw new Error('no tool frame');
  return frame.url();
}

/** Opens the tool's current page at full size and checks it with axe at desktop width and at 390 px. */
async function axeClean(context: BrowserContext, url: string, name: string): Promise<void> {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1100, height: 900 });
  await page.goto(url);
  expect(await seriousViolations(page)).toEqual([]);
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await seriousViolations(page)).toEqual([]);
  await screenshot(page, `${name}-390px`);
  await page.close();
}

const course1 = { key: 'coaching-skills-2026', title: 'Coaching Skills 2026' };
const course2 = { key: 'residency-coach-program', title: 'Residency Coach Program' };

let server: TestServer;

describe('launch contexts side by side in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('when faculty open course 1 in one tab and course 2 in another, then each tab keeps working in its own course', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const a = await launchInTab(context, course1.key, 'faculty');
    await expect(a.frame.locator('.site-header').innerText()).resolves.toContain(course1.title);
    const b = await launchInTab(context, course2.key, 'faculty');
    await expect(b.frame.locator('.site-header').innerText()).resolves.toContain(course2.title);

    // Back in tab A, after tab B's launch: a form post in course 1.
    await a.frame.locator('a', { hasText: 'Assign modules' }).click();
    await a.frame.locator('h1', { hasText: 'Assign modules' }).waitFor();
    await a.frame.locator('button', { hasText: 'Save assignments' }).click();
    await a.frame.locator('text=Module assignments saved.').waitFor();
    await expect(a.frame.locator('.site-header').innerText()).resolves.toContain(course1.title);
    // Tab B still in course 2.
    await b.frame.locator('a', { hasText: 'Rate reflections' }).first().click();
    await b.frame.locator('h1', { hasText: /reflection/i }).waitFor();
    await expect(b.frame.locator('.site-header').innerText()).resolves.toContain(course2.title);
    await screenshot(a.page, 'issue14-two-tabs-course1');
    await screenshot(b.page, 'issue14-two-tabs-course2');
    await axeClean(context, toolFrameUrl(a.page), 'issue14-two-tabs-course1-tool');
    await context.close();
  });

  test('when the browser blocks every cookie for the tool, then a coach tab and a faculty tab side by side work by their launch tokens', async () => {
    const profile = mkdtempSync(path.join(tmpdir(), 'coachlti-nocookies-'));
    mkdirSync(path.join(profile, 'Default'), { recursive: true });
    // Chromium's "Block all cookies" content setting (chrome://settings/cookies).
    writeFileSync(
      path.join(profile, 'Default', 'Preferences'),
      JSON.stringify({ profile: { default_content_setting_values: { cookies: 2 }, cookie_controls_mode: 1 } }),
    );
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1100, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    });
    try {
      const coach = await launchInTab(context, course1.key, 'coach');
      await expect(coach.frame.locator('h1').first().innerText()).resolves.toContain('My training');
      const faculty = await launchInTab(context, course2.key, 'faculty');
      await expect(faculty.frame.locator('.site-header').innerText()).resolves.toContain(course2.title);

      // The coach answers a question in course 1, after the faculty launch in the other tab.
      await coach.frame.locator('main a[href^="/modules/"]').first().click();
      await coach.frame
        .locator('button', { hasText: /Start module|Continue where you left off/ })
        .first()
        .click();
      await coach.frame.locator('h1#section-title').waitFor();
      const question = coach.frame.locator('form[action*="/items/"]').first();
      const option = question.locator('input[type="radio"], input[type="checkbox"]').first();
      if ((await option.count()) > 0) await option.check();
      else await question.locator('textarea').fill('I would ask what the learner wants from our time together.');
      await question.locator('button[type="submit"]').click();
      await coach.frame.locator('text=Your answer').first().waitFor();
      await expect(coach.frame.locator('.site-header').innerText()).resolves.toContain(course1.title);

      // Faculty save in course 2.
      await faculty.frame.locator('a', { hasText: 'Assign modules' }).click();
      await faculty.frame.locator('button', { hasText: 'Save assignments' }).click();
      await faculty.frame.locator('text=Module assignments saved.').waitFor();
      await expect(faculty.frame.locator('.site-header').innerText()).resolves.toContain(course2.title);

      // Nothing was stored as a cookie: the launch tokens alone carried both contexts.
      expect(await context.cookies()).toEqual([]);
      await screenshot(coach.page, 'issue14-no-cookies-coach');
      await screenshot(faculty.page, 'issue14-no-cookies-faculty');
      await axeClean(context, toolFrameUrl(coach.page), 'issue14-no-cookies-coach-tool');
      await axeClean(context, toolFrameUrl(faculty.page), 'issue14-no-cookies-faculty-tool');
    } finally {
      await context.close();
    }
  });
});
