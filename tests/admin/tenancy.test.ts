import { randomBytes } from 'node:crypto';
import type { Router } from 'express';
import { createAdminAccounts } from '../../src/admin/admin-accounts';
import { adminRoutes } from '../../src/admin/admin-routes';
import { canManagePlatforms, globalScope, platformScope, type PlatformKey } from '../../src/admin/admin-scope';
import { createAuditLog } from '../../src/admin/audit-log';
import type { Shape } from '../../src/devplatform';
import type { OutboxEntry } from '../../src/grading/outbox';
import { Browser, type PageResponse } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer, testBcryptCost, type TestServer } from '../support/test-server';
import { csrfOf, finishModule, learnersOf, ledgerRows, newAdmin, settled, signIn } from './support';

jest.setTimeout(240_000);

/** One tenant's data: its platform, a course with sent entries, one failed entry and a finished reconcile job. */
interface Tenant {
  platform: PlatformKey;
  courseId: string;
  entries: OutboxEntry[];
  failedId: string;
  jobId: string;
}

type Ids = { courseId: string; entryId: string; jobId: string };

/**
 * Every admin route and how a scoped administrator's request is judged. A route added to the admin area
 * without a line here fails the "every route is covered" test.
 */
const routeTable: { method: 'GET' | 'POST'; path: string; probe: 'id' | 'list' | 'action' | 'no-tenant-data' }[] = [
  { method: 'GET', path: '/admin/login', probe: 'no-tenant-data' },
  { method: 'POST', path: '/admin/login', probe: 'no-tenant-data' },
  { method: 'POST', path: '/admin/logout', probe: 'no-tenant-data' },
  { method: 'GET', path: '/admin', probe: 'list' },
  { method: 'GET', path: '/admin/passback', probe: 'list' },
  { method: 'GET', path: '/admin/passback.csv', probe: 'list' },
  { method: 'GET', path: '/admin/passback/entries/:entryId', probe: 'id' },
  { method: 'POST', path: '/admin/passback/retry', probe: 'action' },
  { method: 'POST', path: '/admin/passback/courses/:courseId/resync', probe: 'id' },
  { method: 'POST', path: '/admin/passback/courses/:courseId/reconcile', probe: 'id' },
  { method: 'GET', path: '/admin/passback/courses/:courseId/reconcile', probe: 'id' },
  { method: 'GET', path: '/admin/jobs', probe: 'list' },
  { method: 'GET', path: '/admin/jobs/:jobId', probe: 'id' },
  { method: 'GET', path: '/admin/audit', probe: 'list' },
];

const fill = (path: string, ids: Ids): string =>
  path.replace(':courseId', ids.courseId).replace(':entryId', ids.entryId).replace(':jobId', ids.jobId);

/** The routes of an express router, nested routers included. */
function routesOf(router: Router): { method: string; path: string }[] {
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
  const out: { method: string; path: string }[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route)
        for (const method of Object.keys(layer.route.methods)) out.push({ method: method.toUpperCase(), path: layer.route.path });
      else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((router as unknown as { stack: Layer[] }).stack);
  return out;
}

describe('administrators are scoped to their platform (tenant)', () => {
  let server: TestServer;
  const tenants = {} as Record<Shape, Tenant>;
  let globalAdmin: Browser;

  const actors: string[] = [];
  async function passportAdmin(scope: Parameters<ReturnType<typeof createAdminAccounts>['create']>[2]): Promise<Browser> {
    const admin = newAdmin('tenant');
    await createAdminAccounts(server.connection, { cost: testBcryptCost }).create(admin.email, admin.password, scope);
    const browser = new Browser();
    const res = await signIn(server, browser, admin.email, admin.password);
    if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
    actors.push(admin.email);
    return browser;
  }

  async function ltiAdmin(shape: Shape): Promise<Browser> {
    const browser = new Browser();
    const landing = await launch(server, browser, launchInput(shape, 'admin'));
    expect(landing.url.split('?')[0]).toBe(`${server.url}/admin`);
    const user = (await server.connection.db!.collection('users').findOne({ sub: launchInput(shape, 'admin').userId }))!;
    actors.push(`lti:${user._id.toHexString()}`);
    return browser;
  }

  async function waitForJob(jobId: string): Promise<void> {
    for (const until = Date.now() + 60_000; Date.now() < until;) {
      const job = await server.connection.db!.collection('grading_jobs').findOne({ _id: new (await import('mongodb')).ObjectId(jobId) });
      if (job?.state === 'done' || job?.state === 'failed') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`job ${jobId} did not finish`);
  }

  async function markFailed(id: string): Promise<void> {
    const { ObjectId } = await import('mongodb');
    await server.connection
      .db!.collection('passback_outbox')
      .updateOne(
        { _id: new ObjectId(id) },
        { $set: { status: 'failed', reason: 'HTTP 400 from the LMS (test)', nextAttemptAt: new Date() } },
      );
  }

  async function statusOf(id: string): Promise<string> {
    const { ObjectId } = await import('mongodb');
    return String((await server.connection.db!.collection('passback_outbox').findOne({ _id: new ObjectId(id) }))?.status);
  }

  /** No background job queued or running, and the learner's scores all sent. */
  async function idle(userId: string): Promise<void> {
    for (const until = Date.now() + 60_000; ;) {
      const active = await server.connection.db!.collection('grading_jobs').countDocuments({ state: { $in: ['queued', 'running'] } });
      if (active === 0) break;
      if (Date.now() > until) throw new Error('background jobs still running');
      await new Promise((r) => setTimeout(r, 50));
    }
    // A retried entry that the LMS already holds comes back superseded (its timestamp is not newer).
    await settled(server, userId, ['sent', 'superseded']);
  }

  async function jobCount(): Promise<number> {
    return server.connection.db!.collection('grading_jobs').countDocuments();
  }

  beforeAll(async () => {
    server = await startTestServer();
    globalAdmin = await passportAdmin(globalScope);
    for (const shape of ['canvas', 'moodle'] as const) {
      const course = learnersOf(shape, 0);
      const { userId, courseId } = await finishModule(server, shape, course.learners[0]!.userId, course.contextId, 'M01');
      const entries = await settled(server, userId, ['sent']);
      const registration = (await server.devPlatform!.registration(shape))!;
      // A global administrator reconciles each course: one finished job and one audit entry per tenant.
      const ledger = await globalAdmin.get(`${server.url}/admin/passback?course=${courseId}`);
      const queued = await globalAdmin.post(`${server.url}/admin/passback/courses/${courseId}/reconcile`, { _csrf: csrfOf(ledger) });
      expect(queued.status).toBe(303);
      const job = (await server.connection.db!.collection('grading_jobs').findOne({ courseId }, { sort: { createdAt: -1 } }))!;
      await waitForJob(job._id.toHexString());
      tenants[shape] = {
        platform: { issuer: registration.issuer, clientId: registration.clientId },
        courseId,
        entries,
        failedId: entries[0]!.id,
        jobId: job._id.toHexString(),
      };
    }
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when the admin router is listed, then every route has a line in the tenancy table', () => {
    const router = adminRoutes({
      connection: server.connection,
      config: server.config,
      logger: server.logger,
      provider: server.lti,
      registry: server.registry,
      grading: server.grading,
    });
    const listed = routesOf(router).map((r) => `${r.method} ${r.path}`);
    expect(listed.sort()).toEqual(routeTable.map((r) => `${r.method} ${r.path}`).sort());
  });

  test('when a Moodle LTI administrator or a passport administrator scoped to Moodle uses any admin route, then no Canvas data is read or changed', async () => {
    const moodle = tenants.moodle;
    const canvas = tenants.canvas;
    const personas: [string, () => Promise<Browser>][] = [
      ['Moodle LTI administrator', () => ltiAdmin('moodle')],
      ['passport administrator scoped to Moodle', () => passportAdmin(platformScope(moodle.platform))],
    ];
    const canvasIds: Ids = { courseId: canvas.courseId, entryId: canvas.failedId, jobId: canvas.jobId };
    const moodleIds: Ids = { courseId: moodle.courseId, entryId: moodle.failedId, jobId: moodle.jobId };
    const unknownIds: Ids = {
      courseId: randomBytes(12).toString('hex'),
      entryId: randomBytes(12).toString('hex'),
      jobId: randomBytes(12).toString('hex'),
    };
    const canvasEntryIds = new Set(canvas.entries.map((e) => e.id));

    for (const [who, open] of personas) {
      const browser = await open();
      const home = await browser.get(`${server.url}/admin`);
      const csrf = csrfOf(await browser.get(`${server.url}/admin/passback`));
      const checked: string[] = [];
      for (const route of routeTable.filter((r) => r.probe === 'id')) {
        const jobsBefore = await jobCount();
        const request = (ids: Ids): Promise<PageResponse> =>
          route.method === 'GET'
            ? browser.get(`${server.url}${fill(route.path, ids)}`)
            : browser.post(`${server.url}${fill(route.path, ids)}`, { _csrf: csrf });
        const other = await request(canvasIds);
        const unknown = await request(unknownIds);
        // Another tenant's id answers exactly as an id that does not exist.
        expect({ who, route: route.path, status: other.status }).toEqual({ who, route: route.path, status: 404 });
        expect(other.text).toBe(unknown.text);
        expect(await jobCount()).toBe(jobsBefore);
        const own = await request(moodleIds);
        expect({ who, route: route.path, ok: own.status === 200 || own.status === 303 }).toEqual({ who, route: route.path, ok: true });
        checked.push(route.path);
      }
      expect(checked).toHaveLength(routeTable.filter((r) => r.probe === 'id').length);

      // Lists: the ledger (also filtered to Canvas), the CSV, jobs, audit and the platforms overview.
      const ledger = await browser.get(`${server.url}/admin/passback`);
      const shown = [...ledgerRows(ledger).keys()];
      expect(shown.filter((id) => canvasEntryIds.has(id))).toEqual([]);
      expect(shown).toEqual(expect.arrayContaining(moodle.entries.map((e) => e.id)));
      expect(ledger.text).not.toContain(canvas.courseId);
      for (const filter of [
        `course=${canvas.courseId}`,
        `platform=${encodeURIComponent(canvas.platform.issuer)}`,
        `learner=${canvas.entries[0]!.userId}`,
      ]) {
        const filtered = await browser.get(`${server.url}/admin/passback?${filter}`);
        expect({ who, filter, rows: ledgerRows(filtered).size }).toEqual({ who, filter, rows: 0 });
        expect(filtered.text).toContain('Any status: <strong>0</strong>');
      }
      const csv = await browser.get(`${server.url}/admin/passback.csv`);
      expect(csv.status).toBe(200);
      const csvIds = csv.text
        .trim()
        .split('\r\n')
        .slice(1)
        .map((l) => l.split(',')[0]);
      expect(csvIds.filter((id) => canvasEntryIds.has(id!))).toEqual([]);
      expect(csvIds).toEqual(expect.arrayContaining(moodle.entries.map((e) => e.id)));
      expect(csv.text).not.toContain(canvas.platform.issuer);
      const jobs = await browser.get(`${server.url}/admin/jobs`);
      expect(jobs.text).toContain(`id="job-${moodle.jobId}"`);
      expect(jobs.text).not.toContain(canvas.jobId);
      expect(jobs.text).not.toContain(canvas.courseId);
      const audit = await browser.get(`${server.url}/admin/audit`);
      // The audit log names the course by its title.
      expect(audit.text).toContain(`<td data-label="Course">${moodle.entries[0]!.courseTitle}</td>`);
      expect(audit.text).not.toContain(canvas.courseId);
      expect(audit.text).not.toContain(canvas.platform.issuer);
      expect(home.text).toContain(moodle.platform.clientId);
      expect(home.text).not.toContain(canvas.platform.issuer);

      // Actions: retrying a Canvas entry by id, or "all failed", leaves Canvas alone.
      await idle(moodle.entries[0]!.userId);
      await markFailed(canvas.failedId);
      await markFailed(moodle.failedId);
      const selected = await browser.post(`${server.url}/admin/passback/retry`, {
        _csrf: csrf,
        action: 'selected',
        ids: [canvas.failedId],
        back: '',
      });
      expect(selected.status).toBe(303);
      expect((await browser.follow(selected)).text).toContain('0 entries were queued again.');
      expect(await statusOf(canvas.failedId)).toBe('failed');
      const all = await browser.post(`${server.url}/admin/passback/retry`, { _csrf: csrf, action: 'all-failed', back: '' });
      expect((await browser.follow(all)).text).toContain('1 entry was queued again.');
      expect(await statusOf(canvas.failedId)).toBe('failed');
      expect(await statusOf(moodle.failedId)).not.toBe('failed');
      await settled(server, moodle.entries[0]!.userId, ['sent', 'superseded']);
    }

    // The scoped administrators' actions are recorded under Moodle, so Moodle's administrators see them.
    const scopedActors = actors.slice(-2);
    const log = await createAuditLog(server.connection).list({ scope: globalScope, limit: 500 });
    const actions = log.filter((e) => scopedActors.includes(e.actor) && e.action.startsWith('passback.'));
    expect(new Set(actions.map((e) => e.actor)).size).toBe(2);
    expect(actions.map((e) => e.action)).toEqual(
      expect.arrayContaining(['passback.retry-all-failed', 'passback.resync', 'passback.reconcile', 'passback.export']),
    );
    expect(
      actions.filter((e) => e.platform?.issuer !== moodle.platform.issuer || e.platform.clientId !== moodle.platform.clientId),
    ).toEqual([]);
  });

  test('when a Canvas LTI administrator looks up Moodle ids, then they do not exist for it either', async () => {
    const browser = await ltiAdmin('canvas');
    const moodle = tenants.moodle;
    expect((await browser.get(`${server.url}/admin/passback/entries/${moodle.failedId}`)).status).toBe(404);
    expect((await browser.get(`${server.url}/admin/jobs/${moodle.jobId}`)).status).toBe(404);
    expect((await browser.get(`${server.url}/admin/passback/courses/${moodle.courseId}/reconcile`)).status).toBe(404);
    expect((await browser.get(`${server.url}/admin/passback/entries/${tenants.canvas.failedId}`)).status).toBe(200);
  });

  test('when a global administrator uses the same routes, then both platforms are visible and actionable', async () => {
    for (const shape of ['canvas', 'moodle'] as const) {
      const t = tenants[shape];
      expect((await globalAdmin.get(`${server.url}/admin/passback/entries/${t.failedId}`)).status).toBe(200);
      expect((await globalAdmin.get(`${server.url}/admin/jobs/${t.jobId}`)).status).toBe(200);
      expect((await globalAdmin.get(`${server.url}/admin/passback/courses/${t.courseId}/reconcile`)).status).toBe(200);
    }
    const ledger = await globalAdmin.get(`${server.url}/admin/passback`);
    const shown = new Set(ledgerRows(ledger).keys());
    for (const e of [...tenants.canvas.entries, ...tenants.moodle.entries]) expect(shown.has(e.id)).toBe(true);
    const csv = await globalAdmin.get(`${server.url}/admin/passback.csv`);
    expect(csv.text).toContain(tenants.canvas.platform.issuer);
    expect(csv.text).toContain(tenants.moodle.platform.issuer);
    const audit = await globalAdmin.get(`${server.url}/admin/audit`);
    expect(audit.text).toContain(`<td data-label="Course">${tenants.canvas.entries[0]!.courseTitle}</td>`);
    expect(audit.text).toContain(`<td data-label="Course">${tenants.moodle.entries[0]!.courseTitle}</td>`);
    expect(canManagePlatforms(globalScope)).toBe(true);
    expect(canManagePlatforms(platformScope(tenants.moodle.platform))).toBe(false);
  });

  test('when a password administrator is narrowed to a platform while signed in, then the next request is already scoped', async () => {
    const admin = newAdmin('narrowed');
    const accounts = createAdminAccounts(server.connection, { cost: testBcryptCost });
    await accounts.create(admin.email, admin.password, globalScope);
    const browser = new Browser();
    expect((await signIn(server, browser, admin.email, admin.password)).status).toBe(303);
    expect((await browser.get(`${server.url}/admin/passback/entries/${tenants.canvas.failedId}`)).status).toBe(200);
    await accounts.setScope(admin.email, platformScope(tenants.moodle.platform));
    expect((await browser.get(`${server.url}/admin/passback/entries/${tenants.canvas.failedId}`)).status).toBe(404);
    expect((await browser.get(`${server.url}/admin/passback/entries/${tenants.moodle.failedId}`)).status).toBe(200);
    await accounts.setScope(admin.email, platformScope());
    expect((await browser.get(`${server.url}/admin/passback/entries/${tenants.moodle.failedId}`)).status).toBe(404);
  });
});
