import type { Browser } from 'playwright-core';
import { launchChromium, screenshot, seriousViolations } from '../support/chromium';
import { startTestServer, type TestServer } from '../support/test-server';
import { createAdmin } from './support';

jest.setTimeout(180_000);

describe('the Platforms page in Chromium', () => {
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

  test('when an admin opens Platforms from the nav and creates a registration link, then both pages pass the accessibility checks and the link is shown', async () => {
    const admin = await createAdmin(server, 'platforms-chromium');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/admin`);
    await page.getByLabel('Email address').fill(admin.email);
    await page.getByLabel('Password').fill(admin.password);
    await Promise.all([page.waitForURL('**/admin'), page.getByRole('button', { name: 'Sign in' }).click()]);
    await Promise.all([page.waitForURL('**/admin/platforms'), page.getByRole('link', { name: 'Platforms' }).click()]);
    await expect(page.locator('table.platforms tbody tr').count()).resolves.toBe(2);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'issue8-admin-platforms');

    await page.getByLabel('Note (for whom)').fill('Moodle of the school of medicine');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Create registration link' }).click()]);
    const link = await page.getByRole('textbox', { name: 'Registration link' }).inputValue();
    expect(link).toMatch(new RegExp(`^${server.config.toolUrl}/lti/register\\?invite=[A-Za-z0-9_-]{43}$`));
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'issue8-admin-invite-created');
    await context.close();
  });
});
