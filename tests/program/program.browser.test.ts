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
    // Score history in two periods (March: every coach 10 points lower), for the period comparison.
    await db.collection('competency_score_history').insertMany(
      coaches.flatMap((userId, i) =>
        [
          { at: '2026-03-15T12:00:00Z', shift: -10, version: 1 },
          { at: '2026-06-15T12:00:00Z', shift: 0, version: 2 },
        ].map((p) => ({
          userId,
          courseId,
          computedAt: new Date(p.at),
          version: p.version,
          scores: ['C1.1', 'C1.2', 'C2.4'].map((competencyId) => ({
            competencyId,
            score: 30 + i * 9 + p.shift,
            level: levels[i],
          })),
        })),
      ),
    );
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('when a scoped administrator chooses a course, then the charts, their table twin and the suppressed cells pass the accessibility checks', async () => {
    const today = new Date().toISOString().slice(0, 10);
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
      .selectOption({ label: `Coach development 2026 (${platform.issuer}#${platform.clientId}; active ${today} – ${today})` });
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

  test('when a period comparison is chosen with the filters, then the change table, the domain charts and the printable report are axe-clean at desktop and 700 px', async () => {
    const admin = newAdmin('program-browser-filters');
    await createAdminAccounts(server.connection).create(admin.email, admin.password, platformScope(platform));
    for (const [label, width] of [
      ['desktop', 1280],
      ['700px', 700],
    ] as const) {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${server.url}/admin/program`);
      await page.getByLabel('Email address').fill(admin.email);
      await page.getByLabel('Password').fill(admin.password);
      await Promise.all([page.waitForURL('**/admin/program'), page.getByRole('button', { name: 'Sign in' }).click()]);

      await page.getByLabel('Active from').fill('2026-01-01');
      await page.getByLabel('Cohort: one or more LMS courses').selectOption({ index: 0 });
      await page.getByLabel('Two periods of this cohort').check();
      await page.getByLabel('First period from').fill('2026-03-01');
      await page.getByLabel('First period until').fill('2026-03-31');
      await page.getByLabel('Second period from').fill('2026-06-01');
      await page.getByLabel('Second period until').fill('2026-06-30');
      await Promise.all([page.waitForURL(/compare=periods/), page.getByRole('button', { name: 'Show the cohort' }).click()]);
      await expect(page.getByRole('heading', { name: 'Change: 2026-03-01 – 2026-03-31 → 2026-06-01 – 2026-06-30' }).count()).resolves.toBe(
        1,
      );
      // Medians of 30…93 step 9 minus 10, then as now: 61.5 − 10 → 61.5.
      await expect(page.locator('#table-comparison tr[data-compare="C1.1"] td').nth(2).innerText()).resolves.toBe('+10.0');
      await expect(page.getByRole('img', { name: /^D1 Coaching process and structure, 8 coaches:/ }).count()).resolves.toBe(1);
      expect(await seriousViolations(page)).toEqual([]);
      const file = await screenshot(page, `issue12-program-filters-${label}`);
      expect(pngSize(file).width).toBe(width);

      await Promise.all([
        page.waitForURL(/\/admin\/program\/report\?/),
        page.getByRole('link', { name: 'Printable one-page report' }).click(),
      ]);
      await expect(page.locator('#report-domains tr[data-domain="D1"] td').nth(4).innerText()).resolves.toBe('61.5');
      expect(await seriousViolations(page)).toEqual([]);
      await page.emulateMedia({ media: 'print' });
      const report = await screenshot(page, `issue12-program-report-${label}`);
      expect(pngSize(report).width).toBe(width);
      await context.close();
    }
  });
});
