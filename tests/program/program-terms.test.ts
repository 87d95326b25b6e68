import { Types } from 'mongoose';
import { createAdminAccounts } from '../../src/admin/admin-accounts';
import { platformScope, type PlatformKey } from '../../src/admin/admin-scope';
import { Browser, decodeHtml } from '../support/browser';
import { startTestServer, type TestServer } from '../support/test-server';
import { newAdmin, signIn } from '../admin/support';

jest.setTimeout(120_000);

/**
 * Program dashboard cohorts by term and dates: the course's period is its term (Canvas), else its course dates
 * (Moodle), else its first and latest launch; each end falls back on its own.
 */
const platform: PlatformKey = { issuer: 'https://lms-terms.example.edu', clientId: 'terms' };
const otherPlatform: PlatformKey = { issuer: 'https://lms-terms-elsewhere.example.edu', clientId: 'elsewhere' };
const at = (iso: string) => new Date(iso);

describe('program dashboard: term and date filters', () => {
  let server: TestServer;
  let browser: Browser;
  const id = {
    a: new Types.ObjectId(),
    b: new Types.ObjectId(),
    c: new Types.ObjectId(),
    d: new Types.ObjectId(),
    e: new Types.ObjectId(),
    f: new Types.ObjectId(),
  };
  const q = (params: Record<string, string | string[]>): string => {
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const item of Array.isArray(v) ? v : [v]) s.append(k, item);
    return s.toString();
  };
  /** The titles offered in the cohort select. */
  const offered = async (params: Record<string, string>): Promise<string[]> => {
    const page = await browser.get(`${server.url}/admin/program?${q(params)}`);
    expect(page.status).toBe(200);
    const select = /<select id="cohort-courses"[^>]*>([\s\S]*?)<\/select>/.exec(page.text)?.[1] ?? '';
    return [...select.matchAll(/<option[^>]*>([^(<]*) \(/g)].map((m) => decodeHtml(m[1]!).trim()).sort();
  };

  beforeAll(async () => {
    server = await startTestServer();
    const course = (
      _id: Types.ObjectId,
      key: PlatformKey,
      title: string,
      activity: [string, string],
      dates: { termName?: string; termStart?: Date; termEnd?: Date; courseStart?: Date; courseEnd?: Date } = {},
    ) => ({
      _id,
      ...key,
      deploymentId: 'd',
      contextId: `ctx-${title}`,
      title,
      agsScopes: [],
      createdAt: at(activity[0]),
      lastLaunchAt: at(activity[1]),
      ...dates,
    });
    const spring = { termName: 'Spring 2026', termStart: at('2026-01-12T07:00:00Z'), termEnd: at('2026-06-30T06:00:00Z') };
    await server.connection.db!.collection('courses').insertMany([
      // Launched long after its term ended: the term decides.
      course(id.a, platform, 'Canvas spring A', ['2025-12-01T09:00:00Z', '2026-11-20T09:00:00Z'], spring),
      course(id.f, platform, 'Canvas spring F', ['2026-01-15T09:00:00Z', '2026-06-01T09:00:00Z'], spring),
      course(id.b, platform, 'Canvas fall', ['2026-08-25T09:00:00Z', '2026-12-01T09:00:00Z'], {
        termName: 'Fall 2026',
        termStart: at('2026-08-20T06:00:00Z'),
        termEnd: at('2026-12-15T07:00:00Z'),
      }),
      // Moodle: course dates, no term.
      course(id.c, platform, 'Moodle spring', ['2026-01-01T09:00:00Z', '2026-11-01T09:00:00Z'], {
        courseStart: at('2026-03-01T00:00:00Z'),
        courseEnd: at('2026-04-30T00:00:00Z'),
      }),
      course(id.d, platform, 'Launches only', ['2026-09-01T09:00:00Z', '2026-10-01T09:00:00Z']),
      course(id.e, otherPlatform, 'Elsewhere winter', ['2026-01-01T09:00:00Z', '2026-03-01T09:00:00Z'], {
        termName: 'Winter 2026',
        termStart: at('2026-01-05T00:00:00Z'),
        termEnd: at('2026-03-01T00:00:00Z'),
      }),
    ]);
    const admin = newAdmin('terms');
    await createAdminAccounts(server.connection).create(admin.email, admin.password, platformScope(platform));
    browser = new Browser();
    const res = await signIn(server, browser, admin.email, admin.password);
    if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
  });
  afterAll(async () => {
    await server?.stop();
  });

  test("when the dashboard opens, then the term select offers the terms of the administrator's platforms only", async () => {
    const page = await browser.get(`${server.url}/admin/program`);
    const select = /<select id="term"[^>]*>([\s\S]*?)<\/select>/.exec(page.text)?.[1] ?? '';
    expect([...select.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1])).toEqual(['', 'Fall 2026', 'Spring 2026']);
    const text = decodeHtml(page.text);
    expect(text).toContain('Canvas spring A (https://lms-terms.example.edu#terms; Spring 2026; 2026-01-12 – 2026-06-30 (term dates))');
    expect(text).toContain('Moodle spring (https://lms-terms.example.edu#terms; 2026-03-01 – 2026-04-30 (course dates))');
    expect(text).toContain('Launches only (https://lms-terms.example.edu#terms; active 2026-09-01 – 2026-10-01)');
  });

  test("when filtered by term, then only that term's courses are offered", async () => {
    expect(await offered({ term: 'Spring 2026' })).toEqual(['Canvas spring A', 'Canvas spring F']);
    expect(await offered({ term: 'Fall 2026' })).toEqual(['Canvas fall']);
    expect(await offered({ term: 'Winter 2026' })).toEqual([]);
  });

  test('when filtered by dates, then term dates, else course dates, else launches decide', async () => {
    expect(await offered({ activeFrom: '2026-07-15' })).toEqual(['Canvas fall', 'Launches only']);
    expect(await offered({ activeFrom: '2026-05-01', activeTo: '2026-05-31' })).toEqual(['Canvas spring A', 'Canvas spring F']);
    expect(await offered({ activeFrom: '2026-04-01', activeTo: '2026-04-15' })).toEqual([
      'Canvas spring A',
      'Canvas spring F',
      'Moodle spring',
    ]);
    expect(await offered({ activeTo: '2026-08-19' })).toEqual(['Canvas spring A', 'Canvas spring F', 'Moodle spring']);
    expect(await offered({ term: 'Fall 2026', activeTo: '2026-07-01' })).toEqual([]);
  });

  test('when a cohort of two courses is shown, then the page and the report list each course with its term and dates', async () => {
    const params = q({ course: [id.a.toHexString(), id.c.toHexString()] });
    const page = await browser.get(`${server.url}/admin/program?${params}`);
    expect(page.status).toBe(200);
    const rows = [...page.text.matchAll(/<tr data-course>([\s\S]*?)<\/tr>/g)].map((m) =>
      decodeHtml(m[1]!.replace(/<[^>]+>/g, '|'))
        .split('|')
        .filter((x) => x !== ''),
    );
    expect(rows).toEqual([
      ['Canvas spring A', 'Spring 2026', '2026-01-12 – 2026-06-30 (term dates)'],
      ['Moodle spring', '—', '2026-03-01 – 2026-04-30 (course dates)'],
    ]);
    const report = await browser.get(`${server.url}/admin/program/report?${params}`);
    expect(decodeHtml(report.text)).toContain(
      'Courses: Canvas spring A (Spring 2026, 2026-01-12 – 2026-06-30 (term dates)); Moodle spring (2026-03-01 – 2026-04-30 (course dates))',
    );
  });

  test('when the term is absurdly long, then 400 says so', async () => {
    const res = await browser.get(`${server.url}/admin/program?${q({ term: 'x'.repeat(121) })}`);
    expect(res.status).toBe(400);
    expect(decodeHtml(res.text)).toContain('Term: is too long.');
  });
});
