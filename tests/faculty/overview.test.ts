import { devPlatformDirectory } from '../../src/devplatform';
import { Browser, decodeHtml, parseForms, withoutLaunchTokens } from '../support/browser';
import { finishModule } from '../support/coach';
import { launch, launchInput, seedIds } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(180_000);

/** The learners the built-in platform enrols in a course, active or inactive (what NRPS returns), by name. */
function rosterLearners(contextId: string): string[] {
  return devPlatformDirectory()
    .users.filter((u) => u.enrollments.some((e) => e.contextId === contextId && String(e.role).toLowerCase() === 'learner'))
    .map((u) => u.name);
}

function rowOf(html: string, name: string): string {
  const row = html.split('<tr>').find((r) => new RegExp(`>${name}[< ]`).test(r));
  if (!row) throw new Error(`no row for ${name}`);
  return row;
}

describe('faculty course overview', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when faculty open the course, then every learner on the LMS roster is a row, including those who never launched, with 13 competency cells in 4 domains', async () => {
    const faculty = new Browser();
    const page = await launch(server, faculty, launchInput('canvas', 'faculty', {}, 1));
    expect(new URL(page.url).pathname).toBe('/course');
    const { contextId } = seedIds('canvas', 'faculty', 1);
    const names = rosterLearners(contextId);
    expect(names.length).toBeGreaterThan(1);
    const html = decodeHtml(page.text);
    expect(html).not.toContain('did not return the roster');
    for (const name of names) {
      const row = rowOf(html, name);
      expect(row).toContain('(never opened)');
      expect(row.match(/class="level level-not-started"/g)).toHaveLength(13);
    }
    expect(page.text.match(/scope="colgroup"/g)).toHaveLength(4);
    // The two header rows cover the same columns as a body row, so each heading sits over its own column.
    const columns = (tr: string, rowspanFromAbove = 0): number =>
      rowspanFromAbove +
      [...tr.matchAll(/<t[hd]\b([^>]*)>/g)].reduce((n, m) => n + Number(/colspan="(\d+)"/.exec(m[1] ?? '')?.[1] ?? 1), 0);
    const [top, second] = [...(/<thead>([\s\S]*?)<\/thead>/.exec(html)?.[1] ?? '').matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]!);
    const carried = [...top!.matchAll(/rowspan="2"/g)].length;
    const bodyColumns = columns(rowOf(html, names[0]!));
    expect(columns(top!)).toBe(bodyColumns);
    expect(columns(second!, carried)).toBe(bodyColumns);
    // Settings stay reachable from the landing page.
    expect(page.text).toContain('action="/course/resync"');
    expect(page.text).toContain('action="/course/grading-settings"');
  });

  test('when a coach finishes a module, then their row links to the drill-down, shows progress with the date, evidence states and ratings waiting; filters and CSV agree', async () => {
    const { contextId } = seedIds('canvas', 'coach', 1);
    const coach = seedIds('canvas', 'coach', 1);
    const { userId } = await finishModule(server, 'canvas', coach.userId, contextId, 'M04');
    const faculty = new Browser();
    const page = await launch(server, faculty, launchInput('canvas', 'faculty', {}, 1));
    const html = withoutLaunchTokens(decodeHtml(page.text));
    const row = rowOf(html, coach.name);
    expect(row).toContain(`href="/course/coaches/${userId}"`);
    expect(row).not.toContain('(never opened)');
    const today = new Date().toISOString().slice(0, 10);
    expect(row).toMatch(new RegExp(`In progress · 1/\\d+ done`));
    expect(row).toContain(`: Done ${today}`);
    // Before any faculty rating no competency has enough evidence: touched ones read "Insufficient evidence".
    expect(row).toMatch(/level-insufficient" title="[^"]*awaiting rating[^"]*">Insufficient evidence/);
    const awaiting = Number(/id="awaiting-count">(\d+)</.exec(page.text)![1]);
    const queue = await faculty.get(new URL('/course/reflections', page.url).toString());
    expect(awaiting).toBeGreaterThan(0);
    expect(queue.text.match(/Awaiting a rating/g)).toHaveLength(awaiting);
    expect(row).toContain(`<td>${awaiting}</td>`);

    const started = await faculty.get(new URL('/course?progress=in-progress', page.url).toString());
    expect(decodeHtml(started.text)).toContain(`>${coach.name}<`);
    expect(started.text).not.toContain('(never opened)');
    const waiting = await faculty.get(new URL('/course?waiting=yes', page.url).toString());
    expect(waiting.text).toMatch(/Showing 1 of \d+ coaches/);
    const notStarted = await faculty.get(new URL('/course?progress=not-started', page.url).toString());
    expect(decodeHtml(notStarted.text)).not.toContain(`>${coach.name}<`);

    const csv = await faculty.get(new URL('/course/overview.csv?sort=name', page.url).toString());
    expect(csv.status).toBe(200);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toMatch(/^"Coach","Opened CoachLTI","Progress"/);
    expect(lines[0]).toContain('"C1.1 level","C1.1 score"');
    expect(lines).toHaveLength(rosterLearners(contextId).length + 1);
    const coachLine = lines.find((l) => l.startsWith(`"${coach.name}"`))!;
    expect(coachLine).toContain(`"yes","In progress"`);
    expect(coachLine).toContain('"Insufficient evidence"');
  });

  test('when a coach opens the course overview or its CSV, then they are refused', async () => {
    const coach = new Browser();
    const landing = await launch(server, coach, launchInput('canvas', 'coach', {}, 1));
    for (const path of ['/course', '/course/overview.csv']) {
      const res = await coach.get(new URL(path, landing.url).toString());
      expect(res.status).toBe(403);
    }
  });

  test('when faculty open a coach of their course, then the page shows evidence, attempts, reflections, passback per column, and the reflection read is in the access trail; a coach of another course is not found', async () => {
    const coach = seedIds('canvas', 'coach2', 1);
    const { userId } = await finishModule(server, 'canvas', coach.userId, coach.contextId, 'M04');
    const faculty = new Browser();
    const page = await launch(server, faculty, launchInput('canvas', 'faculty', {}, 1));
    const before = await server.connection
      .db!.collection('admin_audit_log')
      .countDocuments({ action: 'reflection.read', subjectUserId: userId });
    const detail = await faculty.get(new URL(`/course/coaches/${userId}`, page.url).toString());
    expect(detail.status).toBe(200);
    const html = decodeHtml(detail.text);
    expect(html).toContain(`<h1 id="coach-title">${coach.name}</h1>`);
    expect(html).toContain('My reflection.');
    expect(html).toContain('Awaiting a rating.');
    expect(html).toMatch(/Emotional intelligence and coach self-monitoring, attempt 1: Done/);
    expect(html.match(/class="badge badge-/g)).toHaveLength(13);
    expect(html).toMatch(/kinds: /);
    const after = await server.connection
      .db!.collection('admin_audit_log')
      .countDocuments({ action: 'reflection.read', subjectUserId: userId });
    expect(after).toBe(before + 1);

    const other = seedIds('canvas', 'coach', 0);
    const elsewhere = await finishModule(server, 'canvas', other.userId, other.contextId, 'M04');
    const refused = await faculty.get(new URL(`/course/coaches/${elsewhere.userId}`, page.url).toString());
    expect(refused.status).toBe(404);
    expect(refused.text).not.toContain('My reflection.');
  });

  test("when a teaching assistant opens the course, then settings controls are hidden and posting them is refused with a page; an instructor's resync is audited with course title and name", async () => {
    const ta = new Browser();
    const page = await launch(server, ta, launchInput('canvas', 'ta', {}, 1));
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('action="/course/resync"');
    expect(page.text).not.toContain('action="/course/grading-settings"');
    expect(withoutLaunchTokens(page.text)).toContain('href="/course/reflections"');

    const faculty = new Browser();
    const own = await launch(server, faculty, launchInput('canvas', 'faculty', {}, 1));
    const form = parseForms(own.text, own.url).find((f) => f.action.endsWith('/course/resync'))!;
    const modulePage = await ta.get(new URL('/modules/M01', page.url).toString());
    const taToken = parseForms(modulePage.text, modulePage.url).find((f) => f.fields._csrf)!.fields._csrf!;
    const refused = await ta.post(form.action, { _csrf: taToken });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('Teaching assistants can rate and observe');

    const done = await faculty.post(form.action, form.fields);
    expect(done.status).toBe(303);
    const faculty1 = seedIds('canvas', 'faculty', 1);
    const entry = await server.connection
      .db!.collection('admin_audit_log')
      .findOne({ action: 'passback.resync', detail: { $regex: '^' + faculty1.name } });
    expect(entry?.detail).toContain(`${faculty1.name} in ${faculty1.courseTitle}: queued a resync`);
  });

  test('when an instructor makes a module required with a past due date, then coaches who have not done it are overdue; a deep-linked module is required by default', async () => {
    const coach = seedIds('canvas', 'coach', 1);
    const faculty = new Browser();
    const page = await launch(server, faculty, launchInput('canvas', 'faculty', {}, 1));
    const form = await faculty.get(new URL('/course/assignments', page.url).toString());
    expect(form.status).toBe(200);
    const fields = parseForms(form.text, form.url).find((f) => f.action.endsWith('/course/assignments'))!;
    const bad = await faculty.post(fields.action, { ...fields.fields, 'assign-M01': 'sometimes' });
    expect(bad.status).toBe(400);
    const body: Record<string, string> = { ...fields.fields };
    for (const id of ['M01', 'M02', 'M03', 'M04', 'M05', 'M06', 'M07', 'M08', 'M09', 'M10']) body[`assign-${id}`] = 'optional';
    Object.assign(body, { 'assign-M04': 'required', 'due-M04': '2026-01-10', 'assign-M01': 'required', 'due-M01': '2026-01-10' });
    expect((await faculty.post(fields.action, body)).status).toBe(303);

    const after = decodeHtml((await faculty.get(new URL('/course', page.url).toString())).text);
    // The coach finished M04 (earlier test) but not M01: one overdue module of two required.
    const row = rowOf(after, coach.name);
    expect(row).toContain('1/2 done');
    expect(row).toContain('Overdue: 1');
    expect(row).toMatch(/The coaching agreement and the first meeting: Not started · due 2026-01-10 · <strong>overdue/);
    const csv = await faculty.get(new URL('/course/overview.csv', page.url).toString());
    expect(csv.text.split('\r\n')[0]).toContain('"Overdue modules"');
    const audit = await server.connection.db!.collection('admin_audit_log').findOne({ action: 'faculty.assignments' });
    expect(audit?.detail).toContain('required: M01 due 2026-01-10, M04 due 2026-01-10');

    const coachBrowser = new Browser();
    await launch(server, coachBrowser, launchInput('canvas', 'coach', {}, 1));
    const training = await coachBrowser.get(new URL('/training', page.url).toString());
    const m01 = withoutLaunchTokens(training.text)
      .split('<li>')
      .slice(1)
      .find((li) => li.includes('href="/modules/M01"'))!;
    expect(m01).toContain('Required · due 2026-01-10');
    expect(m01).toContain('badge-failed">Overdue');
    const m04 = withoutLaunchTokens(training.text)
      .split('<li>')
      .slice(1)
      .find((li) => li.includes('href="/modules/M04"'))!;
    expect(m04).not.toContain('Overdue');

    const ta = new Browser();
    const taPage = await launch(server, ta, launchInput('canvas', 'ta', {}, 1));
    expect(withoutLaunchTokens(taPage.text)).not.toContain('href="/course/assignments"');
    expect((await ta.get(new URL('/course/assignments', page.url).toString())).status).toBe(403);
  });
});
