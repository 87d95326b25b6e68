import type { Browser, Page } from 'playwright-core';
import { answerSection as answerWith, launchChromium, pngSize, screenshot, seriousViolations } from '../support/chromium';

const answerSection = (page: Page) =>
  answerWith(page, 'I would open by asking what matters most to the learner this month, then agree how we will follow up.');
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(180_000);

describe('the coach in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('when a newcomer launches as the coach from /dev/platform, then the learner page shows inside the iframe', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.config.toolUrl}/dev/platform`);
    await page.selectOption('#dp-shape', 'canvas');
    await page.selectOption('#dp-persona', 'coach');
    await page.selectOption('#dp-what', 'training');
    await page.click('button[name="go"][value="launch"]');
    const frame = page.frameLocator('iframe[name="tool"]');
    await frame.locator('h1', { hasText: 'My training' }).waitFor({ timeout: 30_000 });
    await expect(frame.locator('.site-header').innerText()).resolves.toContain('Coach');
    const file = await screenshot(page, 'issue3-coach-launch-in-iframe');
    // A full-page screenshot of this page: as wide as the viewport, at least as tall.
    expect(pngSize(file).width).toBe(1100);
    expect(pngSize(file).height).toBeGreaterThanOrEqual(900);
    await context.close();
  });

  test('when the coach completes a module and opens the profile, then the pages have no serious or critical axe violations', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    // Launch in the iframe to get a session, then use the tool's pages at full size (same site, same cookie).
    await page.goto(`${server.config.toolUrl}/dev/platform/?shape=moodle&persona=coach2&what=training&go=launch`);
    await page.frameLocator('iframe[name="tool"]').locator('h1', { hasText: 'My training' }).waitFor({ timeout: 30_000 });

    await page.goto(`${server.config.toolUrl}/training`);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'issue4-my-training-390px');

    await page.goto(`${server.config.toolUrl}/modules/M01`);
    await page.click('button:has-text("Start module")');
    let sectionsSeen = 0;
    for (;;) {
      await page.locator('h1#section-title').waitFor();
      sectionsSeen += 1;
      if (sectionsSeen === 2) {
        expect(await seriousViolations(page)).toEqual([]);
        await screenshot(page, 'issue4-module-section-390px');
      }
      await answerSection(page);
      const next = page.locator('a[rel="next"]');
      if ((await next.count()) === 0) break;
      await Promise.all([page.waitForLoadState('load'), next.click()]);
    }
    await page.click('button:has-text("Finish module")');
    await page.locator('h1', { hasText: 'finished' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'issue4-module-result');

    await page.click('a:has-text("My competency profile")');
    await page.locator('h1', { hasText: 'My competency profile' }).waitFor();
    expect(await page.locator('svg[role="img"]').count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'issue4-competency-profile-390px');
    await page.setViewportSize({ width: 1100, height: 900 });
    await screenshot(page, 'issue4-competency-profile-wide');
    await context.close();
  });
});
