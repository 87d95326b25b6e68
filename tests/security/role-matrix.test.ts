import { platformScope } from '../../src/admin/admin-scope';
import { createAdminAccounts } from '../../src/admin/admin-accounts';
import { globalScope } from '../../src/admin/admin-scope';
import { createRegistrationInvites } from '../../src/lti/registration-invites';
import { newAdmin, signIn } from '../admin/support';
import { Browser, parseForms, type PageResponse } from '../support/browser';
import { hurry } from '../support/coach';
import { launch, launchInput } from '../support/lti-launch';
import { scoreCourse } from '../support/outbox-fixtures';
import { startTestServer, testBcryptCost, type TestServer } from '../support/test-server';
import { listRoutes } from './route-table';
import { recordMatrixFigures } from './figures';

/**
 * The route table × personas matrix. Every route of the app must have an entry here (a new route without
 * one fails the first test); every entry names who may pass. Ids in paths belong to platform A (the
 * Canvas-shaped platform) and its course, so platform B's administrators must not reach them.
 */
const personas = [
  'anonymous',
  'learner',
  'instructor',
  'ta',
  'deepLinking',
  'ltiAdminA',
  'ltiAdminB',
  'adminGlobal',
  'adminScopedB',
] as const;
type Persona = (typeof personas)[number];

const everyone: Persona[] = [...personas];
const launched: Persona[] = ['learner', 'instructor', 'ta', 'deepLinking', 'ltiAdminA', 'ltiAdminB'];
const courseStaff: Persona[] = ['instructor', 'ta', 'deepLinking', 'ltiAdminA', 'ltiAdminB'];
const courseStaffOfA: Persona[] = ['instructor', 'ta', 'deepLinking', 'ltiAdminA'];
/** Course settings (resync, gradebook columns): course staff without teaching assistants, who rate and observe only. */
const courseManagers: Persona[] = courseStaff.filter((p) => p !== 'ta');
const admins: Persona[] = ['ltiAdminA', 'ltiAdminB', 'adminGlobal', 'adminScopedB'];
const adminsOfA: Persona[] = ['ltiAdminA', 'adminGlobal'];
const globalAdmins: Persona[] = ['adminGlobal'];

interface MatrixEntry {
  allowed: Persona[];
  /** The id in the path may not exist for an allowed persona: 404 then still means "let through". */
  unknownIdIsAllowed?: boolean;
  /** A route whose answer does not depend on who asks: every persona must get one of these statuses. */
  sameForAll?: number[];
  /** A valid form, so the request is decided by who asks, not refused as malformed first. */
  body?: Record<string, string>;
  /** Query string; `:name` is replaced by platform A's id of that name. */
  query?: string;
}

const matrix: Record<string, MatrixEntry> = {
  'GET /healthz': { allowed: everyone },
  'GET /readyz': { allowed: everyone },
  'GET /': { allowed: everyone },
  'GET /api/competencies': { allowed: everyone },
  'GET /framework': { allowed: everyone },
  'GET /favicon.ico': { allowed: everyone },
  'GET /lti/canvas.json': { allowed: everyone },
  'GET /api/framework/case': { allowed: everyone },
  'GET /api/framework/canvas.csv': { allowed: everyone },
  'GET /api/framework/moodle.csv': { allowed: everyone },
  'GET /api/framework/versions': { allowed: everyone },
  // A random id: public CASE URIs answer 404 for unknown items, for everyone alike.
  'GET /ims/case/v1p1/:collection/:id': { allowed: everyone, unknownIdIsAllowed: true },
  'GET /lti/register': { allowed: everyone },
  'GET /admin/login': { allowed: everyone },
  'GET /deep-linking': { allowed: ['deepLinking'] },
  'POST /deep-linking': { allowed: ['deepLinking'] },
  'GET /training': { allowed: launched },
  'GET /profile': { allowed: launched },
  'GET /modules/:moduleId': { allowed: launched },
  'POST /modules/:moduleId/attempts': { allowed: launched },
  'GET /modules/:moduleId/attempts/:attemptId/sections/:section': { allowed: ['learner'] },
  'POST /modules/:moduleId/attempts/:attemptId/items/:itemId': { allowed: ['learner'] },
  'POST /modules/:moduleId/attempts/:attemptId/complete': { allowed: ['learner'] },
  'GET /modules/:moduleId/attempts/:attemptId/result': { allowed: ['learner'] },
  'GET /course': { allowed: courseStaff },
  'GET /course/overview.csv': { allowed: courseStaff },
  'GET /course/coaches/:userId': { allowed: courseStaffOfA },
  'GET /course/coaches/:userId/observations/new': { allowed: courseStaffOfA },
  'POST /course/coaches/:userId/observations': {
    allowed: courseStaffOfA,
    body: { observedOn: '2026-01-05', setting: 'live', duration: '30', 'level-C2.4': 'developing', narrative: 'Good open questions.' },
  },
  'POST /course/resync': { allowed: courseManagers },
  'GET /course/assignments': { allowed: courseManagers },
  'POST /course/assignments': { allowed: courseManagers },
  'POST /course/grading-settings': { allowed: courseManagers },
  'GET /course/columns/remove': { allowed: courseManagers },
  'POST /course/columns/remove': { allowed: courseManagers },
  'GET /course/roster': { allowed: courseStaff },
  'GET /course/reflections': { allowed: courseStaff },
  'GET /course/reflections/:attemptId/:itemId': { allowed: courseStaffOfA },
  'GET /my/record.json': { allowed: launched },
  'POST /course/reflections/:attemptId/:itemId': { allowed: courseStaffOfA, body: { level: 'developing' } },
  'GET /admin': { allowed: admins },
  'GET /admin/passback': { allowed: admins },
  'GET /admin/passback.csv': { allowed: admins },
  'GET /admin/passback/entries/:entryId': { allowed: adminsOfA },
  'POST /admin/passback/retry': { allowed: admins },
  'POST /admin/passback/courses/:courseId/resync': { allowed: adminsOfA },
  'POST /admin/passback/courses/:courseId/reconcile': { allowed: adminsOfA },
  'GET /admin/passback/courses/:courseId/reconcile': { allowed: adminsOfA },
  'GET /admin/jobs': { allowed: admins },
  'GET /admin/jobs/:jobId': { allowed: adminsOfA },
  'GET /admin/audit': { allowed: admins },
  'GET /admin/privacy': { allowed: admins },
  'GET /admin/privacy/people/:userId': { allowed: adminsOfA },
  'POST /admin/privacy/people/:userId/export': { allowed: adminsOfA },
  // Without the typed confirmation nothing is erased: the check is who may reach the person at all.
  'POST /admin/privacy/people/:userId/erase': { allowed: adminsOfA },
  'POST /admin/privacy/policies': { allowed: adminsOfA, body: { target: ':courseId', days: '3650' } },
  'GET /admin/privacy/retention': { allowed: admins },
  'POST /admin/privacy/retention/run': { allowed: admins },
  'GET /admin/program': { allowed: admins },
  'GET /admin/program/:table.csv': { allowed: adminsOfA, query: 'course=:courseId' },
  'GET /admin/program/report': { allowed: adminsOfA, query: 'course=:courseId' },
  'GET /admin/program/report.pdf': { allowed: adminsOfA, query: 'course=:courseId' },
  'GET /admin/platforms': { allowed: globalAdmins },
  'POST /admin/platforms/invites': { allowed: globalAdmins },
  'POST /admin/platforms/invites/:id/revoke': { allowed: globalAdmins },
  'POST /admin/platforms/pending/:id/approve': { allowed: globalAdmins, unknownIdIsAllowed: true },
  'POST /admin/platforms/pending/:id/reject': { allowed: globalAdmins, unknownIdIsAllowed: true },
  'POST /admin/platforms/state': { allowed: globalAdmins },
  // Last: signing in with no credentials fails for everyone alike; signing out ends each session.
  'POST /admin/login': { allowed: [], sameForAll: [401, 429] },
  'POST /admin/logout': { allowed: everyone },
};

type Outcome = 'allowed' | 'refused' | 'not-found' | 'server-error';

function outcomeOf(res: PageResponse): Outcome {
  if (res.status >= 500) return 'server-error';
  if (res.status === 404) return 'not-found';
  if (res.status === 401 || res.status === 403) return 'refused';
  if (res.status >= 300 && res.status < 400 && res.location) {
    const target = new URL(res.location);
    if (target.pathname === '/admin/login' && !target.searchParams.has('signed-out')) return 'refused';
  }
  return 'allowed';
}

describe('route table × personas', () => {
  let server: TestServer;
  const browsers = new Map<Persona, Browser>();
  const csrf = new Map<Persona, string>();
  const ids: Record<string, string> = {};

  const csrfFrom = (page: PageResponse): string | undefined => {
    for (const form of parseForms(page.text, page.url)) if (form.fields._csrf) return form.fields._csrf;
    return undefined;
  };

  beforeAll(async () => {
    server = await startTestServer();
    const lti: [Persona, ReturnType<typeof launchInput>][] = [
      ['learner', launchInput('canvas', 'coach')],
      ['instructor', launchInput('canvas', 'faculty')],
      ['ta', launchInput('canvas', 'ta')],
      ['deepLinking', launchInput('canvas', 'faculty', { messageType: 'LtiDeepLinkingRequest' })],
      ['ltiAdminA', launchInput('canvas', 'admin')],
      ['ltiAdminB', launchInput('moodle', 'admin')],
    ];
    browsers.set('anonymous', new Browser());
    for (const [persona, input] of lti) {
      const browser = new Browser();
      const landing = await launch(server, browser, input);
      if (landing.status !== 200) throw new Error(`${persona} launch answered ${landing.status}`);
      browsers.set(persona, browser);
    }
    const accounts = createAdminAccounts(server.connection, { cost: testBcryptCost });
    const canvas = (await server.devPlatform!.registration('canvas'))!;
    const moodle = (await server.devPlatform!.registration('moodle'))!;
    for (const [persona, scope] of [
      ['adminGlobal', globalScope],
      ['adminScopedB', platformScope({ issuer: moodle.issuer, clientId: moodle.clientId })],
    ] as const) {
      const admin = newAdmin(persona);
      await accounts.create(admin.email, admin.password, scope);
      const browser = new Browser();
      const res = await signIn(server, browser, admin.email, admin.password);
      if (res.status !== 303) throw new Error(`${persona} sign-in answered ${res.status}`);
      browsers.set(persona, browser);
    }
    // A CSRF token per session, from a page with a form.
    const formPages: Record<Persona, string> = {
      anonymous: '/admin/login',
      learner: '/modules/M01',
      instructor: '/course',
      // The TA's overview has no settings forms: the module page's start form carries the session's token.
      ta: '/modules/M01',
      deepLinking: '/deep-linking',
      ltiAdminA: '/admin/passback',
      ltiAdminB: '/admin/passback',
      adminGlobal: '/admin/passback',
      adminScopedB: '/admin/passback',
    };
    for (const persona of personas) {
      const page = await browsers.get(persona)!.get(`${server.url}${formPages[persona]}`);
      const token = csrfFrom(page);
      if (token) csrf.set(persona, token);
    }

    // Platform A's data: the learner's attempt, the course, a ledger entry, a job, an invite.
    // The learner finishes M01 (forms only), leaving a reflection for faculty to rate.
    const learner = browsers.get('learner')!;
    const pages = await hurry(learner, await learner.get(`${server.url}/modules/M01`));
    ids.attemptId = /\/attempts\/([a-f0-9]{24})\//.exec(pages[pages.length - 1]!.url)![1]!;
    ids.itemId = 'M01.R1';
    ids.table = 'competencies';
    const course = (await server.connection.db!.collection('courses').findOne({ contextId: launchInput('canvas', 'coach').contextId }))!;
    ids.courseId = course._id.toHexString();
    const learnerUser = (await server.connection.db!.collection('users').findOne({ sub: launchInput('canvas', 'coach').userId }))!;
    ids.userId = learnerUser._id.toHexString();
    const scored = await scoreCourse(server, 'canvas');
    await server.outbox.enqueue(scored.entry(0, 'C1.1', 50, new Date()), new Date());
    const entry = (await server.outbox.list({ limit: 10 })).find((e) => e.issuer === canvas.issuer)!;
    ids.entryId = entry.id;
    ids.jobId = (await server.grading.requestJob(globalScope, 'reconcile', ids.courseId, 'matrix@example.edu'))!.job.id;
    ids.id = (await createRegistrationInvites(server.connection).create({ createdBy: 'matrix@example.edu' })).id;
  }, 240_000);

  afterAll(async () => {
    await server.stop();
  });

  /** The entry's form with `:name` values replaced by platform A's ids. */
  const bodyOf = (entry: MatrixEntry): Record<string, string> =>
    Object.fromEntries(
      Object.entries(entry.body ?? {}).map(([k, v]) => [k, v.replace(/^:(\w+)$/, (_m, name: string) => ids[name] ?? 'missing')]),
    );

  test('when the app is built, then every route has a matrix entry and every entry names a route', () => {
    const routes = listRoutes(server.app).map((r) => `${r.method} ${r.path}`);
    expect(routes.filter((r) => !(r in matrix))).toEqual([]);
    expect(Object.keys(matrix).filter((k) => !routes.includes(k))).toEqual([]);
  });

  test('when each persona calls each route, then exactly the personas the matrix names get through', async () => {
    const mismatches: string[] = [];
    let checked = 0;
    let deniedAsExpected = 0;
    for (const [key, entry] of Object.entries(matrix)) {
      const [method, pattern] = key.split(' ') as [string, string];
      const path = pattern
        .replace(':moduleId', 'M01')
        .replace(':section', '1')
        .replace(':table', ids.table ?? 'missing')
        .replace('/ims/case/v1p1/:collection/:id', '/ims/case/v1p1/CFItems/00000000-0000-4000-8000-000000000000')
        .replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(ids[name] ?? 'missing'));
      for (const persona of personas) {
        const browser = browsers.get(persona)!;
        const query = entry.query
          ? `?${entry.query.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(ids[name] ?? 'missing'))}`
          : '';
        const url = `${server.url}${path}${query}`;
        const token = csrf.get(persona);
        const res =
          method === 'GET' ? await browser.get(url) : await browser.post(url, { ...bodyOf(entry), ...(token ? { _csrf: token } : {}) });
        const outcome = outcomeOf(res);
        checked += 1;
        if (entry.sameForAll) {
          if (!entry.sameForAll.includes(res.status))
            mismatches.push(`${key} as ${persona}: HTTP ${res.status}, expected ${entry.sameForAll.join('/')}`);
          continue;
        }
        const shouldPass = entry.allowed.includes(persona);
        const passed = outcome === 'allowed' || (entry.unknownIdIsAllowed === true && outcome === 'not-found');
        if (outcome === 'server-error' || passed !== shouldPass) {
          mismatches.push(`${key} as ${persona}: HTTP ${res.status} (${outcome}), expected ${shouldPass ? 'through' : 'denied'}`);
        } else if (!shouldPass) {
          deniedAsExpected += 1;
        }
      }
    }
    recordMatrixFigures({
      routes: Object.keys(matrix).length,
      personas: personas.length,
      checked,
      mismatches: mismatches.length,
      deniedAsExpected,
    });
    expect(mismatches).toEqual([]);
  }, 240_000);
});
