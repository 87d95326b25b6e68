import { globalScope } from '../../src/admin/admin-scope';
import { Browser } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';
import { createAuditLog } from '../../src/admin/audit-log';
import { createFieldCrypto } from '../../src/privacy/field-crypto';
import { createPrivacyService } from '../../src/privacy/privacy-service';

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
