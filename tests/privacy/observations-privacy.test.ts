import { globalScope } from '../../src/admin/admin-scope';
import { Types } from 'mongoose';
import { Browser } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer, testDataEncryptionKeys, type TestServer } from '../support/test-server';
import { createAuditLog } from '../../src/admin/audit-log';
import { createFieldCrypto, generateKeyEntry } from '../../src/privacy/field-crypto';
import { createPrivacyService } from '../../src/privacy/privacy-service';

jest.setTimeout(180_000);

describe('observations under the privacy rules', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when a coach was observed, then the narrative is sealed at rest, exported with the person and gone after erasure', async () => {
    await launch(server, new Browser(), launchInput('canvas', 'coach'));
    await launch(server, new Browser(), launchInput('canvas', 'faculty'));
    const db = server.connection.db!;
    const coach = (await db.collection('users').findOne({ sub: launchInput('canvas', 'coach').userId }))!;
    const faculty = (await db.collection('users').findOne({ sub: launchInput('canvas', 'faculty').userId }))!;
    const course = (await db.collection('courses').findOne({ contextId: launchInput('canvas', 'coach').contextId }))!;
    const marker = `observation-narrative-${Date.now().toString(36)}`;
    await server.assessment.recordObservation({
      userId: coach._id.toHexString(),
      courseId: course._id.toHexString(),
      observerId: faculty._id.toHexString(),
      observerName: 'Observer',
      observedOn: new Date(),
      setting: 'simulated',
      durationMinutes: 20,
      instrumentVersion: 1,
      ratings: [{ competencyId: 'C2.1', level: 'proficient' }],
      narrative: marker,
    });
    const stored = await db.collection('observations').find({ userId: coach._id }).toArray();
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(marker);

    const privacy = createPrivacyService({
      connection: server.connection,
      crypto: createFieldCrypto(server.config.dataEncryptionKeys),
      audit: createAuditLog(server.connection),
    });
    const exported = await privacy.exportPerson(globalScope, coach._id.toHexString(), 'test@example.edu');
    expect(JSON.stringify(exported.observations)).toContain(marker);

    await privacy.erasePerson(globalScope, coach._id.toHexString(), 'pseudonymise', 'test@example.edu');
    const after = await db.collection('observations').find({ userId: coach._id }).toArray();
    expect(after).toHaveLength(1);
    expect(after[0]!.narrative).toBeUndefined();
    expect(after[0]!.ratings).toEqual(stored[0]!.ratings);
  });
});

describe('observation narratives under the retention policy', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  async function observe(courseIndex: number, narrative: string, shape: 'canvas' | 'moodle' = 'canvas') {
    const coachInput = launchInput(shape, 'coach', {}, courseIndex);
    const facultyInput = launchInput(shape, 'faculty', {}, courseIndex);
    await launch(server, new Browser(), coachInput);
    await launch(server, new Browser(), facultyInput);
    const db = server.connection.db!;
    const coach = (await db.collection('users').findOne({ sub: coachInput.userId }))!;
    const faculty = (await db.collection('users').findOne({ sub: facultyInput.userId }))!;
    const course = (await db.collection('courses').findOne({ contextId: coachInput.contextId }))!;
    const observation = await server.assessment.recordObservation({
      userId: coach._id.toHexString(),
      courseId: course._id.toHexString(),
      observerId: faculty._id.toHexString(),
      observerName: 'Observer',
      observedOn: new Date(),
      setting: 'live',
      durationMinutes: 25,
      instrumentVersion: 1,
      ratings: [{ competencyId: 'C1.1', level: 'expert' }],
      narrative,
    });
    return { course, coach, observation };
  }

  test('when a course passes its retention period, then its observation narratives are listed by the dry run and deleted by the run, while levels, scores and a course within its period keep theirs', async () => {
    const old = await observe(0, 'narrative past retention');
    const recent = await observe(1, 'narrative still kept');
    const db = server.connection.db!;
    await server.privacy.setPolicy(globalScope, { courseId: String(old.course._id) }, 30, 'test');
    await server.privacy.setPolicy(globalScope, { courseId: String(recent.course._id) }, 365, 'test');

    // Within the period: nothing is due.
    expect(await server.privacy.retentionPlan(globalScope, new Date())).toEqual([]);

    const later = new Date(Date.now() + 31 * 86_400_000);
    const scoresBefore = await db.collection('competency_scores').find({ courseId: old.course._id }).toArray();
    const plan = await server.privacy.retentionPlan(globalScope, later);
    expect(plan).toContainEqual({
      source: 'observation',
      attemptId: old.observation.id,
      courseId: String(old.course._id),
      userId: String(old.coach._id),
      itemId: 'observation',
      fields: ['narrative'],
    });
    expect(plan.some((i) => i.attemptId === recent.observation.id)).toBe(false);

    const done = await server.privacy.runRetention(globalScope, 'test', later);
    expect(done).toEqual(plan);
    const swept = (await db.collection('observations').findOne({ _id: new Types.ObjectId(old.observation.id) }))!;
    expect(swept.narrative).toBeUndefined();
    expect(swept.ratings).toEqual([{ competencyId: 'C1.1', level: 'expert' }]);
    const kept = (await db.collection('observations').findOne({ _id: new Types.ObjectId(recent.observation.id) }))!;
    expect(kept.narrative).toBeDefined();
    expect((await server.assessment.observationsFor(String(recent.coach._id), String(recent.course._id)))[0]!.narrative).toBe(
      'narrative still kept',
    );
    expect(await db.collection('competency_scores').find({ courseId: old.course._id }).toArray()).toEqual(scoresBefore);
    expect(await server.privacy.retentionPlan(globalScope, later)).toEqual([]);
  });

  test('when faculty record an observation in a course, then that counts as course activity and restarts its retention period', async () => {
    const first = await observe(0, 'first narrative', 'moodle');
    const db = server.connection.db!;
    await server.privacy.setPolicy(globalScope, { courseId: String(first.course._id) }, 30, 'test');
    // The launches and the observation happened 40 days ago …
    const past = new Date(Date.now() - 40 * 86_400_000);
    await db.collection('courses').updateOne({ _id: first.course._id }, { $set: { lastLaunchAt: past } });
    await db
      .collection('observations')
      .updateOne({ _id: new Types.ObjectId(first.observation.id) }, { $set: { createdAt: past, observedOn: past } });
    expect((await server.privacy.retentionPlan(globalScope)).some((i) => i.attemptId === first.observation.id)).toBe(true);
    // … and a colleague observes the coach today, without launching: the course is active again.
    await server.assessment.recordObservation({
      userId: String(first.coach._id),
      courseId: String(first.course._id),
      observerId: new Types.ObjectId().toHexString(),
      observerName: 'Second observer',
      observedOn: new Date(),
      setting: 'recorded',
      durationMinutes: 15,
      instrumentVersion: 1,
      ratings: [{ competencyId: 'C2.1', level: 'developing' }],
      narrative: 'second narrative',
    });
    expect((await server.privacy.retentionPlan(globalScope)).filter((i) => i.courseId === String(first.course._id))).toEqual([]);
  });
});

describe('observation narratives under key rotation', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when keys are rotated, then observation narratives are re-encrypted under the new key and read without the old one', async () => {
    await launch(server, new Browser(), launchInput('canvas', 'coach'));
    const db = server.connection.db!;
    const coach = (await db.collection('users').findOne({ sub: launchInput('canvas', 'coach').userId }))!;
    const course = (await db.collection('courses').findOne({ contextId: launchInput('canvas', 'coach').contextId }))!;
    const observation = await server.assessment.recordObservation({
      userId: coach._id.toHexString(),
      courseId: course._id.toHexString(),
      observerId: new Types.ObjectId().toHexString(),
      observerName: 'Observer',
      observedOn: new Date(),
      setting: 'live',
      durationMinutes: 10,
      instrumentVersion: 1,
      ratings: [{ competencyId: 'C3.1', level: 'developing' }],
      narrative: 'narrative under the old key',
    });
    const next = generateKeyEntry('next');
    const rotated = createFieldCrypto(`${next},${testDataEncryptionKeys}`);
    const privacy = createPrivacyService({ connection: server.connection, crypto: rotated, audit: createAuditLog(server.connection) });
    expect((await privacy.rotateKeys()).rewritten).toBeGreaterThanOrEqual(1);
    const stored = (await db.collection('observations').findOne({ _id: new Types.ObjectId(observation.id) }))!;
    expect((stored.narrative as { kid: string }).kid).toBe('next');
    // The old key can now go: the new key alone opens the narrative.
    expect(createFieldCrypto(next).decrypt(stored.narrative as never)).toBe('narrative under the old key');
    expect((await privacy.rotateKeys()).rewritten).toBe(0);
  });
});
