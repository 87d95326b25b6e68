import type { Browser as Chromium, Frame, Page } from 'playwright-core';
import { createAdmin } from '../admin/support';
import { launchChromium, screenshot, seriousViolations } from '../support/chromium';
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(240_000);

/** How far the frame's document is taller than the frame (0: nothing scrolls inside the frame). */
// Browser-side code is passed as strings: this project's TypeScript has no DOM types.
const overflowInside = async (frame: Frame) => Number(await frame.evaluate('document.documentElement.scrollHeight - window.innerHeight'));
const contentHeight = async (frame: Frame) => Number(await frame.evaluate('document.documentElement.getBoundingClientRect().height'));
const toolFrame = `document.querySelector('iframe[name="tool"]')`;

async function frameHeight(page: Page): Promise<number> {
  // The frame's viewport (inside its border).
  return Number(await page.evaluate(`${toolFrame}.clientHeight`));
}

/** Waits until the tool frame's height has settled on its document's height. */
async function settled(page: Page, frame: Frame): Promise<void> {
  for (const until = Date.now() + 10_000; ;) {
    const over = await overflowInside(frame);
    if (over <= 1) return;
    if (Date.now() > until) throw new Error(`the frame still scrolls ${over} px`);
    await page.waitForTimeout(100);
  }
}

/** The cells and controls of a page that end beyond its right edge (cut off or scrolled away). */
async function cutOff(frame: Frame): Promise<string[]> {
  return frame.evaluate<string[]>(`(() => {
    const width = document.documentElement.clientWidth;
    const out = [];
    if (document.documentElement.scrollWidth > width + 1) out.push('page scrolls sideways (' + document.documentElement.scrollWidth + ' > ' + width + ')');
    for (const el of Array.from(document.querySelectorAll('main th, main td, main button, main .table-scroll'))) {
      // A stacked table's header row is visually hidden (its cells are labelled instead).
      const head = el.closest('thead');
      if (head && getComputedStyle(head).position === 'absolute') continue;
      const rect = el.getBoundingClientRect();
      if (rect.width > 0 && rect.right > width + 1)
        out.push(el.tagName.toLowerCase() + ' "' + (el.textContent || '').trim().slice(0, 40) + '" ends at ' + Math.round(rect.right) + ' > ' + width);
      if (el.classList.contains('table-scroll') && el.scrollWidth > el.clientWidth + 1)
        out.push('a table scrolls sideways (' + el.scrollWidth + ' > ' + el.clientWidth + ')');
    }
    return out;
  })()`);
}

describe('inside the LMS frame and at the front door, in Chromium', () => {
  let server: TestServer;
  let chromium: Chromium;
  beforeAll(async () => {
    server = await startTestServer();
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.stop();
  });

  test('when a coach launches in the built-in platform, then the iframe takes the height of each page, so nothing scrolls inside the frame', async () => {
    const context = await chromium.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${server.config.toolUrl}/dev/platform`);
    await page.selectOption('#dp-shape', 'canvas');
    await page.selectOption('#dp-persona', 'coach');
    await page.selectOption('#dp-what', 'training');
    await page.click('button[name="go"][value="launch"]');
    await page.frameLocator('iframe[name="tool"]').locator('.site-header .who').waitFor({ timeout: 30_000 });
    const frame = page.frame({ name: 'tool' })!;
    await settled(page, frame);
    const training = await frameHeight(page);
    const content = await contentHeight(frame);
    expect(Math.abs(training - content)).toBeLessThanOrEqual(2);
    // 40rem less the border (636 px) is the frame's viewport before any message: the page's height replaced it.
    expect(Math.round(training)).not.toBe(636);

    // Another page sets the frame to its own height; a short one shrinks it again.
    await frame.goto(`${server.config.toolUrl}/framework`);
    await page.waitForFunction(`Math.abs(${toolFrame}.clientHeight - ${training}) > 50`);
    await settled(page, frame);
    const framework = await frameHeight(page);
    expect(Math.abs(framework - (await contentHeight(frame)))).toBeLessThanOrEqual(2);
    await frame.goto(`${server.config.toolUrl}/lti/login`);
    await page.waitForFunction(`${toolFrame}.clientHeight < ${framework} - 50`);
    await settled(page, frame);
    const short = await frameHeight(page);
    expect(short).toBeLessThan(framework);
    expect(Math.abs(short - (await contentHeight(frame)))).toBeLessThanOrEqual(2);

    // The platform's page with its warning banner and the resized frame stays axe-clean.
    expect(await seriousViolations(page)).toEqual([]);

    // A message that does not come from the framed tool is ignored.
    const before = await frameHeight(page);
    await page.evaluate(`window.postMessage({ subject: 'lti.frameResize', height: 3000 }, '*')`);
    await page.waitForTimeout(300);
    expect(await frameHeight(page)).toBe(before);
    await screenshot(page, 'issue14-frame-resize');
    await context.close();
  });

  test('when an administrator opens the admin pages in a 700 px LMS frame, then no column is cut, and the pages are axe-clean and uncut at 1280, 700 and 390 px', async () => {
    const admin = await createAdmin(server, 'frame700');
    const context = await chromium.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/admin/login`);
    await page.getByLabel('Email address').fill(admin.email);
    await page.getByLabel('Password').fill(admin.password);
    await Promise.all([page.waitForURL('**/admin'), page.getByRole('button', { name: 'Sign in' }).click()]);
    // Both test platforms are registered: the overview lists them, with their long issuer URLs.
    await page.locator('table.platform-overview tbody tr').nth(1).waitFor();

    // The built-in platform's page hosts a 700 px frame, as Canvas does for a course-navigation tool.
    await page.goto(`${server.url}/dev/platform`);
    for (const path of ['/admin', '/admin/platforms', '/admin/audit']) {
      await page.evaluate(`(() => {
        document.querySelector('#frame700')?.remove();
        const iframe = document.createElement('iframe');
        iframe.id = 'frame700';
        iframe.name = 'frame700';
        iframe.title = 'Administration in a 700 px frame';
        iframe.style.width = '700px';
        iframe.style.height = '900px';
        iframe.src = ${JSON.stringify(`${server.url}${path}`)};
        document.body.prepend(iframe);
      })()`);
      const frameEl = page.locator('#frame700');
      await page.frameLocator('#frame700').locator('h1').waitFor();
      const frame = (await frameEl.elementHandle())!;
      const inner = (await frame.contentFrame())!;
      expect(Number(await inner.evaluate('document.documentElement.clientWidth'))).toBeLessThanOrEqual(700);
      expect({ path, cut: await cutOff(inner) }).toEqual({ path, cut: [] });
      if (path !== '/admin/audit') {
        // The status of every platform is on screen, labelled.
        const statuses = await inner.evaluate<string[]>(
          `Array.from(document.querySelectorAll('td.status-cell')).map((c) => getComputedStyle(c, '::before').content + ' ' + c.innerText)`,
        );
        expect(statuses.length).toBeGreaterThanOrEqual(2);
        for (const s of statuses) expect(s).toMatch(/^"Status: " (Active|Inactive|Awaiting activation)$/);
      }
    }
    const own = await context.newPage();
    for (const width of [1280, 700, 390]) {
      await own.setViewportSize({ width, height: 900 });
      for (const path of ['/admin', '/admin/platforms', '/admin/audit']) {
        await own.goto(`${server.url}${path}`);
        expect({ path, width, violations: await seriousViolations(own) }).toEqual({ path, width, violations: [] });
        expect({ path, width, cut: await cutOff(own.mainFrame()) }).toEqual({ path, width, cut: [] });
      }
    }
    await own.setViewportSize({ width: 700, height: 900 });
    await own.goto(`${server.url}/admin`);
    await screenshot(own, 'issue14-admin-700');
    await context.close();
  });

  test('when the home page, the framework and the entry-point pages are opened at desktop width and at 390 px, then they are axe-clean and nothing overflows', async () => {
    for (const width of [1280, 390]) {
      const context = await chromium.newContext({ viewport: { width, height: 900 } });
      const page = await context.newPage();
      for (const path of ['/', '/framework', '/lti/login', '/lti/launch']) {
        const res = await page.goto(`${server.url}${path}`);
        expect(res).not.toBeNull();
        expect(await page.title()).toMatch(/CoachLTI$/);
        expect({ path, width, violations: await seriousViolations(page) }).toEqual({ path, width, violations: [] });
        const sideways = Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
        expect({ path, width, sideways }).toEqual({ path, width, sideways: 0 });
      }
      await page.goto(`${server.url}/`);
      expect(await page.title()).toBe('CoachLTI');
      // The icon the layout links is served.
      const icon = Number(await page.evaluate(`fetch(document.querySelector('link[rel="icon"]').href).then((r) => r.status)`));
      expect(icon).toBe(200);
      await screenshot(page, `issue14-home-${width}`);
      await context.close();
    }
  });
});
