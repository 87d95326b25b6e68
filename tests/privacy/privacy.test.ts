/**
 * Issue 16: minimal data, sensitive text encrypted at rest, retention, subject rights, access trail and
 * logs without personal data — on the real app, the built-in platform and a real wire-protocol database.
 */
import { Types } from 'mongoose';
import { globalScope, platformScope } from '../../src/admin/admin-scope';
import { createAuditLog } from '../../src/admin/audit-log';
import { createFieldCrypto, generateKeyEntry, isSealed } from '../../src/privacy/field-crypto';
import { createPrivacyService } from '../../src/privacy/privacy-service';
import { runPrivacyCommand } from '../../src/privacy/cli/commands';
import { csrfOf, signedInAdmin } from '../admin/support';
import { Browser, parseForms, type PageResponse } from '../support/browser';
import { hurry } from '../support/coach';
import { launch, launchInput, seedIds } from '../support/lti-launch';
import { createLogger } from '../../src/shared/logger';
import { devPlatformDirectory } from '../../src/devplatform';
import { LogCapture, startTestServer, testDataEncryptionKeys, type TestServer } from '../support/test-server';

type Row = Record<string, unknown>;

/** Every document of every collection, as JSON text: what a database dump or backup would reveal. */
async function dump(server: TestServer): Promise<string> {
  const db = server.connection.db!;
  const parts: string[] = [];
  for (const c of await db.listCollections().toArray()) {
    // The built-in test LMS keeps its own users in the same database: that is the LMS's data, not ours.
    if (c.name.startsWith('devplatform')) continue;
    for (const doc of await db.collection(c.name).find({}).toArray()) parts.push(`${c.name} ${JSON.stringify(doc)}`);
  }
  return parts.join('\n');
}

/** Every stored document (collection, id, JSON) whose JSON mentions one of the strings. */
async function documentsMentioning(server: TestServer, needles: string[]): Promise<{ collection: string; id: string }[]> {
  const db = server.connection.db!;
  const found: { collection: string; id: string }[] = [];
  for (const c of await db.listCollections().toArray()) {
    if (c.name.startsWith('devplatform')) continue;
    for (const doc of await db.collection(c.name).find({}).toArray()) {
      const json = JSON.stringify(doc);
      if (needles.some((n) => json.includes(n))) found.push({ collection: c.name, id: String(doc._id) });
    }
  }
  return found;
}

/** Moves every activity of a course (launches, attempts, answers) back to 1970. */
async function ageCourse(server: TestServer, courseId: unknown): Promise<void> {
  const db = server.connection.db!;
  await db.collection('courses').updateOne({ _id: courseId as never }, { $set: { lastLaunchAt: new Date(0) } });
  for (const a of await db.collection('attempts').find({ courseId }).toArray())
    await db.collection('attempts').updateOne(
      { _id: a._id },
      {
        $set: {
          startedAt: new Date(0),
          completedAt: new Date(0),
          answers: (a.answers as Row[]).map((x) => ({ ...x, submittedAt: new Date(0) })),
        },
      },
    );
}

let counter = 0;
const marker = (label: string): string => `${label}-${Date.now().toString(36)}-${(counter += 1)}-zq`;

async function userDoc(server: TestServer, sub: string): Promise<Row> {
  const doc = await server.connection.db!.collection('users').findOne({ sub });
  if (!doc) throw new Error(`no user ${sub}`);
  return doc;
}

/** A coach launches into a module and finishes it, writing `text` into every reflection. */
async function coachFinishes(server: TestServer, persona: 'coach' | 'coach2', moduleId: string, text: string, courseIndex = 0) {
  const browser = new Browser();
  const landing = await launch(server, browser, launchInput('canvas', persona, { custom: { module_id: moduleId } }, courseIndex));
  const pages = await hurry(browser, landing, 200, text);
  return { browser, pages, result: pages[pages.length - 1]! };
}

/** A second instructor of a canvas course of the built-in platform (the `faculty` persona is the first). */
function secondInstructor(courseIndex: number): string {
  const dir = devPlatformDirectory();
  const course = dir.courses.filter((c) => c.shape === 'canvas')[courseIndex]!;
  const instructors = dir.users.filter((u) =>
    u.enrollments.some((e) => e.contextId === course.contextId && e.status === 'Active' && String(e.role).toLowerCase() === 'instructor'),
  );
  const first = seedIds('canvas', 'faculty', courseIndex).userId;
  return instructors.find((u) => u.userId !== first)!.userId;
}

/** A faculty member opens a reflection's rating page and rates it with every criterion and a comment. */
async function rate(server: TestServer, faculty: Browser, path: string, comment: string): Promise<PageResponse> {
  const page = await faculty.get(`${server.url}${path}`);
  expect(page.status).toBe(200);
  const form = parseForms(page.text, page.url).find((f) => f.action.endsWith(path))!;
  const criteria = Object.keys(form.choices).filter((n) => n.startsWith('criterion-'));
  expect(criteria.length).toBeGreaterThan(0);
  const saved = await faculty.post(form.action, { ...form.fields, ...Object.fromEntries(criteria.map((n) => [n, 'proficient'])), comment });
  expect(saved.status).toBe(303);
  return page;
}

describe('privacy and data stewardship', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, { tuning: {} });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when the LMS sends no name or email (anonymous privacy), then coach and faculty still work end to end under a stable pseudonym', async () => {
    const ids = seedIds('canvas', 'coach', 1);
    const browser = new Browser();
    const landing = await launch(
      server,
      browser,
      launchInput('canvas', 'coach', { privacyLevel: 'anonymous', custom: { module_id: 'M02' } }, 1),
    );
    expect(landing.status).toBe(200);
    const user = await userDoc(server, ids.userId);
    expect(user.name).toMatch(/^Coach [0-9A-F]{6}$/);
    expect(user.email).toBeUndefined();
    expect(user.nameSource).toBe('pseudonym');
    expect(landing.text).toContain(String(user.name));
    expect(landing.text).not.toContain(ids.name);
    const pages = await hurry(browser, landing);
    expect(new URL(pages[pages.length - 1]!.url).pathname).toMatch(/\/result$/);

    // The same person launching again keeps the same pseudonym; a public launch brings the real name back.
    await launch(server, new Browser(), launchInput('canvas', 'coach', { privacyLevel: 'anonymous' }, 1));
    expect((await userDoc(server, ids.userId)).name).toBe(user.name);
    const faculty = new Browser();
    await launch(server, faculty, launchInput('canvas', 'faculty', { privacyLevel: 'anonymous' }, 1));
    const reflections = await faculty.get(`${server.url}/course/reflections`);
    expect(reflections.status).toBe(200);
    // The faculty landing page reads the NRPS roster, whose name (the registration grants names there) replaces the
    // pseudonym (src/privacy/roster-names.ts); without a roster name faculty would see the pseudonym.
    const named = await userDoc(server, ids.userId);
    expect(named.nameSource).toBe('roster');
    expect(reflections.text).toContain(String(named.name));
    await launch(server, new Browser(), launchInput('canvas', 'coach', {}, 1));
    expect((await userDoc(server, ids.userId)).name).toBe(ids.name);
  });

  test('when a coach launches anonymously and the NRPS roster names them, then the roster name is shown from then on', async () => {
    const ids = seedIds('canvas', 'coach2', 1);
    await launch(server, new Browser(), launchInput('canvas', 'coach2', { privacyLevel: 'anonymous' }, 1));
    expect((await userDoc(server, ids.userId)).name).toMatch(/^Coach [0-9A-F]{6}$/);
    const faculty = new Browser();
    await launch(server, faculty, launchInput('canvas', 'faculty', {}, 1));
    const roster = await faculty.get(`${server.url}/course/roster`);
    expect(roster.status).toBe(200);
    expect((await userDoc(server, ids.userId)).name).toBe(ids.name);
    const again = await launch(server, new Browser(), launchInput('canvas', 'coach2', { privacyLevel: 'anonymous' }, 1));
    expect(again.text).toContain(ids.name);
    expect((await userDoc(server, ids.userId)).nameSource).toBe('roster');
  });

  test('when a coach submits a reflection and two faculty rate it with comments, then no collection holds the text or a comment in the clear, and the coach and faculty still read them', async () => {
    const text = marker('reflection-secret');
    const firstComment = marker('first-comment-secret');
    const secondComment = marker('second-comment-secret');
    const { browser: coach, pages } = await coachFinishes(server, 'coach', 'M03', text, 1);
    expect(pages.some((p) => p.text.includes(text))).toBe(true);

    const db = server.connection.db!;
    const coachDoc = await userDoc(server, seedIds('canvas', 'coach', 1).userId);
    const attempt = (await db.collection('attempts').findOne({ moduleId: 'M03', userId: coachDoc._id }))!;
    const reflections = (attempt.answers as Row[]).filter((a) => a.kind === 'reflection');
    expect(reflections.length).toBeGreaterThan(0);
    for (const r of reflections) expect(isSealed(r.text)).toBe(true);
    const itemId = String(reflections[0]!.itemId);
    const path = `/course/reflections/${String(attempt._id)}/${itemId}`;

    // Through the repository the coach's attempt reads in the clear.
    const read = await server.assessment.reflectionsForCourse(String(attempt.courseId));
    expect(read.some((r) => r.text === text)).toBe(true);
    // Faculty find the reflection on the list (which shows no text) and read it on its rating page.
    const faculty = new Browser();
    await launch(server, faculty, launchInput('canvas', 'faculty', {}, 1));
    const list = await faculty.get(`${server.url}/course/reflections`);
    expect(list.text).toContain(path);
    expect(list.text).not.toContain(text);
    const page = await rate(server, faculty, path, firstComment);
    expect(page.text).toContain(text);
    const second = new Browser();
    await launch(server, second, launchInput('canvas', 'faculty', { userId: secondInstructor(1) }, 1));
    await rate(server, second, path, secondComment);

    const all = await dump(server);
    for (const secret of [text, firstComment, secondComment]) expect(all).not.toContain(secret);
    const stored = (await db.collection('attempts').findOne({ _id: attempt._id }))!;
    const rated = (stored.answers as Row[]).find((a) => a.itemId === itemId)!;
    expect(isSealed(rated.facultyComment)).toBe(true);
    expect(isSealed(rated.secondComment)).toBe(true);
    // Each rater reads their own comment back; the coach sees the comment of the rating of record.
    expect((await faculty.get(`${server.url}${path}`)).text).toContain(firstComment);
    expect((await second.get(`${server.url}${path}`)).text).toContain(secondComment);
    const module = await server.assessment.currentModule('M03');
    const section = module.sections.findIndex((x) => x.id === module.items.find((i) => i.id === itemId)!.section) + 1;
    const coachView = await coach.get(`${server.url}/modules/M03/attempts/${String(attempt._id)}/sections/${section}`);
    expect(coachView.text).toContain(text);
    expect(coachView.text).toContain(firstComment);
    const own = JSON.stringify(await server.privacy.exportOwn(String(coachDoc._id)));
    expect(own).toContain(firstComment);
    expect(own).toContain(secondComment);
  });

  test('when a faculty comment is stored next to a rating, then it is sealed at rest too and reads back in the clear', async () => {
    const comment = marker('comment-secret');
    const { result } = await coachFinishes(server, 'coach2', 'M04', 'reflection for a comment');
    expect(result.status).toBe(200);
    const db = server.connection.db!;
    const attempt = (await db.collection('attempts').findOne({ moduleId: 'M04' }))!;
    const index = (attempt.answers as Row[]).findIndex((a) => a.kind === 'reflection');
    // The way a rating with a comment is written: one $set by path through the model.
    await server.connection.models.Attempt!.updateOne({ _id: attempt._id }, { $set: { [`answers.${index}.comment`]: comment } });
    expect(await dump(server)).not.toContain(comment);
    const stored = (await db.collection('attempts').findOne({ _id: attempt._id }))!;
    expect(isSealed((stored.answers as Row[])[index]!.comment)).toBe(true);
    const exported = JSON.stringify(await server.privacy.exportOwn(String(attempt.userId)));
    expect(exported).toContain(comment);
  });

  test('when keys are rotated, then every text (legacy plaintext included) is under the new key, a second run changes nothing, and texts still read', async () => {
    const text = marker('rotate');
    await coachFinishes(server, 'coach', 'M05', text);
    const db = server.connection.db!;
    const legacy = marker('legacy-plain');
    const attempt = (await db.collection('attempts').findOne({ moduleId: 'M05' }))!;
    const index = (attempt.answers as Row[]).findIndex((a) => a.kind === 'reflection');
    // A record written before encryption existed: plain text.
    await db.collection('attempts').updateOne({ _id: attempt._id }, { $set: { [`answers.${index}.comment`]: legacy } });

    const rotated = createFieldCrypto(`${generateKeyEntry('next')},${testDataEncryptionKeys}`);
    const privacy = createPrivacyService({ connection: server.connection, crypto: rotated, audit: createAuditLog(server.connection) });
    const lines: string[] = [];
    expect(await runPrivacyCommand(['rotate-keys', '--batch', '2'], privacy, (l) => lines.push(l))).toBe(0);
    expect(lines.some((l) => /fields re-encrypted/.test(l))).toBe(true);
    for (const doc of await db.collection('attempts').find({}).toArray()) {
      for (const a of doc.answers as Row[]) {
        for (const f of ['text', 'comment']) if (a[f] !== undefined) expect(a[f]).toMatchObject({ kid: 'next' });
      }
    }
    expect((await privacy.rotateKeys()).rewritten).toBe(0);
    expect(await dump(server)).not.toContain(legacy);
    const own = JSON.stringify(await privacy.exportOwn(String(attempt.userId)));
    expect(own).toContain(text);
    expect(own).toContain(legacy);
  });
});

describe('log redaction', () => {
  test('when a log call carries names, emails, free text or tokens, then the line shows none of them', () => {
    const capture = new LogCapture();
    const logger = createLogger('info', capture);
    const secrets = ['Ada Lovelace', 'ada@example.edu', 'my private reflection', 'tok-123456', 'Lovelace'];
    logger.info(
      {
        user: { name: secrets[0], email: secrets[1], given_name: 'Ada', family_name: secrets[4] },
        text: secrets[2],
        launch: { userName: secrets[0], claims: { email: secrets[1] } },
        body: { token: secrets[3], comment: secrets[2] },
        req: { body: { text: secrets[2] } },
      },
      'a careless log call',
    );
    const line = JSON.stringify(capture.lines);
    expect(capture.lines).toHaveLength(1);
    for (const secret of secrets) expect(line).not.toContain(secret);
  });
});

describe('retention', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when a platform policy has run out for a course, then the sweep deletes exactly the dry run list: texts go, scores stay, the overridden course keeps its texts', async () => {
    await coachFinishes(server, 'coach', 'M01', 'old course text', 0);
    await coachFinishes(server, 'coach', 'M01', 'kept course text', 1);
    const db = server.connection.db!;
    const [course0, course1] = await Promise.all(
      [0, 1].map(async (i) => (await db.collection('courses').findOne({ contextId: seedIds('canvas', 'coach', i).contextId }))!),
    );
    const platform = { issuer: String(course0!.issuer), clientId: String(course0!.clientId) };
    await server.privacy.setPolicy(globalScope, { platform }, 30, 'test');
    await server.privacy.setPolicy(globalScope, { courseId: String(course1!._id) }, 365, 'test');

    // Shown to coaches and faculty on their pages.
    const coach = new Browser();
    const page = await launch(server, coach, launchInput('canvas', 'coach'));
    expect(page.text).toContain('deleted 30 days after the course');

    // A first and a second rater commented on the old course's reflection: the comments are free text too.
    const old = (await db.collection('attempts').findOne({ courseId: course0!._id }))!;
    const reflection = String((old.answers as Row[]).find((a) => a.kind === 'reflection')!.itemId);
    for (const rater of [new Types.ObjectId(), new Types.ObjectId()])
      await server.assessment.rateReflection({ userId: rater.toHexString(), courseId: String(course0!._id) }, String(old._id), reflection, {
        criteria: (await server.assessment.reflectionsForCourse(String(course0!._id)))
          .find((r) => r.attemptId === String(old._id) && r.itemId === reflection)!
          .rubric.criteria!.map((c) => ({ criterionId: c.id, level: 'proficient' as const })),
        comment: marker('retained-comment'),
      });
    const commented = (await db.collection('attempts').findOne({ _id: old._id }))!;
    expect((commented.answers as Row[]).find((a) => a.itemId === reflection)).toMatchObject({
      facultyComment: expect.anything(),
      secondComment: expect.anything(),
    });

    const later = new Date(Date.now() + 31 * 86_400_000);
    const scoresBefore = await db.collection('competency_scores').find({}).toArray();
    const historyBefore = await db.collection('competency_score_history').find({}).toArray();
    const dry = await server.privacy.retentionPlan(globalScope, later);
    expect(dry.length).toBeGreaterThan(0);
    expect(new Set(dry.map((i) => i.courseId))).toEqual(new Set([String(course0!._id)]));
    expect(dry.find((i) => i.attemptId === String(old._id) && i.itemId === reflection)?.fields).toEqual(
      expect.arrayContaining(['text', 'facultyComment', 'secondComment']),
    );
    // Not yet due: nothing listed.
    expect(await server.privacy.retentionPlan(globalScope, new Date())).toEqual([]);

    const done = await server.privacy.runRetention(globalScope, 'test', later);
    expect(done).toEqual(dry);
    const texts = (await db.collection('attempts').find({ courseId: course0!._id }).toArray()).flatMap((a) =>
      (a.answers as Row[]).filter(
        (x) => x.text !== undefined || x.comment !== undefined || x.facultyComment !== undefined || x.secondComment !== undefined,
      ),
    );
    expect(texts).toEqual([]);
    const kept = (await db.collection('attempts').find({ courseId: course1!._id }).toArray()).flatMap((a) =>
      (a.answers as Row[]).filter((x) => x.text !== undefined),
    );
    expect(kept.length).toBeGreaterThan(0);
    expect(await db.collection('competency_scores').find({}).toArray()).toEqual(scoresBefore);
    expect(await db.collection('competency_score_history').find({}).toArray()).toEqual(historyBefore);
    expect(await server.privacy.retentionPlan(globalScope, later)).toEqual([]);
  });

  test('when an administrator opens the dry-run report and runs it, then the page lists what the run deletes', async () => {
    await coachFinishes(server, 'coach2', 'M06', 'report text', 0);
    const db = server.connection.db!;
    const course = (await db.collection('courses').findOne({ contextId: seedIds('canvas', 'coach', 0).contextId }))!;
    await server.privacy.setPolicy(globalScope, { courseId: String(course._id) }, 1, 'test');
    await ageCourse(server, course._id);
    const lines: string[] = [];
    await runPrivacyCommand(['retention', '--dry-run'], server.privacy, (l) => lines.push(l));
    const planned = await server.privacy.retentionPlan(globalScope);
    expect(planned.length).toBeGreaterThan(0);
    expect(lines[lines.length - 1]).toBe(`dry run: would delete ${planned.length} free text(s)`);

    const { browser } = await signedInAdmin(server, 'retention');
    const report = await browser.get(`${server.url}/admin/privacy/retention`);
    expect(report.status).toBe(200);
    expect(report.text).toContain(`<strong id="retention-count">${planned.length}</strong>`);
    const run = await browser.post(`${server.url}/admin/privacy/retention/run`, { _csrf: csrfOf(report) });
    expect(run.status).toBe(303);
    expect(await server.privacy.retentionPlan(globalScope)).toEqual([]);
    const audit = await createAuditLog(server.connection).list({ scope: globalScope, action: 'privacy.retention-run' });
    expect(audit[0]?.count).toBe(planned.length);
  });
});

describe('the scheduled retention sweep', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ PRIVACY_SWEEP_INTERVAL_MS: '300' });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when a course passes its retention period while the server runs, then the sweep deletes its texts by itself and audits it', async () => {
    await coachFinishes(server, 'coach', 'M02', 'swept text', 0);
    const db = server.connection.db!;
    const course = (await db.collection('courses').findOne({ contextId: seedIds('canvas', 'coach', 0).contextId }))!;
    await server.privacy.setPolicy(globalScope, { courseId: String(course._id) }, 1, 'test');
    await ageCourse(server, course._id);
    const until = Date.now() + 20_000;
    const textsLeft = async () =>
      (await db.collection('attempts').find({ courseId: course._id }).toArray()).flatMap((a) =>
        (a.answers as Row[]).filter((x) => x.text !== undefined),
      ).length;
    expect(await textsLeft()).toBeGreaterThan(0);
    while ((await textsLeft()) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(await textsLeft()).toBe(0);
    const audit = await createAuditLog(server.connection).list({ scope: globalScope, action: 'privacy.retention-run' });
    expect(audit[0]?.actor).toBe('system:retention-sweep');
  });
});

describe('subject rights, access trail and logs', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  const person = (persona: 'coach' | 'coach2' | 'faculty') => seedIds('canvas', persona, 1);
  /** The email the LMS sent for a person (known once they launched). */
  const emailOf = async (sub: string): Promise<string> => String((await userDoc(server, sub)).email);

  test('when a full launch → module → reflection → rating flow runs with personal data, then no name, email, reflection text, comment or token is logged', async () => {
    const text = marker('logged-reflection');
    const comment = marker('logged-comment');
    const coach = person('coach');
    const faculty = person('faculty');
    const browser = new Browser();
    const landing = await launch(server, browser, launchInput('canvas', 'coach', { custom: { module_id: 'M07' } }, 1));
    await hurry(browser, landing, 200, text);
    const fb = new Browser();
    await launch(server, fb, launchInput('canvas', 'faculty', {}, 1));
    const list = await fb.get(`${server.url}/course/reflections`);
    const coachDoc = await userDoc(server, coach.userId);
    const attempt = (await server.connection.db!.collection('attempts').findOne({ userId: coachDoc._id, moduleId: 'M07' }))!;
    const itemId = String((attempt.answers as Row[]).find((a) => a.kind === 'reflection')!.itemId);
    const link = `/course/reflections/${String(attempt._id)}/${itemId}`;
    expect(list.text).toContain(link);
    const page = await rate(server, fb, link, comment);
    expect(page.text).toContain(text);
    expect((await fb.get(`${server.url}${link}`)).text).toContain(comment);
    expect((await fb.get(`${server.url}/course`)).status).toBe(200);
    // An administrator searching for the coach by name and e-mail.
    const { browser: admin } = await signedInAdmin(server, 'logscan');
    expect((await admin.get(`${server.url}/admin/privacy?q=${encodeURIComponent(coach.name)}`)).status).toBe(200);
    expect((await admin.get(`${server.url}/admin/privacy?q=${encodeURIComponent(await emailOf(coach.userId))}`)).status).toBe(200);

    const logged = JSON.stringify(server.logs.lines);
    expect(server.logs.lines.length).toBeGreaterThan(5);
    const emails = [await emailOf(coach.userId), await emailOf(faculty.userId)];
    expect(emails[0]).toMatch(/@/);
    // Plain and as they appear in URLs.
    for (const secret of [text, comment, coach.name, faculty.name, ...emails]) {
      expect(logged).not.toContain(secret);
      expect(logged).not.toContain(encodeURIComponent(secret));
    }
    expect(logged).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}/);
  });

  test('when a scoped administrator exports a coach, then the JSON holds every record of that coach and nothing of another coach, and the coach sees the read', async () => {
    const text = marker('export-reflection');
    const coach = person('coach');
    const other = person('coach2');
    await coachFinishes(server, 'coach', 'M08', text, 1);
    await coachFinishes(server, 'coach2', 'M08', marker('other-reflection'), 1);
    const coachDoc = await userDoc(server, coach.userId);
    const otherDoc = await userDoc(server, other.userId);
    const coachId = String(coachDoc._id);
    const db = server.connection.db!;
    const reads = () => db.collection('admin_audit_log').find({ action: 'reflection.read', subjectUserId: coachId }).toArray();
    const readsBefore = (await reads()).length;
    const faculty = new Browser();
    await launch(server, faculty, launchInput('canvas', 'faculty', {}, 1));
    // The list shows no reflection text: opening it is not a read of the coach's reflections.
    expect((await faculty.get(`${server.url}/course/reflections`)).status).toBe(200);
    expect(await reads()).toHaveLength(readsBefore);
    const attempt = (await db.collection('attempts').findOne({ userId: coachDoc._id, moduleId: 'M08' }))!;
    const itemId = String((attempt.answers as Row[]).find((a) => a.kind === 'reflection')!.itemId);
    const readAt = Date.now();
    const reflectionPage = await faculty.get(`${server.url}/course/reflections/${String(attempt._id)}/${itemId}`);
    expect(reflectionPage.text).toContain(text);
    // The rating page showed the text: one entry saying who read which coach's which reflection, and when.
    const newReads = (await reads()).slice(readsBefore);
    expect(newReads).toHaveLength(1);
    const facultyDoc = await userDoc(server, person('faculty').userId);
    expect(newReads[0]).toMatchObject({ actor: `lti:${String(facultyDoc._id)}`, subjectUserId: coachId });
    expect(String(newReads[0]!.detail)).toContain(itemId);
    expect((newReads[0]!.at as Date).getTime()).toBeGreaterThanOrEqual(readAt - 1000);
    const exportComment = marker('export-comment');
    await rate(server, faculty, `/course/reflections/${String(attempt._id)}/${itemId}`, exportComment);
    expect(await db.collection('competency_score_history').countDocuments({ userId: coachDoc._id })).toBeGreaterThan(0);
    const platform = { issuer: String(coachDoc.issuer), clientId: String(coachDoc.clientId) };

    const { browser, email } = await signedInAdmin(server, 'privacy');
    await server.connection.db!.collection('admin_accounts').updateOne({ email }, { $set: { scope: platformScope(platform) } });
    const search = await browser.get(`${server.url}/admin/privacy?q=${encodeURIComponent(coach.name)}`);
    expect(search.text).toContain(`/admin/privacy/people/${coachId}`);
    const personPage = await browser.get(`${server.url}/admin/privacy/people/${coachId}`);
    expect(personPage.status).toBe(200);
    const exported = await browser.post(`${server.url}/admin/privacy/people/${coachId}/export`, { _csrf: csrfOf(personPage) });
    expect(exported.status).toBe(200);
    const data = JSON.parse(exported.text) as Record<string, unknown>;
    const json = exported.text;
    expect(json).toContain(text);
    expect(json).toContain(exportComment);
    expect(json).toContain(String(coachDoc.email));
    // Every score snapshot ever computed for the coach, not only the latest.
    const history = await db.collection('competency_score_history').find({ userId: coachDoc._id }).toArray();
    expect((data.competencyScoreHistory as Row[]).map((h) => h.id).sort()).toEqual(history.map((h) => String(h._id)).sort());

    // Every stored document about the coach (by id or LMS id) is in the export; the audit entries of
    // reads are listed as readers; the other coach appears nowhere.
    const about = await documentsMentioning(server, [coachId, coach.userId]);
    const exportedIds = new Set<string>();
    const collectIds = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(collectIds);
      else if (v && typeof v === 'object') {
        const o = v as Row;
        if (typeof o.id === 'string') exportedIds.add(o.id);
        Object.values(o).forEach(collectIds);
      }
    };
    collectIds(data);
    // Audit entries are listed as readers (not by id); sessions are deleted on erasure, not exported.
    const missing = about.filter((d) => !exportedIds.has(d.id) && !['admin_audit_log', 'sessions'].includes(d.collection));
    expect(missing).toEqual([]);
    for (const secret of [String(otherDoc._id), other.userId, other.name, String(otherDoc.email)]) expect(json).not.toContain(secret);

    // Another platform's administrator does not find the person at all.
    await server.connection
      .db!.collection('admin_accounts')
      .updateOne({ email }, { $set: { scope: platformScope({ issuer: 'https://elsewhere.example.edu', clientId: 'x' }) } });
    expect((await browser.get(`${server.url}/admin/privacy/people/${coachId}`)).status).toBe(404);

    // The coach sees who read their reflections, and downloads their own record.
    const coachBrowser = new Browser();
    await launch(server, coachBrowser, launchInput('canvas', 'coach', {}, 1));
    const profile = await coachBrowser.get(`${server.url}/profile`);
    const readers = /<table id="reflection-readers">([\s\S]*?)<\/table>/.exec(profile.text)?.[1] ?? '';
    expect(readers).toContain(person('faculty').name);
    expect(readers).toContain('exported your data');
    const own = await coachBrowser.get(`${server.url}/my/record.json`);
    expect(own.status).toBe(200);
    expect(own.text).toContain(text);
    expect(own.text).not.toContain(other.name);
    const audit = await createAuditLog(server.connection).list({ scope: globalScope, subjectUserId: coachId });
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['reflection.read', 'privacy.export']));
  });

  test('when an administrator pseudonymises a coach, then no personal data of theirs remains and program statistics keep their count', async () => {
    const text = marker('erase-reflection');
    const coach = person('coach2');
    await coachFinishes(server, 'coach2', 'M09', text, 1);
    const db = server.connection.db!;
    const coachDoc = await userDoc(server, coach.userId);
    const coachId = String(coachDoc._id);
    const coachEmail = String(coachDoc.email);
    const scoresBefore = await db.collection('competency_scores').countDocuments({});
    const mine = await db.collection('competency_scores').find({ userId: coachDoc._id }).toArray();
    expect(mine.length).toBeGreaterThan(0);
    const historyBefore = await db.collection('competency_score_history').find({ userId: coachDoc._id }).toArray();
    expect(historyBefore.length).toBeGreaterThan(0);

    const { browser } = await signedInAdmin(server, 'eraser');
    const page = await browser.get(`${server.url}/admin/privacy/people/${coachId}`);
    const refused = await browser.post(`${server.url}/admin/privacy/people/${coachId}/erase`, {
      _csrf: csrfOf(page),
      mode: 'pseudonymise',
    });
    expect(refused.status).toBe(400);
    expect((await userDoc(server, coach.userId)).name).toBe(coach.name);
    const done = await browser.post(`${server.url}/admin/privacy/people/${coachId}/erase`, {
      _csrf: csrfOf(page),
      mode: 'pseudonymise',
      confirm: 'ERASE',
    });
    expect(done.status).toBe(303);

    const all = await dump(server);
    for (const secret of [coach.name, coachEmail, coach.userId]) expect(all.split('\n').filter((l) => l.includes(secret))).toEqual([]);
    const sealedLeft = (await db.collection('attempts').find({ userId: coachDoc._id }).toArray()).flatMap((a) =>
      (a.answers as Row[]).filter((x) => x.text !== undefined),
    );
    expect(sealedLeft).toEqual([]);
    expect(await db.collection('competency_scores').countDocuments({})).toBe(scoresBefore);
    expect(await db.collection('competency_scores').find({ userId: coachDoc._id }).toArray()).toEqual(mine);
    // The score history stays too, as anonymous contributions (it points only at the pseudonymised record).
    expect(await db.collection('competency_score_history').find({ userId: coachDoc._id }).toArray()).toEqual(historyBefore);
    const audit = await createAuditLog(server.connection).list({ scope: globalScope, action: 'privacy.erase' });
    expect(audit[0]?.detail).toBe(`user ${coachId} (pseudonymise)`);

    // Launching again, the person is a new, unrelated record.
    await launch(server, new Browser(), launchInput('canvas', 'coach2', {}, 1));
    expect(String((await userDoc(server, coach.userId))._id)).not.toBe(coachId);
  });

  test('when the command line erases with --remove-scores, then the scores go too', async () => {
    await coachFinishes(server, 'coach', 'M10', 'remove me', 1);
    const db = server.connection.db!;
    const coachDoc = await userDoc(server, person('coach').userId);
    expect(await db.collection('competency_score_history').countDocuments({ userId: coachDoc._id })).toBeGreaterThan(0);
    const lines: string[] = [];
    await expect(runPrivacyCommand(['erase', '--user', String(coachDoc._id)], server.privacy, (l) => lines.push(l))).rejects.toThrow(
      '--yes',
    );
    expect(
      await runPrivacyCommand(['erase', '--user', String(coachDoc._id), '--remove-scores', '--yes'], server.privacy, (l) => lines.push(l)),
    ).toBe(0);
    expect(await db.collection('competency_scores').countDocuments({ userId: coachDoc._id })).toBe(0);
    expect(await db.collection('competency_score_history').countDocuments({ userId: coachDoc._id })).toBe(0);
    expect(await db.collection('attempts').countDocuments({ userId: coachDoc._id })).toBe(0);
  });
});

export type { PageResponse };
