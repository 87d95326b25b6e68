import { randomBytes } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { createAdminAccounts } from '../../src/admin/admin-accounts';
import { platformScope, type PlatformKey } from '../../src/admin/admin-scope';
import { createAuditLog } from '../../src/admin/audit-log';
import { Browser, decodeHtml, parseForms, type PageResponse } from '../support/browser';
import { launch, launchInput, seedIds } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';
import { ledgerRows, newAdmin, signIn, signedInAdmin } from './support';

jest.setTimeout(120_000);

/** A platform of its own per test, so scoping is checked against data nobody else writes. */
function tenant(label: string): PlatformKey {
  return { issuer: `https://${label}-${randomBytes(3).toString('hex')}.lms.example`, clientId: `client-${label}` };
}

describe('the ledger and audit log speak of courses and people by name', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  const db = () => server.connection.db!;

  async function course(platform: PlatformKey, title: string): Promise<string> {
    const id = new ObjectId();
    await db()
      .collection('courses')
      .insertOne({
        _id: id,
        ...platform,
        deploymentId: 'd1',
        contextId: `ctx-${id.toHexString()}`,
        title,
        agsScopes: [],
        createdAt: new Date(),
      });
    return id.toHexString();
  }

  async function person(platform: PlatformKey, name: string, email: string | undefined): Promise<string> {
    const id = new ObjectId();
    await db()
      .collection('users')
      .insertOne({ _id: id, ...platform, sub: `sub-${id.toHexString()}`, name, nameSource: 'launch', email, createdAt: new Date() });
    return id.toHexString();
  }

  /** A sent ledger entry (the worker never claims a sent one). */
  async function entry(platform: PlatformKey, courseId: string, courseTitle: string, userId: string, userName: string): Promise<string> {
    const id = new ObjectId();
    const now = new Date();
    await db()
      .collection('passback_outbox')
      .insertOne({
        _id: id,
        key: `${courseId}|${userId}|competency:C1.1`,
        ...platform,
        courseId,
        contextId: 'ctx',
        courseTitle,
        userId,
        userSub: 'sub',
        userName,
        target: { kind: 'competency', id: 'C1.1' },
        score: {
          scoreGiven: 50,
          scoreMaximum: 100,
          activityProgress: 'Completed',
          gradingProgress: 'FullyGraded',
          timestamp: now.toISOString(),
        },
        version: 1,
        newSubmission: false,
        status: 'sent',
        attemptCount: 1,
        attempts: [],
        nextAttemptAt: now,
        firstQueuedAt: now,
        updatedAt: now,
        sentAt: now,
      });
    return id.toHexString();
  }

  async function scopedAdmin(platform: PlatformKey): Promise<Browser> {
    const admin = newAdmin('scoped');
    await createAdminAccounts(server.connection).create(admin.email, admin.password, platformScope(platform));
    const browser = new Browser();
    const res = await signIn(server, browser, admin.email, admin.password);
    if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
    return browser;
  }

  const ids = (page: PageResponse) => [...ledgerRows(page).keys()].sort();

  test('when the ledger is filtered by a course title, a learner name or an email, then only that course or person shows, and never another platform’s', async () => {
    const mine = tenant('mine');
    const theirs = tenant('theirs');
    const tag = randomBytes(3).toString('hex');
    const cardiology = await course(mine, `Cardiology coaching ${tag}`);
    const surgery = await course(mine, `Surgery coaching ${tag}`);
    const foreign = await course(theirs, `Cardiology coaching ${tag}`);
    const ada = await person(mine, `Ada Quist ${tag}`, `ada.${tag}@med.example`);
    const ben = await person(mine, `Ben Rowe ${tag}`, `ben.${tag}@med.example`);
    const adaElsewhere = await person(theirs, `Ada Quist ${tag}`, `ada.${tag}@med.example`);
    const e1 = await entry(mine, cardiology, `Cardiology coaching ${tag}`, ada, `Ada Quist ${tag}`);
    const e2 = await entry(mine, surgery, `Surgery coaching ${tag}`, ben, `Ben Rowe ${tag}`);
    const e3 = await entry(mine, surgery, `Surgery coaching ${tag}`, ada, `Ada Quist ${tag}`);
    const e4 = await entry(theirs, foreign, `Cardiology coaching ${tag}`, adaElsewhere, `Ada Quist ${tag}`);

    const { browser: global } = await signedInAdmin(server);
    const byTitle = await global.get(`${server.url}/admin/passback?course=${encodeURIComponent(`cardiology COACHING ${tag}`)}`);
    expect(byTitle.status).toBe(200);
    expect(ids(byTitle)).toEqual([e1, e4].sort());
    expect(byTitle.text).toContain(`value="cardiology COACHING ${tag}"`);

    const byName = await global.get(`${server.url}/admin/passback?learner=${encodeURIComponent(`ben rowe ${tag}`)}`);
    expect(ids(byName)).toEqual([e2]);
    const byEmail = await global.get(`${server.url}/admin/passback?learner=${encodeURIComponent(`ada.${tag}@med.example`)}`);
    expect(ids(byEmail)).toEqual([e1, e3, e4].sort());
    const both = await global.get(
      `${server.url}/admin/passback?learner=${encodeURIComponent(`Ada Quist ${tag}`)}&course=${encodeURIComponent(`Surgery coaching ${tag}`)}`,
    );
    expect(ids(both)).toEqual([e3]);

    // Ids keep working (the course links of the page use them).
    const byId = await global.get(`${server.url}/admin/passback?course=${surgery}`);
    expect(ids(byId)).toEqual([e2, e3].sort());

    // Text is matched literally: regular-expression characters find nothing instead of everything.
    const regex = await global.get(`${server.url}/admin/passback?learner=${encodeURIComponent('.*')}`);
    expect(regex.status).toBe(200);
    expect(ledgerRows(regex).size).toBe(0);

    const scoped = await scopedAdmin(mine);
    const scopedTitle = await scoped.get(`${server.url}/admin/passback?course=${encodeURIComponent(`Cardiology coaching ${tag}`)}`);
    expect(ids(scopedTitle)).toEqual([e1]);
    const scopedEmail = await scoped.get(`${server.url}/admin/passback?learner=${encodeURIComponent(`ada.${tag}@med.example`)}`);
    expect(ids(scopedEmail)).toEqual([e1, e3].sort());
    const scopedCsv = await scoped.get(`${server.url}/admin/passback.csv?learner=${encodeURIComponent(`ada.${tag}@med.example`)}`);
    expect(scopedCsv.text).toContain(e1);
    expect(scopedCsv.text).not.toContain(e4);

    const tooLong = await global.get(`${server.url}/admin/passback?learner=${'x'.repeat(201)}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.text).toContain('Learner');
  });

  test('when faculty and administrators act on a course, then the audit log names the course and the people, not their ids', async () => {
    const platform = tenant('audit');
    const tag = randomBytes(3).toString('hex');
    const courseId = await course(platform, `Pediatrics coaching ${tag}`);
    const faculty = await person(platform, `Dr Faye Ortiz ${tag}`, undefined);
    const coach = await person(platform, `Cody Lane ${tag}`, undefined);
    const audit = createAuditLog(server.connection);
    for (const action of ['faculty.rate', 'faculty.observe', 'faculty.grading-settings', 'passback.resync', 'faculty.assignments'] as const)
      await audit.record({ actor: `lti:${faculty}`, action, courseId, platform, subjectUserId: coach, detail: 'test' });

    const { browser } = await signedInAdmin(server);
    const page = await browser.get(`${server.url}/admin/audit`);
    expect(page.status).toBe(200);
    const rows = [...page.text.matchAll(/<tr data-action="([^"]+)">([\s\S]*?)<\/tr>/g)].filter((m) => m[2]!.includes(tag));
    expect(rows.map((m) => m[1]).sort()).toEqual(
      ['faculty.assignments', 'faculty.grading-settings', 'faculty.observe', 'faculty.rate', 'passback.resync'].sort(),
    );
    for (const [, , row] of rows) {
      expect(row).toContain(`Pediatrics coaching ${tag}`);
      expect(row).toContain(`Dr Faye Ortiz ${tag}`);
      expect(row).toContain(`Cody Lane ${tag}`);
      expect(row).not.toContain(courseId);
      expect(row).not.toContain(`lti:${faculty}`);
    }

    // A platform's administrator sees its entries by name too; another platform's administrator sees none of them.
    const own = await (await scopedAdmin(platform)).get(`${server.url}/admin/audit`);
    expect(own.text).toContain(`Pediatrics coaching ${tag}`);
    const other = await (await scopedAdmin(tenant('other'))).get(`${server.url}/admin/audit`);
    expect(other.text).not.toContain(tag);
  });

  test('when an instructor resyncs a course from the LMS, then the administrator reads the instructor, the course title and the action in the audit log', async () => {
    const faculty = new Browser();
    const landing = await launch(server, faculty, launchInput('moodle', 'faculty'));
    const form = parseForms(landing.text, landing.url).find((f) => f.action.endsWith('/course/resync'));
    expect(form).toBeDefined();
    const done = await faculty.post(form!.action, form!.fields);
    expect(done.status).toBe(303);

    const who = seedIds('moodle', 'faculty');
    const { browser } = await signedInAdmin(server);
    const page = await browser.get(`${server.url}/admin/audit`);
    const row = [...page.text.matchAll(/<tr data-action="passback.resync">([\s\S]*?)<\/tr>/g)]
      .map((m) => decodeHtml(m[1]!))
      .find((html) => html.includes(who.name));
    expect(row).toBeDefined();
    expect(row).toContain(`<td data-label="Who">${who.name} <span class="muted">(from the LMS)</span></td>`);
    expect(row).toContain(`<td data-label="Course">${who.courseTitle}</td>`);
    expect(row).toContain('Queued a course resync');
    expect(row).not.toMatch(/lti:[a-f0-9]{24}/);
  });
});
