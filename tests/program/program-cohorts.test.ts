import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Types } from 'mongoose';
import { createAdminAccounts } from '../../src/admin/admin-accounts';
import { platformScope, type PlatformKey } from '../../src/admin/admin-scope';
import { pdfPageCount } from '../../src/program/report-pdf';
import { parseCsv } from '../../src/standards/csv';
import { artifactsDir } from '../support/chromium';
import { Browser, decodeHtml, type PageResponse } from '../support/browser';
import { startTestServer, type TestServer } from '../support/test-server';
import { newAdmin, signIn } from '../admin/support';

jest.setTimeout(180_000);

/**
 * Seeded cohorts with known answers for the program dashboard's per-domain levels, period and cohort comparison,
 * funnel, self–faculty gap, rating turnaround, the one-page report and its PDF, and suppression in page and CSV.
 */
const platform: PlatformKey = { issuer: 'https://lms-cohorts.example.edu', clientId: 'cohorts' };
const otherPlatform: PlatformKey = { issuer: 'https://lms-elsewhere.example.edu', clientId: 'elsewhere' };
const levelOf = (score: number): string => (score >= 85 ? 'expert' : score >= 65 ? 'proficient' : score >= 40 ? 'developing' : 'novice');
const score = (competencyId: string, value: number) => ({ competencyId, status: 'scored', score: value, level: levelOf(value) });
const at = (iso: string) => new Date(iso);
const hours = (from: Date, h: number) => new Date(from.getTime() + h * 3_600_000);

function rowText(page: PageResponse, attribute: string, value: string): string {
  const match = new RegExp(`<tr ${attribute}="${value.replace(/\./g, '\\.')}"[^>]*>([\\s\\S]*?)</tr>`).exec(page.text);
  if (!match?.[1]) throw new Error(`no row ${attribute}=${value}`);
  return decodeHtml(
    match[1]
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  );
}

describe('program cohorts: domains, change, funnel, gap, turnaround, report', () => {
  let server: TestServer;
  let browser: Browser;
  const course = { x: new Types.ObjectId(), y: new Types.ObjectId(), w: new Types.ObjectId(), z: new Types.ObjectId() };
  const cx = Array.from({ length: 6 }, () => new Types.ObjectId());
  const cy = Array.from({ length: 5 }, () => new Types.ObjectId());
  const cw = Array.from({ length: 3 }, () => new Types.ObjectId());
  const q = (params: Record<string, string | string[]>): string => {
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const item of Array.isArray(v) ? v : [v]) s.append(k, item);
    return s.toString();
  };
  const x = course.x.toHexString();
  const y = course.y.toHexString();
  const w = course.w.toHexString();

  beforeAll(async () => {
    server = await startTestServer();
    const db = server.connection.db!;
    const courseDoc = (_id: Types.ObjectId, key: PlatformKey, title: string, first: string, last: string) => ({
      _id,
      ...key,
      deploymentId: 'd',
      contextId: `ctx-${title}`,
      title,
      agsScopes: [],
      createdAt: at(first),
      lastLaunchAt: at(last),
    });
    await db
      .collection('courses')
      .insertMany([
        courseDoc(course.x, platform, 'Spring coaching 2026', '2026-01-10T09:00:00Z', '2026-06-20T09:00:00Z'),
        courseDoc(course.y, platform, 'Autumn coaching 2026', '2026-09-01T09:00:00Z', '2026-12-01T09:00:00Z'),
        courseDoc(course.w, platform, 'Pilot group', '2026-02-01T09:00:00Z', '2026-03-01T09:00:00Z'),
        courseDoc(course.z, otherPlatform, 'Elsewhere coaching', '2026-01-01T09:00:00Z', '2026-12-01T09:00:00Z'),
      ]);
    const member = (courseId: Types.ObjectId, userId: Types.ObjectId) => ({
      courseId,
      userId,
      roles: [],
      view: 'coach',
      isLearner: true,
      createdAt: at('2026-01-10T09:00:00Z'),
      lastLaunchAt: at('2026-01-10T09:00:00Z'),
    });
    await db
      .collection('memberships')
      .insertMany([...cx.map((u) => member(course.x, u)), ...cy.map((u) => member(course.y, u)), ...cw.map((u) => member(course.w, u))]);

    // Current scores. X: C1.1 20 45 60 70 90 100, C1.2 40 50 60 70 80 90 (D1 means 30 47.5 60 70 85 95); C2.1 for 3 coaches.
    const c11 = [20, 45, 60, 70, 90, 100];
    const c12 = [40, 50, 60, 70, 80, 90];
    const snapshot = (
      userId: Types.ObjectId,
      courseId: Types.ObjectId,
      scores: object[],
      computedAt = at('2026-06-01T00:00:00Z'),
      version = 1,
    ) => ({ userId, courseId, computedAt, version, scores });
    await db
      .collection('competency_scores')
      .insertMany([
        ...cx.map((u, i) => snapshot(u, course.x, [score('C1.1', c11[i]!), score('C1.2', c12[i]!), ...(i < 3 ? [score('C2.1', 50)] : [])])),
        ...cy.map((u) => snapshot(u, course.y, [score('C1.1', 80), score('C1.2', 80)])),
        ...cw.map((u) => snapshot(u, course.w, [score('C1.1', 70)])),
      ]);
    // History. February: C1.1 10…60 and C2.1 for all six. May: an early snapshot of coach 0 (99), then the latest (as now).
    await db
      .collection('competency_score_history')
      .insertMany([
        ...cx.map((u, i) => snapshot(u, course.x, [score('C1.1', 10 * (i + 1)), score('C2.1', 50)], at('2026-02-15T12:00:00Z'), 1)),
        snapshot(cx[0]!, course.x, [score('C1.1', 99)], at('2026-05-02T12:00:00Z'), 2),
        ...cx.map((u, i) =>
          snapshot(u, course.x, [score('C1.1', c11[i]!), ...(i < 3 ? [score('C2.1', 50)] : [])], at('2026-05-20T12:00:00Z'), 3),
        ),
      ]);

    // M01: coaches 0–4 completed, coach 5 in progress. R1 rated for 0–4 (self − faculty: +1 +1 0 −1 +2) in March,
    // 2 4 10 24 48 hours after submission; R2 rated for 0–3 (self one level above faculty) in April, 1 hour after.
    const rubric = ['novice', 'developing', 'proficient', 'expert'];
    const r1 = [
      [2, 1],
      [3, 2],
      [1, 1],
      [2, 3],
      [3, 1],
    ];
    const r1Hours = [2, 4, 10, 24, 48];
    const march = at('2026-03-02T08:00:00Z');
    const april = at('2026-04-06T08:00:00Z');
    const reflection = (itemId: string, self: number, faculty: number, submittedAt: Date, ratedAt: Date | undefined) => ({
      itemId,
      kind: 'reflection',
      selected: [],
      selfLevel: rubric[self],
      facultyLevel: rubric[faculty],
      submittedAt,
      ...(ratedAt ? { facultyRatedAt: ratedAt } : {}),
    });
    const attempt = (userId: Types.ObjectId, moduleId: string, status: string, answers: object[]) => ({
      userId,
      courseId: course.x,
      moduleId,
      moduleVersion: 1,
      number: 1,
      status,
      furthestSection: 0,
      startedAt: march,
      ...(status === 'completed' ? { completedAt: march } : {}),
      answers,
    });
    await db.collection('attempts').insertMany([
      ...cx
        .slice(0, 5)
        .map((u, i) =>
          attempt(u, 'M01', 'completed', [
            reflection('M01.R1', r1[i]![0]!, r1[i]![1]!, march, hours(march, r1Hours[i]!)),
            ...(i < 4 ? [reflection('M01.R2', 3, 2, april, hours(april, 1))] : []),
          ]),
        ),
      attempt(cx[5]!, 'M01', 'in_progress', []),
      // M02: coaches 0–3 started, 0–1 completed; R2 (C1.2, C1.3 among others) rated, no gap, for those 4 coaches without times.
      ...cx
        .slice(0, 4)
        .map((u, i) => attempt(u, 'M02', i < 2 ? 'completed' : 'in_progress', [reflection('M02.R2', 2, 2, april, undefined)])),
    ]);

    const admin = newAdmin('cohorts');
    await createAdminAccounts(server.connection).create(admin.email, admin.password, platformScope(platform));
    browser = new Browser();
    const res = await signIn(server, browser, admin.email, admin.password);
    if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const csv = async (table: string, params: Record<string, string | string[]>): Promise<string[][]> => {
    const res = await browser.get(`${server.url}/admin/program/${table}.csv?${q(params)}`);
    expect(res.status).toBe(200);
    return parseCsv(res.text);
  };

  test('when cohort X is shown, then domain D1 has the known levels, median 65, IQR 30.6 (50.6–81.3) and no missing evidence; D2 is suppressed with half the coaches missing', async () => {
    const page = await browser.get(`${server.url}/admin/program?${q({ course: x })}`);
    expect(page.status).toBe(200);
    expect(rowText(page, 'data-domain', 'D1')).toBe(
      'D1 Coaching process and structure 1 (17%) 2 (33%) 1 (17%) 2 (33%) 65.0 30.6 (50.6–81.3) 0%',
    );
    expect(rowText(page, 'data-domain', 'D2')).toBe('D2 Relational skills n < 5 n < 5 n < 5 n < 5 n < 5 n < 5 50%');
    expect(decodeHtml(page.text)).toContain(
      'D1 Coaching process and structure, 6 coaches: Novice 17% (1), Developing 33% (2), Proficient 17% (1), Expert 33% (2)',
    );
    const rows = await csv('domains', { course: x });
    expect(rows[0]).toEqual([
      'domain_id',
      'domain',
      'novice',
      'developing',
      'proficient',
      'expert',
      'median',
      'q1',
      'q3',
      'iqr',
      'insufficient_evidence_share',
    ]);
    expect(rows[1]).toEqual(['D1', 'Coaching process and structure', '1', '2', '1', '2', '65', '50.625', '81.25', '30.625', '0']);
    expect(rows[2]).toEqual(['D2', 'Relational skills', 'n < 5', 'n < 5', 'n < 5', 'n < 5', 'n < 5', 'n < 5', 'n < 5', 'n < 5', '0.5']);
  });

  test('when cohort X is shown, then the funnel counts launched, started and completed per module', async () => {
    const page = await browser.get(`${server.url}/admin/program?${q({ course: x })}`);
    expect(rowText(page, 'data-module', 'M01')).toMatch(/^M01 .* 6 6 5$/);
    expect(rowText(page, 'data-module', 'M02')).toMatch(/^M02 .* 6 4 2$/);
    expect(rowText(page, 'data-module', 'M03')).toMatch(/^M03 .* 6 0 0$/);
    const rows = await csv('funnel', { course: x });
    expect(rows[0]).toEqual(['module_id', 'module', 'launched', 'started', 'completed']);
    expect(rows.find((r) => r[0] === 'M02')!.slice(2)).toEqual(['6', '4', '2']);
  });

  test('when cohort X is shown, then the self–faculty gap is +0.78 for C1.1, +0.33 for C1.2 and suppressed for C1.3 (4 coaches)', async () => {
    const page = await browser.get(`${server.url}/admin/program?${q({ course: x })}`);
    // C1.1 (R1 and R2): (3 + 4) / 9; C1.2 (R1 and M02.R2, no gap there): 3 / 9; C1.3 only in M02.R2 (4 coaches).
    expect(rowText(page, 'data-gap', 'C1.1').split(' ').slice(-3)).toEqual(['5', '9', '+0.78']);
    expect(rowText(page, 'data-gap', 'C1.2').split(' ').slice(-3)).toEqual(['5', '9', '+0.33']);
    expect(rowText(page, 'data-gap', 'C1.3').endsWith('n < 5 n < 5 n < 5')).toBe(true);
    expect(rowText(page, 'data-gap', 'C4.1').endsWith('n < 5 n < 5 n < 5')).toBe(true);
    const rows = await csv('gaps', { course: x });
    expect(rows[0]).toEqual(['competency_id', 'competency', 'coaches', 'rated_reflections', 'mean_self_minus_faculty_levels']);
    expect(rows.find((r) => r[0] === 'C1.1')!.slice(2)).toEqual(['5', '9', '0.7778']);
    expect(rows.find((r) => r[0] === 'C1.2')!.slice(2)).toEqual(['5', '9', '0.3333']);
    expect(rows.find((r) => r[0] === 'C1.3')!.slice(2)).toEqual(['n < 5', 'n < 5', 'n < 5']);
  });

  test('when cohort X is shown, then rating volume and turnaround per month are known, and April (4 coaches) is suppressed', async () => {
    const page = await browser.get(`${server.url}/admin/program?${q({ course: x })}`);
    expect(rowText(page, 'data-period', '2026-03')).toBe('2026-03 5 5 10.0 h 38.4 h');
    expect(rowText(page, 'data-period', '2026-04')).toBe('2026-04 n < 5 n < 5 n < 5 n < 5');
    expect(rowText(page, 'data-period', 'All months')).toBe('All months 5 9 2.0 h 28.8 h');
    const rows = await csv('ratings', { course: x });
    expect(rows).toEqual([
      ['period', 'coaches', 'ratings', 'median_hours', 'p90_hours'],
      ['2026-03', '5', '5', '10', '38.4'],
      ['2026-04', 'n < 5', 'n < 5', 'n < 5', 'n < 5'],
      ['all', '5', '9', '2', '28.8'],
    ]);
  });

  test('when two periods of X are compared, then each side uses the latest scores within it and the change is known; a side under 5 suppresses the change', async () => {
    const params = {
      course: x,
      compare: 'periods',
      firstFrom: '2026-02-01',
      firstTo: '2026-02-28',
      secondFrom: '2026-05-01',
      secondTo: '2026-05-31',
    };
    const page = await browser.get(`${server.url}/admin/program?${q(params)}`);
    expect(page.status).toBe(200);
    // C1.1: 10…60 (median 35, none proficient) → 20 45 60 70 90 100 (median 65, half proficient or expert).
    expect(rowText(page, 'data-compare', 'C1.1')).toBe(
      'C1.1 Establishing the coaching agreement 35.0 65.0 +30.0 0% 50% +50 pts 0% 0% 0 pts',
    );
    // C2.1: six coaches in February, three in May: the May side and every change are suppressed.
    expect(rowText(page, 'data-compare', 'C2.1')).toBe(
      'C2.1 Establishing meaningful coaching relationships 50.0 n < 5 n < 5 0% n < 5 n < 5 0% 50% +50 pts',
    );
    expect(rowText(page, 'data-compare', 'D1')).toMatch(/^D1 Coaching process and structure 35\.0 65\.0 \+30\.0 /);
    const rows = await csv('comparison', params);
    expect(rows[0]!.slice(0, 6)).toEqual(['first', 'second', 'kind', 'id', 'name', 'first_median']);
    const c11 = rows.find((r) => r[3] === 'C1.1')!;
    expect(c11.slice(0, 3)).toEqual(['2026-02-01 – 2026-02-28', '2026-05-01 – 2026-05-31', 'competency']);
    expect(c11.slice(5)).toEqual(['35', '65', '30', '0', '0.5', '0.5', '0', '0', '0']);
    expect(rows.find((r) => r[3] === 'C2.1')!.slice(5, 11)).toEqual(['50', 'n < 5', 'n < 5', '0', 'n < 5', 'n < 5']);
  });

  test('when cohort X is compared with Y, then side by side and the difference are known; with a 3-coach cohort every difference is suppressed', async () => {
    const page = await browser.get(`${server.url}/admin/program?${q({ course: x, compare: 'cohorts', versus: y })}`);
    expect(page.status).toBe(200);
    expect(decodeHtml(page.text)).toContain('Change: Spring coaching 2026 → Autumn coaching 2026');
    expect(rowText(page, 'data-compare', 'C1.1')).toBe(
      'C1.1 Establishing the coaching agreement 65.0 80.0 +15.0 50% 100% +50 pts 0% 0% 0 pts',
    );
    const small = await browser.get(`${server.url}/admin/program?${q({ course: x, compare: 'cohorts', versus: w })}`);
    expect(rowText(small, 'data-compare', 'C1.1')).toBe(
      'C1.1 Establishing the coaching agreement 65.0 n < 5 n < 5 50% n < 5 n < 5 0% n < 5 n < 5',
    );
    const rows = await csv('comparison', { course: x, compare: 'cohorts', versus: w });
    for (const row of rows.slice(1)) {
      expect([row[7], row[10], row[13]]).toEqual(['n < 5', 'n < 5', 'n < 5']);
      expect([row[6], row[9], row[12]]).toEqual(['n < 5', 'n < 5', 'n < 5']);
    }
  });

  test('when the course list is filtered by activity dates, then only courses active in that range are offered', async () => {
    const autumn = await browser.get(`${server.url}/admin/program?${q({ activeFrom: '2026-08-01' })}`);
    expect(autumn.text).toContain('Autumn coaching 2026');
    expect(autumn.text).not.toContain('Spring coaching 2026');
    expect(decodeHtml(autumn.text)).toContain('active 2026-09-01 – 2026-12-01');
    const spring = await browser.get(`${server.url}/admin/program?${q({ activeFrom: '2026-01-01', activeTo: '2026-07-01' })}`);
    expect(spring.text).toContain('Spring coaching 2026');
    expect(spring.text).toContain('Pilot group');
    expect(spring.text).not.toContain('Autumn coaching 2026');
    expect(spring.text).not.toContain('Elsewhere coaching');
  });

  test('when a filter is malformed, then 400 with the field and reason, and a course of another platform as comparison is 404', async () => {
    const cases: [Record<string, string | string[]>, string][] = [
      [{ activeFrom: '2026-13-01' }, 'Active from: is not a calendar date.'],
      [{ activeFrom: 'yesterday' }, 'Active from: must be a date written YYYY-MM-DD.'],
      [{ activeFrom: '2026-05-01', activeTo: '2026-04-01' }, 'Active until: ends before it starts.'],
      [{ course: x, compare: 'periods', firstFrom: '2026-02-01' }, 'First period until: is needed to compare two periods.'],
      [{ course: x, compare: 'cohorts' }, 'Compare with: choose at least one course to compare with.'],
      [{ course: x, compare: 'sideways' }, 'Compare:'],
    ];
    for (const [params, message] of cases) {
      const res = await browser.get(`${server.url}/admin/program?${q(params)}`);
      expect(res.status).toBe(400);
      expect(decodeHtml(res.text)).toContain(message);
    }
    const res = await browser.get(`${server.url}/admin/program?${q({ course: x, compare: 'cohorts', versus: course.z.toHexString() })}`);
    expect(res.status).toBe(404);
  });

  test('when the printable report of X is opened, then it is one standalone page with the domain, competency, funnel and rating tables', async () => {
    const page = await browser.get(`${server.url}/admin/program/report?${q({ course: x })}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('@media print');
    expect(decodeHtml(page.text)).toContain('Program report: Spring coaching 2026');
    expect(rowText(page, 'data-domain', 'D1')).toBe('D1 Coaching process and structure 17% 33% 17% 33% 65.0 30.6 (50.6–81.3) 0%');
    expect(rowText(page, 'data-module', 'M02')).toMatch(/ 6 4 2$/);
    expect(rowText(page, 'data-competency', 'C1.1')).toBe(
      'C1.1 Establishing the coaching agreement 17% 33% 17% 33% 65.0 36.3 (48.8–85.0) 0% +0.78',
    );
    mkdirSync(artifactsDir, { recursive: true });
    writeFileSync(path.join(artifactsDir, 'issue12-program-report.html'), page.text);
    expect(rowText(page, 'data-period', 'All months')).toBe('All months 9 2.0 h 28.8 h');
    expect(decodeHtml(page.text)).toContain(`/admin/program/report.pdf?course=${x}`);
    const empty = await browser.get(`${server.url}/admin/program/report`);
    expect(empty.status).toBe(404);
  });

  test('when the report PDF of X is asked for and Chromium is installed, then a one-page PDF arrives', async () => {
    const res = await browser.getBytes(`${server.url}/admin/program/report.pdf?${q({ course: x })}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    const pdf = res.body;
    mkdirSync(artifactsDir, { recursive: true });
    writeFileSync(path.join(artifactsDir, 'issue12-program-report.pdf'), pdf);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdfPageCount(pdf)).toBe(1);
  });

  test('when Chromium is not available, then the PDF answers 503 and links the printable report', async () => {
    const bare = await startTestServer({ CHROMIUM_PATH: '/nonexistent/chromium' });
    try {
      await bare.connection.db!.collection('courses').insertOne({
        _id: course.x,
        ...platform,
        deploymentId: 'd',
        contextId: 'ctx-nopdf',
        title: 'Spring coaching 2026',
        agsScopes: [],
        createdAt: at('2026-01-10T09:00:00Z'),
        lastLaunchAt: at('2026-01-10T09:00:00Z'),
      });
      const admin = newAdmin('cohorts-nopdf');
      await createAdminAccounts(bare.connection).create(admin.email, admin.password, platformScope(platform));
      const b = new Browser();
      await signIn(bare, b, admin.email, admin.password);
      const res = await b.get(`${bare.url}/admin/program/report.pdf?${q({ course: x })}`);
      expect(res.status).toBe(503);
      expect(decodeHtml(res.text)).toContain('No Chromium is installed on this server (set CHROMIUM_PATH).');
      expect(decodeHtml(res.text)).toContain(`href="/admin/program/report?course=${x}"`);
    } finally {
      await bare.stop();
    }
  });
});
