import { globalScope } from '../../src/admin/admin-scope';
import { createAuditLog } from '../../src/admin/audit-log';
import { Browser, decodeHtml } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';
import { csrfOf, finishedJob, finishModule, learnersOf, ledgerRows, settled, signedInAdmin } from './support';

jest.setTimeout(180_000);

describe('the passback ledger for administrators', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Any failed send is given up at once (retry horizon 1 ms), so "failed" entries appear quickly.
    server = await startTestServer({}, { tuning: { worker: { retryHorizonMs: 1, baseBackoffMs: 10, idlePollMs: 20 } } });
  });
  afterEach(() => {
    server.devPlatform!.faults.clear();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when the ledger is filtered by status and by competency, then only matching entries show, with their attempts', async () => {
    const course = learnersOf('canvas', 0);
    const learner = course.learners[0]!;
    const { userId } = await finishModule(server, 'canvas', learner.userId, course.contextId, 'M01');
    const entries = await settled(server, userId, ['sent']);
    const competency = entries[0]!.target.id;
    const { browser } = await signedInAdmin(server);

    const all = await browser.get(`${server.url}/admin/passback?learner=${userId}`);
    expect(all.status).toBe(200);
    expect([...ledgerRows(all).keys()].sort()).toEqual(entries.map((e) => e.id).sort());
    expect(all.text).toMatch(/Sent: <strong>\d+<\/strong>/);

    const one = await browser.get(`${server.url}/admin/passback?learner=${userId}&status=sent&column=${competency.toLowerCase()}`);
    const rows = ledgerRows(one);
    expect([...rows.keys()]).toEqual([entries.find((e) => e.target.id === competency)!.id]);
    const row = [...rows.values()][0]!;
    expect(row).toContain(learner.name);
    expect(row).toContain(course.title);
    expect(row).toContain(`<td>${competency}</td>`);
    expect(row).toContain('>Sent</span>');
    expect(row).toMatch(/<details>[\s\S]*HTTP 20\d · sent · \d+ ms/);
    expect(one.text).toContain(`value="${competency}"`);

    const failedOnly = await browser.get(`${server.url}/admin/passback?learner=${userId}&status=failed`);
    expect(ledgerRows(failedOnly).size).toBe(0);
    expect(failedOnly.text).toContain('No entries match this filter');

    for (const bad of [
      'status=lost',
      'column=DROP',
      'from=2026-13-45',
      `learner=${'x'.repeat(201)}`,
      'from=2026-02-02&to=2026-01-01',
      'status=sent&status=failed',
    ]) {
      const res = await browser.get(`${server.url}/admin/passback?${bad}`);
      expect({ bad, status: res.status }).toEqual({ bad, status: 400 });
      expect(res.text).toContain('The ledger filter could not be used');
    }
  });

  test('when sends fail and the admin retries the failed entries, then they are sent', async () => {
    const course = learnersOf('canvas', 0);
    const learner = course.learners[1]!;
    server.devPlatform!.faults.set({ seed: 1, rate500: 1, appliesTo: ['scores'] });
    const { userId } = await finishModule(server, 'canvas', learner.userId, course.contextId, 'M02');
    const failed = await settled(server, userId, ['failed']);
    expect(failed.length).toBeGreaterThan(1);
    server.devPlatform!.faults.clear();

    const { browser, email } = await signedInAdmin(server);
    const page = await browser.get(`${server.url}/admin/passback?learner=${userId}&status=failed`);
    const rows = ledgerRows(page);
    expect(rows.size).toBe(failed.length);
    const [first, ...rest] = [...rows.keys()];
    expect(rows.get(first!)).toContain(`name="ids" value="${first}"`);
    expect(rows.get(first!)).toMatch(/HTTP 500 · failed · \d+ ms/);

    const retried = await browser.post(`${server.url}/admin/passback/retry`, {
      _csrf: csrfOf(page),
      action: 'selected',
      ids: [first!],
      back: `learner=${userId}&status=failed`,
    });
    expect(retried.status).toBe(303);
    expect(retried.location).toBe(`${server.url}/admin/passback?learner=${userId}&status=failed`);
    const after = await browser.follow(retried);
    expect(after.text).toContain('1 entry was queued again.');

    const all = await browser.post(`${server.url}/admin/passback/retry`, { _csrf: csrfOf(after), action: 'all-failed', back: '' });
    expect(all.status).toBe(303);
    const entries = await settled(server, userId, ['sent']);
    expect(entries.map((e) => e.id).sort()).toEqual([first!, ...rest].sort());
    expect(entries.every((e) => e.attempts.some((a) => a.httpStatus === 500) && e.attempts.at(-1)!.outcome === 'sent')).toBe(true);

    const audit = await createAuditLog(server.connection).list({ scope: globalScope, actor: email });
    expect(audit.find((a) => a.action === 'passback.retry')).toMatchObject({ count: 1, filter: { learner: userId, status: 'failed' } });
    expect(audit.find((a) => a.action === 'passback.retry-all-failed')!.count).toBeGreaterThanOrEqual(rest.length);

    const noToken = await browser.post(`${server.url}/admin/passback/retry`, { action: 'all-failed' });
    expect(noToken.status).toBe(403);
  });

  test('when an admin resyncs a course, then a background job recomputes every learner in it and the scores are sent again', async () => {
    const course = learnersOf('moodle', 0);
    const { userId, courseId } = await finishModule(server, 'moodle', course.learners[0]!.userId, course.contextId, 'M01');
    const before = await settled(server, userId, ['sent']);

    const { browser } = await signedInAdmin(server);
    const page = await browser.get(`${server.url}/admin/passback?course=${courseId}`);
    expect(page.text).toContain(`action="/admin/passback/courses/${courseId}/resync"`);
    const res = await browser.post(`${server.url}/admin/passback/courses/${courseId}/resync`, { _csrf: csrfOf(page) });
    expect(res.status).toBe(303);
    expect(res.location).toMatch(new RegExp(`/admin/jobs/[a-f0-9]{24}$`));
    const after = await browser.follow(res);
    expect(decodeHtml(after.text)).toContain(`A resync of ${course.title} was queued.`);
    const job = await finishedJob(server, courseId, 'resync');
    expect(job).toMatchObject({ state: 'done', progress: { total: 1, done: 1, failed: 0 } });
    const done = await browser.get(res.location!);
    expect(done.text).toContain('data-state="done"');
    expect(done.text).toContain('1 of 1 learner');

    const resent = await settled(server, userId, ['sent']);
    for (const entry of resent) {
      const old = before.find((b) => b.id === entry.id)!;
      expect(entry.version).toBeGreaterThan(old.version);
      expect(entry.newSubmission).toBe(false);
    }
    const queued = await browser.post(`${server.url}/admin/passback/courses/${courseId}/reconcile`, { _csrf: csrfOf(done) });
    expect(queued.location).toBe(`${server.url}/admin/passback/courses/${courseId}/reconcile`);
    await finishedJob(server, courseId, 'reconcile');
    const reconcile = await browser.get(queued.location!);
    expect(reconcile.status).toBe(200);
    expect(reconcile.text).toContain('No differences');
  });

  test('when scores never reached the LMS, then a background reconcile lists each difference for the course', async () => {
    const course = learnersOf('moodle', 1);
    server.devPlatform!.faults.set({ seed: 1, rate500: 1, appliesTo: ['scores'] });
    const { userId, courseId } = await finishModule(server, 'moodle', course.learners[0]!.userId, course.contextId, 'M03');
    const failed = await settled(server, userId, ['failed']);
    server.devPlatform!.faults.clear();

    const { browser, email } = await signedInAdmin(server);
    const before = await browser.get(`${server.url}/admin/passback/courses/${courseId}/reconcile`);
    expect(before.status).toBe(200);
    expect(before.text).toContain('No reconcile has run for this course yet.');
    const queued = await browser.post(`${server.url}/admin/passback/courses/${courseId}/reconcile`, { _csrf: csrfOf(before) });
    expect(queued.status).toBe(303);
    const job = await finishedJob(server, courseId, 'reconcile');
    expect(job.state).toBe('done');
    const page = await browser.get(`${server.url}/admin/passback/courses/${courseId}/reconcile`);
    expect(decodeHtml(page.text)).toContain(`Reconcile ${course.title}`);
    const rows = [...page.text.matchAll(/<tr><th scope="row">([^<]*)<\/th><td><code>[^<]*<\/code><\/td><td>([^<]*)<\/td>[\s\S]*?<\/tr>/g)];
    expect(rows.map((r) => r[2]).sort()).toEqual(failed.map((e) => e.target.id).sort());
    expect(rows.every((r) => decodeHtml(r[1]!) === course.learners[0]!.name)).toBe(true);
    expect(page.text).toContain('Missing in the LMS');
    expect((await browser.get(`${server.url}/admin/jobs/${job.id}`)).text).toContain('Missing in the LMS');

    const audit = await createAuditLog(server.connection).list({ scope: globalScope, actor: email });
    expect(audit[0]).toMatchObject({ action: 'passback.reconcile', courseId, detail: `background job ${job.id} queued` });
    expect((await browser.get(`${server.url}/admin/passback/courses/${'0'.repeat(24)}/reconcile`)).status).toBe(404);
  });

  test('when the filtered ledger is exported, then the CSV has a header row and one row per entry', async () => {
    const course = learnersOf('canvas', 1);
    const learner = course.learners[0]!;
    const { userId } = await finishModule(server, 'canvas', learner.userId, course.contextId, 'M04');
    const entries = await settled(server, userId, ['sent']);

    const { browser, email } = await signedInAdmin(server);
    const res = await browser.get(`${server.url}/admin/passback.csv?learner=${userId}&status=sent`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="passback-ledger-\d{8}-\d{6}\.csv"$/);
    const lines = res.text.trim().split('\r\n');
    expect(lines[0]).toBe(
      'entry_id,platform,issuer,client_id,course_id,course_title,learner_user_id,learner_lms_id,learner_name,column,score,activity_progress,grading_progress,status,attempts,last_http_status,first_queued_at,updated_at,sent_at,reason',
    );
    expect(lines).toHaveLength(entries.length + 1);
    for (const entry of entries) {
      const line = lines.find((l) => l.startsWith(`${entry.id},`))!;
      // No scoreGiven (insufficient evidence before any faculty rating) is an empty cell.
      expect(line).toContain(`,${learner.name},${entry.target.id},${entry.score.scoreGiven ?? ''},`);
      expect(line).toContain(',sent,1,');
    }
    const audit = await createAuditLog(server.connection).list({ scope: globalScope, actor: email });
    expect(audit[0]).toMatchObject({ action: 'passback.export', count: entries.length, filter: { learner: userId, status: 'sent' } });
  });

  test('when administrators act, then the audit log page lists who did what, how many and on what', async () => {
    const { browser, email } = await signedInAdmin(server, 'auditor');
    await browser.get(`${server.url}/admin/passback.csv?status=skipped`);
    const ledger = await browser.get(`${server.url}/admin/passback`);
    await browser.post(`${server.url}/admin/passback/retry`, { _csrf: csrfOf(ledger), action: 'all-failed', back: 'status=failed' });

    const lms = new Browser();
    const landing = await launch(server, lms, launchInput('canvas', 'admin'));
    expect(landing.status).toBe(200);
    await lms.get(`${server.url}/admin/passback.csv?column=C1.1`);
    const lmsAdmin = (await server.connection.db!.collection('users').findOne({ sub: launchInput('canvas', 'admin').userId }))!;

    const page = await browser.get(`${server.url}/admin/audit`);
    expect(page.status).toBe(200);
    const rows = [...page.text.matchAll(/<tr data-action="([^"]+)">([\s\S]*?)<\/tr>/g)].map((m) => ({
      action: m[1]!,
      html: decodeHtml(m[2]!),
    }));
    const mine = rows.filter((r) => r.html.includes(`<td data-label="Who">${email}</td>`));
    expect(mine.map((r) => r.action)).toEqual(['passback.retry-all-failed', 'passback.export', 'login.success']);
    expect(mine[0]!.html).toContain('Retried all failed entries');
    expect(mine[0]!.html).toContain('status=failed');
    expect(mine[1]!.html).toContain('Exported the ledger (CSV)');
    expect(mine[1]!.html).toContain('status=skipped');
    // An administrator launched from the LMS is named, not shown by our internal id.
    const viaLms = rows.find((r) =>
      r.html.includes(`<td data-label="Who">${String(lmsAdmin.name)} <span class="muted">(from the LMS)</span></td>`),
    );
    expect(viaLms).toMatchObject({ action: 'passback.export' });
    expect(viaLms!.html).toContain('column=C1.1');
    expect(page.text).not.toContain(`lti:${lmsAdmin._id.toHexString()}`);
    expect(page.text).toMatch(/<th scope="col">When<\/th>/);
  });
});
