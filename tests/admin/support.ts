import { createAdminAccounts } from '../../src/admin/admin-accounts';
import { devPlatformDirectory, type Shape } from '../../src/devplatform';
import type { OutboxEntry, OutboxStatus } from '../../src/grading/outbox';
import { Browser, decodeHtml, parseForms, type PageResponse } from '../support/browser';
import { testBcryptCost, type TestServer } from '../support/test-server';

let counter = 0;

/** A unique admin email and a password long enough for the policy. */
export function newAdmin(label = 'admin'): { email: string; password: string } {
  counter += 1;
  return { email: `${label}-${counter}-${Date.now().toString(36)}@example.edu`, password: `correct horse battery ${counter}` };
}

export async function createAdmin(server: TestServer, label = 'admin'): Promise<{ email: string; password: string }> {
  const admin = newAdmin(label);
  await createAdminAccounts(server.connection, { cost: testBcryptCost }).create(admin.email, admin.password);
  return admin;
}

export function csrfOf(page: PageResponse): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(page.text);
  if (!match?.[1]) throw new Error(`no CSRF token on ${page.url} (HTTP ${page.status})`);
  return decodeHtml(match[1]);
}

/** Opens the sign-in page (which starts a session) and posts the form. Returns the answer to the POST. */
export async function signIn(server: TestServer, browser: Browser, email: string, password: string): Promise<PageResponse> {
  const page = await browser.get(`${server.url}/admin/login`);
  const form = parseForms(page.text, page.url)[0];
  if (!form) throw new Error(`no sign-in form (HTTP ${page.status})`);
  return browser.post(form.action, { ...form.fields, email, password });
}

/** A browser signed in as a fresh administrator. */
export async function signedInAdmin(server: TestServer, label = 'admin'): Promise<{ browser: Browser; email: string }> {
  const admin = await createAdmin(server, label);
  const browser = new Browser();
  const res = await signIn(server, browser, admin.email, admin.password);
  if (res.status !== 303) throw new Error(`sign-in answered ${res.status}: ${res.text.slice(0, 300)}`);
  return { browser, email: admin.email };
}

/** Active learners of the n-th course of a shape. */
export function learnersOf(
  shape: Shape,
  courseIndex: number,
): { contextId: string; title: string; learners: { userId: string; name: string }[] } {
  const dir = devPlatformDirectory();
  const course = dir.courses.filter((c) => c.shape === shape)[courseIndex];
  if (!course) throw new Error(`no course ${courseIndex} for ${shape}`);
  const learners = dir.users.filter((u) =>
    u.enrollments.some((e) => e.contextId === course.contextId && e.role === 'learner' && e.status === 'Active'),
  );
  return { contextId: course.contextId, title: course.title, learners: learners.map((l) => ({ userId: l.userId, name: l.name })) };
}

export { finishModule } from '../support/coach';

/** Waits until the learner has entries and every one of them is in one of the statuses. */
export async function settled(server: TestServer, userId: string, statuses: OutboxStatus[], timeoutMs = 60_000): Promise<OutboxEntry[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const entries = await server.outbox.list({ userId, limit: 1000 });
    if (entries.length > 0 && entries.every((e) => statuses.includes(e.status))) return entries;
    if (Date.now() > until)
      throw new Error(`entries not ${statuses.join('/')}: ${JSON.stringify(entries.map((e) => [e.target.id, e.status]))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The ledger rows of a page: entry id → the row's HTML. */
export function ledgerRows(page: PageResponse): Map<string, string> {
  const rows = new Map<string, string>();
  for (const m of page.text.matchAll(/<tr id="entry-([a-f0-9]{24})">([\s\S]*?)<\/tr>/g)) rows.set(m[1]!, m[2]!);
  return rows;
}

/** Waits until the newest background job of a kind for a course has finished; returns its id and state. */
export async function finishedJob(
  server: TestServer,
  courseId: string,
  kind: 'resync' | 'reconcile',
  timeoutMs = 60_000,
): Promise<{ id: string; state: string; progress: { total: number; done: number; failed: number } }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await server.connection.db!.collection('grading_jobs').findOne({ courseId, kind }, { sort: { createdAt: -1 } });
    if (job && (job.state === 'done' || job.state === 'failed'))
      return {
        id: job._id.toHexString(),
        state: String(job.state),
        progress: job.progress as { total: number; done: number; failed: number },
      };
    if (Date.now() > until) throw new Error(`no finished ${kind} job for ${courseId}: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
