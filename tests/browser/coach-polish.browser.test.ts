import type { Browser, Frame, Page } from 'playwright-core';
import { answerSection as answerWith, launchChromium, screenshot, seriousViolations } from '../support/chromium';

const answerSection = (page: Page) => answerWith(page, 'I would ask what the learner wants from today, then agree a next step.');
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(300_000);

/** How far the page is wider than its viewport (0 or less: no horizontal scrolling). */
const overflow = (page: Page | Frame): Promise<number> =>
  page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');

describe('coach pages in Chromium: inline errors, counter, long text, result summary, profile', () => {
  let server: TestServer;
  let chromium: Browser;
  beforeAll(async () => {
    server = await startTestServer();
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.stop();
  });

  test.each([
    ['desktop', 1100, 'canvas', 'coach'],
    ['390px', 390, 'moodle', 'coach2'],
  ] as const)(
    'when a coach (%s) submits refused answers, types past the limit, saves a long unbroken word and finishes, then errors are inline, nothing overflows and every page is axe-clean',
    async (label, width, shape, persona) => {
      const context = await chromium.newContext({ viewport: { width, height: 900 } });
      const page = await context.newPage();
      const base = server.config.toolUrl;
      await page.goto(`${base}/dev/platform/?shape=${shape}&persona=${persona}&what=training&go=launch`);
      await page.frameLocator('iframe[name="tool"]').locator('h1', { hasText: 'My training' }).waitFor({ timeout: 30_000 });
      const name = (await page.frameLocator('iframe[name="tool"]').locator('.site-header .who').innerText()).split(' · ')[0]!;

      await page.goto(`${base}/modules/M03`);
      await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Start module")')]);
      const problems: string[] = [];
      const check = async (step: string) => {
        problems.push(...(await seriousViolations(page)).map((v) => `${step}: ${v}`));
        const wider = await overflow(page);
        if (wider > 0) problems.push(`${step}: the page is ${wider}px wider than the viewport`);
        await screenshot(page, `issue14-${step}-${label}`);
      };

      let mcqRefused = false;
      let reflectionChecked = false;
      for (let guard = 0; guard < 30; guard += 1) {
        await page.locator('h1#section-title').waitFor();
        const mcq = page.locator('form[action*="/items/"]:not(:has(textarea))').first();
        if (!mcqRefused && (await mcq.count()) > 0) {
          // Nothing chosen: the same section comes back with a linked summary and the group marked invalid.
          const [response] = await Promise.all([page.waitForNavigation(), mcq.locator('button[type="submit"]').click()]);
          expect(response?.status()).toBe(400);
          await expect(page.locator('.error-summary[role="alert"]').innerText()).resolves.toContain('Choose an answer before submitting.');
          expect(await page.locator('fieldset[aria-invalid="true"]').count()).toBe(1);
          await expect(page.locator('.site-header .who').innerText()).resolves.toContain(name);
          await page.locator('.error-summary a').first().click();
          expect(await page.evaluate<string | null>("document.activeElement && document.activeElement.getAttribute('type')")).toMatch(
            /radio|checkbox/,
          );
          await check('answer-refused');
          mcqRefused = true;
        }
        const reflection = page.locator('form[action*="/items/"]:has(textarea)').first();
        if (!reflectionChecked && (await reflection.count()) > 0) {
          const area = reflection.locator('textarea');
          // Whitespace only: refused on the page, the chosen rating kept.
          await area.fill('    ');
          await reflection.locator('input[name="selfLevel"]').nth(1).check();
          const [blank] = await Promise.all([page.waitForNavigation(), reflection.locator('button[type="submit"]').click()]);
          expect(blank?.status()).toBe(400);
          await expect(page.locator('.error-summary').innerText()).resolves.toContain('Write your reflection before submitting.');
          expect(await page.locator('input[name="selfLevel"]:checked').getAttribute('value')).toBe('developing');
          await check('reflection-refused');

          // Past the limit: the counter says so, nothing is cut, and the server refuses it inline with the text kept.
          const area2 = page.locator('form[action*="/items/"]:has(textarea) textarea').first();
          const tooLong = 'w'.repeat(5010);
          await area2.fill(tooLong);
          await expect(page.locator('.char-count').first().innerText()).resolves.toBe('5,010 of 5,000 characters: 10 too many');
          expect(await page.locator('.char-count.is-over').count()).toBe(1);
          expect((await area2.inputValue()).length).toBe(5010);
          await check('reflection-counter-over');
          await page.locator('form[action*="/items/"]:has(textarea) input[name="selfLevel"]').first().check();
          const [long] = await Promise.all([
            page.waitForNavigation(),
            page.locator('form[action*="/items/"]:has(textarea) button[type="submit"]').first().click(),
          ]);
          expect(long?.status()).toBe(400);
          await expect(page.locator('.error-summary').innerText()).resolves.toContain('Shorten it by 10 characters.');
          expect((await page.locator('form[action*="/items/"]:has(textarea) textarea').first().inputValue()).length).toBe(5010);
          await check('reflection-too-long');

          // A long unbroken word within the limit is saved and shown without widening the page.
          const word = `https://example.org/${'x'.repeat(2500)}`;
          const area3 = page.locator('form[action*="/items/"]:has(textarea) textarea').first();
          await area3.fill(word);
          await expect(page.locator('.char-count').first().innerText()).resolves.toBe(
            `${word.length.toLocaleString('en-US')} of 5,000 characters`,
          );
          await page.locator('form[action*="/items/"]:has(textarea) input[name="selfLevel"]').first().check();
          await Promise.all([
            page.waitForLoadState('load'),
            page.locator('form[action*="/items/"]:has(textarea) button[type="submit"]').first().click(),
          ]);
          await expect(page.locator('blockquote.reflection-text').first().innerText()).resolves.toBe(word);
          await check('long-word');
          reflectionChecked = true;
        }
        await answerSection(page);
        const next = page.locator('a[rel="next"]');
        if ((await next.count()) > 0) {
          await Promise.all([page.waitForLoadState('load'), next.click()]);
          continue;
        }
        await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Finish module")')]);
        break;
      }
      expect(mcqRefused && reflectionChecked).toBe(true);

      await page.locator('h1#result-title').waitFor();
      await expect(page.locator('.result-summary').innerText()).resolves.toMatch(/Module score: \d{1,3} \/ 100/);
      await expect(page.locator('.result-summary').innerText()).resolves.toMatch(/\d+ of \d+ questions answered correctly/);
      expect(await page.locator('.answer-list li').count()).toBeGreaterThan(3);
      await check('result-summary');

      await page.goto(`${base}/profile`);
      await expect(page.locator('time').first().innerText()).resolves.toMatch(/^\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC$/);
      await check('profile');
      expect(problems).toEqual([]);
      await context.close();
    },
  );

  test.each([
    ['desktop', 1100],
    ['390px', 390],
  ] as const)(
    'when faculty send "Add selected" with nothing ticked (%s), then the list comes back with the error inline, axe-clean',
    async (label, width) => {
      const context = await chromium.newContext({ viewport: { width, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${server.config.toolUrl}/dev/platform/?shape=canvas&persona=faculty&what=deeplink&go=launch`);
      const frame = page.frameLocator('iframe[name="tool"]');
      await frame.locator('h1#dl-title').waitFor({ timeout: 30_000 });
      await frame.locator('button[value="add"]').click();
      await frame.locator('.error-summary[role="alert"]').waitFor();
      await expect(frame.locator('.error-summary').innerText()).resolves.toContain('Select at least one module, or choose Cancel.');
      expect(await frame.locator('fieldset[aria-invalid="true"]').count()).toBe(1);
      await expect(frame.locator('.site-header .who').innerText()).resolves.toMatch(/\S/);
      const tool = page.frame({ name: 'tool' })!;
      expect(await overflow(tool)).toBeLessThanOrEqual(0);
      await screenshot(page, `issue14-deep-linking-refused-${label}`);
      expect(await seriousViolations(page)).toEqual([]);
      await context.close();
    },
  );
});
