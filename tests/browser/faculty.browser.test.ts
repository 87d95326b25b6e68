import type { Browser as Chromium } from 'playwright-core';
import { seedObservedCoach } from '../support/coach';
import { launchChromium, launchInFrame, screenshot, seriousViolations } from '../support/chromium';
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(240_000);

describe('the faculty workspace in Chromium', () => {
  let server: TestServer;
  let chromium: Chromium;
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    server = await startTestServer();
    chromium = await launchChromium();
    const { coachId, attemptId } = await seedObservedCoach(server, [{ competencyId: 'C2.1', level: 'proficient' }]);
    const base = server.config.toolUrl;
    urls.overview = `${base}/course`;
    urls.drilldown = `${base}/course/coaches/${coachId}`;
    urls.queue = `${base}/course/reflections`;
    urls.rating = `${base}/course/reflections/${attemptId}/M01.R1`;
    urls.observation = `${base}/course/coaches/${coachId}/observations/new`;
  });

  afterAll(async () => {
    await chromium?.close();
    await server?.stop();
  });

  test.each([
    ['desktop', 1100],
    ['700px', 700],
  ] as const)(
    'when faculty open each workspace page inside the LMS frame (%s), then it renders with no serious axe violations',
    async (label, width) => {
      const context = await chromium.newContext({ viewport: { width, height: 900 } });
      const page = await context.newPage();
      const frame = await launchInFrame(page, server.config.toolUrl, 'faculty');
      const problems: string[] = [];
      for (const [name, url] of Object.entries(urls)) {
        const response = await frame.goto(url);
        expect(response?.status()).toBe(200);
        await screenshot(page, `issue11-${name}-${label}`);
        problems.push(...(await seriousViolations(page)).map((v) => `${name}: ${v}`));
      }
      expect(problems).toEqual([]);
      await context.close();
    },
  );

  test('when the observed coach opens their profile in the LMS frame, then the new observation is announced and the page is axe-clean', async () => {
    const context = await chromium.newContext({ viewport: { width: 700, height: 900 } });
    const page = await context.newPage();
    const frame = await launchInFrame(page, server.config.toolUrl, 'coach');
    const response = await frame.goto(`${server.config.toolUrl}/profile`);
    expect(response?.status()).toBe(200);
    await expect(frame.locator('body').innerText()).resolves.toMatch(/1 new observation/i);
    await screenshot(page, 'issue11-coach-feedback-700px');
    expect(await seriousViolations(page)).toEqual([]);
    await context.close();
  });
});
