import type { Browser } from 'playwright-core';
import { launchChromium, pngSize, screenshot, seriousViolations } from '../support/chromium';
import { startTestServer, type TestServer } from '../support/test-server';
import { createAdmin, finishModule, learnersOf, settled } from './support';

jest.setTimeout(180_000);

describe('the administrator in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startTestServer({}, { tuning: { worker: { retryHorizonMs: 1, baseBackoffMs: 10, idlePollMs: 20 } } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    server?.devPlatform?.faults.clear();
    await browser?.close();
    await server?.stop();
  });

  test('when an admin signs in, filters the ledger to failed entries and retries one, then it is sent and the audit log shows it', async () => {
    const admin = await createAdmin(server, 'chromium');
    const course = learnersOf('canvas', 0);
    server.devPlatform!.faults.set({ seed: 1, rate500: 1, appliesTo: ['scores'] });
    const { userId } = await finishModule(server, 'canvas', course.learners[2]!.userId, course.contextId, 'M01');
    const failed = await settled(server, userId, ['failed']);
    server.devPlatform!.faults.clear();

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/admin/passback`);
    await page.locator('h1', { hasText: 'Administrator sign-in' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByLabel('Email address').fill(admin.email);
    await page.getByLabel('Password').fill(admin.password);
    await Promise.all([page.waitForURL('**/admin/passback'), page.getByRole('button', { name: 'Sign in' }).click()]);

    await page.getByLabel('Status', { exact: true }).selectOption('failed');
    await page.getByLabel('Learner', { exact: true }).fill(userId);
    await Promise.all([page.waitForURL(/status=failed/), page.getByRole('button', { name: 'Apply filter' }).click()]);
    const rows = page.locator('table.ledger tbody tr');
    await expect(rows.count()).resolves.toBe(failed.length);

    const target = failed[0]!;
    await page.locator(`#sel-${target.id}`).check();
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Retry selected' }).click()]);
    await page.locator('.notice', { hasText: '1 entry was queued again.' }).waitFor();
    await expect(page.locator(`#entry-${target.id}`).count()).resolves.toBe(0);

    const until = Date.now() + 30_000;
    while ((await server.outbox.list({ userId })).find((e) => e.id === target.id)?.status !== 'sent') {
      if (Date.now() > until) throw new Error('the retried entry was not sent');
      await new Promise((r) => setTimeout(r, 50));
    }
    await page.getByLabel('Status', { exact: true }).selectOption('');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Apply filter' }).click()]);
    const sentRow = page.locator(`#entry-${target.id}`);
    await expect(sentRow.locator('.state').innerText()).resolves.toBe('Sent');
    await sentRow.locator('summary').click();
    await expect(sentRow.locator('.attempt-list li').count()).resolves.toBe(2);
    await page.locator('table.ledger tbody tr').nth(1).locator('summary').click();

    expect(await seriousViolations(page)).toEqual([]);
    const file = await screenshot(page, 'issue5-admin-ledger');
    // A full-page screenshot of this page: as wide as the viewport, at least as tall.
    expect(pngSize(file).width).toBe(1280);
    expect(pngSize(file).height).toBeGreaterThanOrEqual(900);

    await Promise.all([page.waitForURL('**/admin/audit'), page.getByRole('link', { name: 'Audit log' }).click()]);
    const audit = page.locator('table.audit tbody');
    await expect(audit.locator('tr').first().innerText()).resolves.toContain('Retried selected entries');
    await expect(audit.innerText()).resolves.toContain('Signed in');
    await expect(audit.innerText()).resolves.toContain(admin.email);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'issue5-admin-audit');

    await page.goto(`${server.url}/admin/passback/courses/${target.courseId}/reconcile?all=1`);
    await page.locator('h1', { hasText: 'Reconcile' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'issue5-admin-reconcile');
    await context.close();
  });
});
