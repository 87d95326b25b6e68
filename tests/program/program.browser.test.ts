import { Types } from 'mongoose';
import type { Browser } from 'playwright-core';
import { createAdminAccounts } from '../../src/admin/admin-accounts';
import { platformScope } from '../../src/admin/admin-scope';
import { launchChromium, pngSize, screenshot, seriousViolations } from '../support/chromium';
import { startTestServer, testBcryptCost, type TestServer } from '../support/test-server';
import { newAdmin } from '../admin/support';

jest.setTimeout(180_000);

describe('the program dashboard in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  const platform = { issuer: 'https://lms-browser.example.edu', clientId: 'program-browser' };
  const courseId = new Types.ObjectId();

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
    const db = server.connection.db!;
    const now = new Date();
    await db.collection('courses').insertOne({
      _id: courseId,
      ...platform,
      deploymentId: 'd',
      contextId: 'prog-browser',
      title: 'Coach development 2026',
      agsScopes: [],
      createdAt: now,
      lastLaunchAt: now,
    });
    const coaches = Array.from({ length: 8 }, () => new Types.ObjectId());
    await db
      .collection('memberships')
      .insertMany(
        coaches.map((userId) => ({ courseId, userId, roles: [], view: 'coach', isLearner: true, createdAt: now, lastLaunchAt: now })),
      );
    const levels = ['novice', 'developing', 'proficient', 'proficient', 'expert', 'expert', 'developing', 'proficient'];
    await db.collection('competency_scores').insertMany(
      coaches.map((userId, i) => ({
        userId,
        courseId,
        computedAt: now,
        version: 1,
        scores: ['C1.1', 'C1.2', 'C2.4'].map((competencyId) => ({
          competencyId,
          score: 30 + i * 9,
          level: levels[i],
          modules: ['M01'],
          objectives: 1,
          pendingFacultyRating: false,
        })),
      })),
    );
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('when a scoped administrator chooses a course, then the charts, their table twin and the suppressed cells pass the accessibility checks', async () => {
    const admin = newAdmin('program-browser');
    await createAdminAccounts(server.connection, { cost: testBcryptCost }).create(admin.email, admin.password, platformScope(platform));
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/admin/program`);
    await page.getByLabel('Email address').fill(admin.email);
    await page.getByLabel('Password').fill(admin.password);
    await Promise.all([page.waitForURL('**/admin/program'), page.getByRole('button', { name: 'Sign in' }).click()]);
    expect(await seriousViolations(page)).toEqual([]);

    await page
      .getByLabel('Cohort: one or more LMS courses')
      .selectOption({ label: `Coach development 2026 (${platform.issuer}#${platform.clientId})` });
    await Promise.all([page.waitForURL(/course=/), page.getByRole('button', { name: 'Show the cohort' }).click()]);
    const chart = page.getByRole('img', { name: /^C1\.1 Establishing the coaching agreement, 8 coaches: Novice 13% \(1\)/ });
    await expect(chart.count()).resolves.toBe(1);
    await expect(page.locator('#table-competencies tr[data-competency="C1.1"] td').first().innerText()).resolves.toBe('1 (13%)');
    await expect(page.locator('#table-competencies tr[data-competency="C3.1"] td').first().innerText()).resolves.toBe('n < 5');
    expect(await seriousViolations(page)).toEqual([]);
    const file = await screenshot(page, 'issue12-program-dashboard');
    // A full-page screenshot of this page: as wide as the viewport, at least as tall.
    expect(pngSize(file).width).toBe(1280);
    expect(pngSize(file).height).toBeGreaterThanOrEqual(900);
    await context.close();
  });
});
