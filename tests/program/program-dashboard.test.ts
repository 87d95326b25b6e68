import { Types } from 'mongoose';
import { createAdminAccounts } from '../../src/admin/admin-accounts';
import { globalScope, platformScope, type AdminScope, type PlatformKey } from '../../src/admin/admin-scope';
import { competencyIdsOf, loadFrameworkFile } from '../../src/competencies/framework-schema';
import { loadModules } from '../../src/curriculum/load-content';
import { parseCsv } from '../../src/standards/csv';
import { Browser, decodeHtml, type PageResponse } from '../support/browser';
import { startTestServer, testBcryptCost, type TestServer } from '../support/test-server';
import { newAdmin, signIn } from '../admin/support';

jest.setTimeout(120_000);

const platformA: PlatformKey = { issuer: 'https://lms-a.example.edu', clientId: 'program-a' };
const platformB: PlatformKey = { issuer: 'https://lms-b.example.edu', clientId: 'program-b' };
const allModules = loadModules(competencyIdsOf(loadFrameworkFile()));
const m01 = allModules.find((m) => m.id === 'M01')!;
const mcqs = m01.items.flatMap((i) => (i.kind === 'mcq' ? [i] : []));
const reflection = m01.items.find((i) => i.kind === 'reflection')!;
const levelOf = (score: number): string => (score >= 85 ? 'expert' : score >= 65 ? 'proficient' : score >= 40 ? 'developing' : 'novice');

/** The text of a table row (tags stripped, whitespace collapsed). */
function rowText(page: PageResponse, attribute: string, value: string): string {
  const match = new RegExp(`<tr ${attribute}="${value.replace('.', '\\.')}">([\\s\\S]*?)</tr>`).exec(page.text);
  if (!match?.[1]) throw new Error(`no row ${attribute}=${value}`);
  return decodeHtml(
    match[1]
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  );
}

describe('program dashboard', () => {
  let server: TestServer;
  const course = { a1: new Types.ObjectId(), a2: new Types.ObjectId(), b: new Types.ObjectId() };
  const coaches = Array.from({ length: 9 }, () => new Types.ObjectId());

  async function adminBrowser(scope: AdminScope): Promise<Browser> {
    const admin = newAdmin('program');
    await createAdminAccounts(server.connection, { cost: testBcryptCost }).create(admin.email, admin.password, scope);
    const browser = new Browser();
    const res = await signIn(server, browser, admin.email, admin.password);
    if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
    return browser;
  }

  beforeAll(async () => {
    server = await startTestServer();
    const db = server.connection.db!;
    const now = new Date();
    await db.collection('courses').insertMany([
      {
        _id: course.a1,
        ...platformA,
        deploymentId: 'd',
        contextId: 'prog-a1',
        title: 'Coaching A1',
        agsScopes: [],
        createdAt: now,
        lastLaunchAt: now,
      },
      {
        _id: course.a2,
        ...platformA,
        deploymentId: 'd',
        contextId: 'prog-a2',
        title: 'Coaching A2',
        agsScopes: [],
        createdAt: now,
        lastLaunchAt: now,
      },
      {
        _id: course.b,
        ...platformB,
        deploymentId: 'd',
        contextId: 'prog-b',
        title: 'Coaching B',
        agsScopes: [],
        createdAt: now,
        lastLaunchAt: now,
      },
    ]);
    // A1: coaches 0–6 (7 learners); A2: coaches 6–8 (coach 6 in both); B: coaches 0–5.
    const member = (courseId: Types.ObjectId, userId: Types.ObjectId) => ({
      courseId,
      userId,
      roles: [],
      view: 'coach',
      isLearner: true,
      createdAt: now,
      lastLaunchAt: now,
    });
    await db
      .collection('memberships')
      .insertMany([
        ...coaches.slice(0, 7).map((u) => member(course.a1, u)),
        ...coaches.slice(6, 9).map((u) => member(course.a2, u)),
        ...coaches.slice(0, 6).map((u) => member(course.b, u)),
      ]);
    // C1.1 for coaches 0–5 in A1: 30, 50, 70, 70, 90, 95; C2.1 only for coaches 0–2. Coach 6 has no scores in A1.
    const c11 = [30, 50, 70, 70, 90, 95];
    await db.collection('competency_scores').insertMany([
      ...c11.map((score, i) => ({
        userId: coaches[i],
        courseId: course.a1,
        computedAt: now,
        version: 1,
        scores: [
          { competencyId: 'C1.1', score, level: levelOf(score), modules: ['M01'], objectives: 1, pendingFacultyRating: false },
          ...(i < 3
            ? [{ competencyId: 'C2.1', score: 60, level: 'developing', modules: ['M01'], objectives: 1, pendingFacultyRating: false }]
            : []),
        ],
      })),
      // Coach 6 in A2 and platform B scores must not leak into A1's numbers.
      {
        userId: coaches[6],
        courseId: course.a2,
        computedAt: now,
        version: 1,
        scores: [{ competencyId: 'C1.1', score: 10, level: 'novice', modules: [], objectives: 1, pendingFacultyRating: false }],
      },
      {
        userId: coaches[0],
        courseId: course.b,
        computedAt: now,
        version: 1,
        scores: [{ competencyId: 'C1.1', score: 5, level: 'novice', modules: [], objectives: 1, pendingFacultyRating: false }],
      },
    ]);
    // M01 completed by coaches 0–4 in A1: the first question right for coaches 0–3, wrong for coach 4; every other
    // question right for all. Reflection self = faculty rating. Coach 5 started M01 but did not finish.
    const levels = ['novice', 'developing', 'proficient', 'expert', 'expert'];
    const right = (item: (typeof mcqs)[number]) => item.options.filter((o) => o.correct).map((o) => o.id);
    const wrong = (item: (typeof mcqs)[number]) => [item.options.find((o) => !o.correct)!.id];
    const attempt = (i: number, status: string) => ({
      userId: coaches[i],
      courseId: course.a1,
      moduleId: 'M01',
      moduleVersion: m01.version,
      number: 1,
      status,
      furthestSection: 0,
      startedAt: now,
      ...(status === 'completed' ? { completedAt: now } : {}),
      answers:
        status === 'completed'
          ? [
              ...mcqs.map((item, j) => ({
                itemId: item.id,
                kind: 'mcq',
                selected: j === 0 && i === 4 ? wrong(item) : right(item),
                submittedAt: now,
              })),
              {
                itemId: reflection.id,
                kind: 'reflection',
                selected: [],
                text: 'x',
                selfLevel: levels[i],
                facultyLevel: levels[i],
                submittedAt: now,
              },
            ]
          : [],
    });
    await db.collection('attempts').insertMany([...[0, 1, 2, 3, 4].map((i) => attempt(i, 'completed')), attempt(5, 'in_progress')]);
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when an administrator scoped to platform A opens the dashboard, then only platform A courses are offered', async () => {
    const browser = await adminBrowser(platformScope(platformA));
    const page = await browser.get(`${server.url}/admin/program`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Coaching A1');
    expect(page.text).toContain('Coaching A2');
    expect(page.text).not.toContain('Coaching B');
    expect(page.text).toContain('<a href="/admin/program" aria-current="page">Program</a>');
  });

  test('when cohort A1 is shown, then C1.1 has the known distribution, median 70, IQR 30 (55–85) and 1 of 7 coaches without evidence', async () => {
    const browser = await adminBrowser(platformScope(platformA));
    const page = await browser.get(`${server.url}/admin/program?course=${course.a1.toHexString()}`);
    expect(page.status).toBe(200);
    expect(rowText(page, 'data-competency', 'C1.1')).toBe(
      'C1.1 Establishing the coaching agreement 1 (17%) 1 (17%) 2 (33%) 2 (33%) 70.0 30.0 (55.0–85.0) 14%',
    );
    expect(rowText(page, 'data-competency', 'C2.1')).toBe(
      'C2.1 Establishing meaningful coaching relationships n < 5 n < 5 n < 5 n < 5 n < 5 n < 5 57%',
    );
    expect(page.text).toContain('aria-labelledby="chart-C1-1-title"');
    expect(decodeHtml(page.text)).toContain(
      'C1.1 Establishing the coaching agreement, 6 coaches: Novice 17% (1), Developing 17% (1), Proficient 33% (2), Expert 33% (2)',
    );
    expect(rowText(page, 'data-module', 'M01').startsWith('M01')).toBe(true);
  });

  test('when cohort A1 is shown, then the funnel, item difficulty, flags, KR-20 and self–faculty kappa match the seeded answers', async () => {
    const browser = await adminBrowser(platformScope(platformA));
    const page = await browser.get(`${server.url}/admin/program?course=${course.a1.toHexString()}`);
    const funnel = /<table class="program" id="table-funnel">([\s\S]*?)<\/table>/.exec(page.text)![1]!;
    expect(decodeHtml(funnel.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' '))).toContain(`M01 ${m01.title} 7 6 5`);
    expect(rowText(page, 'data-item', mcqs[0]!.id)).toMatch(new RegExp(`^${mcqs[0]!.id} 0\\.80 `));
    expect(rowText(page, 'data-item', mcqs[1]!.id)).toContain('too easy (p > 0.9)');
    const modules = /<table class="program" id="table-modules">([\s\S]*?)<\/table>/.exec(page.text)![1]!;
    // Only the first question varies, so the total variance is its p·q and KR-20 = k/(k−1)·(1 − 1) = 0.
    expect(decodeHtml(modules.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' '))).toContain(`M01 ${m01.title} 5 0.00 0.00 1.00 (n = 5)`);
  });

  test('when A1 and A2 are combined, then a coach in both counts once and the cohort has 9 coaches', async () => {
    const browser = await adminBrowser(platformScope(platformA));
    const page = await browser.get(`${server.url}/admin/program?course=${course.a1.toHexString()}&course=${course.a2.toHexString()}`);
    expect(page.text).toMatch(/<span data-coaches>9<\/span> coaches/);
    // C1.1 now has coach 6's A2 score (10, novice) as well: 10, 30, 50, 70, 70, 90, 95 → Q1 40, Q3 80; 7 scored of 9.
    expect(rowText(page, 'data-competency', 'C1.1')).toBe(
      'C1.1 Establishing the coaching agreement 2 (29%) 1 (14%) 2 (29%) 2 (29%) 70.0 40.0 (40.0–80.0) 22%',
    );
  });

  test('when a cohort has fewer than 5 coaches, then every aggregate on the page and in every CSV reads "n < 5"', async () => {
    const browser = await adminBrowser(platformScope(platformA));
    const page = await browser.get(`${server.url}/admin/program?course=${course.a2.toHexString()}`);
    expect(page.text).toMatch(/<span data-coaches>n &lt; 5<\/span> coaches/);
    expect(rowText(page, 'data-competency', 'C1.1')).toBe(
      'C1.1 Establishing the coaching agreement n < 5 n < 5 n < 5 n < 5 n < 5 n < 5 n < 5',
    );
    expect(page.text).not.toContain('<svg');
    expect(rowText(page, 'data-domain', 'D1')).toBe('D1 Coaching process and structure n < 5 n < 5 n < 5 n < 5 n < 5 n < 5 n < 5');
    expect(rowText(page, 'data-gap', 'C1.1')).toBe('C1.1 Establishing the coaching agreement n < 5 n < 5 n < 5');
    const expectedRows: Record<string, number> = { competencies: 13, domains: 4, gaps: 13, ratings: 1 };
    for (const table of ['competencies', 'domains', 'funnel', 'gaps', 'ratings', 'items', 'modules']) {
      const res = await browser.get(`${server.url}/admin/program/${table}.csv?course=${course.a2.toHexString()}`);
      expect(res.status).toBe(200);
      const rows = parseCsv(res.text).slice(1);
      expect(rows).toHaveLength(expectedRows[table] ?? allModules.length);
      for (const row of rows)
        expect(row.slice(table === 'competencies' ? 3 : table === 'ratings' ? 1 : 2)).toEqual(expect.arrayContaining(['n < 5']));
      for (const row of rows) expect(row.filter((c) => /^\d/.test(c))).toEqual([]);
    }
  });

  test('when the competencies CSV of A1 is downloaded, then it has the same numbers and suppression as the page', async () => {
    const browser = await adminBrowser(platformScope(platformA));
    const res = await browser.get(`${server.url}/admin/program/competencies.csv?course=${course.a1.toHexString()}`);
    expect(res.status).toBe(200);
    const rows = parseCsv(res.text);
    expect(rows[0]).toEqual([
      'competency_id',
      'competency',
      'domain_id',
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
    expect(rows.find((r) => r[0] === 'C1.1')).toEqual([
      'C1.1',
      'Establishing the coaching agreement',
      'D1',
      '1',
      '1',
      '2',
      '2',
      '70',
      '55',
      '85',
      '30',
      '0.1429',
    ]);
    expect(rows.find((r) => r[0] === 'C2.1')?.slice(3)).toEqual([
      'n < 5',
      'n < 5',
      'n < 5',
      'n < 5',
      'n < 5',
      'n < 5',
      'n < 5',
      'n < 5',
      '0.5714',
    ]);
  });

  test("when a platform A administrator asks for platform B's course (alone, combined or as a CSV), then 404 as for an unknown id", async () => {
    const browser = await adminBrowser(platformScope(platformA));
    const b = course.b.toHexString();
    for (const path of [
      `/admin/program?course=${b}`,
      `/admin/program?course=${course.a1.toHexString()}&course=${b}`,
      `/admin/program/competencies.csv?course=${b}`,
      `/admin/program/report?course=${b}`,
      `/admin/program/report.pdf?course=${b}`,
      `/admin/program?course=${course.a1.toHexString()}&compare=cohorts&versus=${b}`,
      `/admin/program?course=${new Types.ObjectId().toHexString()}`,
      '/admin/program?course=not-an-id',
      '/admin/program/secrets.csv?course=' + course.a1.toHexString(),
    ]) {
      const res = await browser.get(`${server.url}${path}`);
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.text).not.toContain('Coaching B');
    }
  });

  test('when a global administrator opens the dashboard, then platform B is offered and its cohort is shown', async () => {
    const browser = await adminBrowser(globalScope);
    const page = await browser.get(`${server.url}/admin/program?course=${course.b.toHexString()}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Coaching B');
    expect(page.text).toMatch(/<span data-coaches>6<\/span> coaches/);
  });

  test('when nobody is signed in, then the dashboard and its CSV redirect to the sign-in page', async () => {
    const browser = new Browser();
    for (const path of [
      `/admin/program?course=${course.a1.toHexString()}`,
      `/admin/program/competencies.csv?course=${course.a1.toHexString()}`,
    ]) {
      const { response, body } = await browser.send('GET', `${server.url}${path}`);
      expect(response.status).toBe(302);
      expect(response.location?.startsWith(`${server.url}/admin/login`)).toBe(true);
      expect(await body).not.toContain('C1.1');
    }
  });
});
