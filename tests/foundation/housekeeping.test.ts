import { sweepRules } from '../../src/db/housekeeping';
import { Browser } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

describe('housekeeping of short-lived launch records (the embedded database has no TTL)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when launches leave login attempts, nonces and sessions behind, then a sweep later removes exactly the expired ones', async () => {
    const db = server.connection.db!;
    for (let i = 0; i < 3; i += 1) await launch(server, new Browser(), launchInput('canvas', 'coach'));
    const fresh = {
      attempts: await db.collection('lti_login_attempts').countDocuments(),
      // The replay guard: each launch spent its login (state and nonce) in the same record.
      spent: await db.collection('lti_login_attempts').countDocuments({ usedAt: { $exists: true } }),
    };
    expect(fresh.attempts).toBeGreaterThanOrEqual(3);
    expect(fresh.spent).toBeGreaterThanOrEqual(3);

    // Records as old as each rule's limit plus a minute, one per swept collection, and one just inside it.
    const now = new Date();
    for (const rule of sweepRules) {
      const old = new Date(now.getTime() - rule.maxAgeMs - 60_000);
      const recent = new Date(now.getTime() - rule.maxAgeMs + 60_000);
      // Unique keys some collections index (state, nonce…) get distinct values.
      const ids = (tag: string) => {
        const v = `${rule.collection}-${tag}`;
        return { state: v, nonce: v, token: v, platformUrl: v, clientId: v, scopes: v, iss: v, contextId: v, user: v };
      };
      await db.collection(rule.collection).insertMany([
        { [rule.field]: old, marker: 'expired', ...ids('old') },
        { [rule.field]: recent, marker: 'current', ...ids('recent') },
      ]);
    }
    const removed = await server.housekeeping.sweep(now);
    for (const rule of sweepRules) {
      expect(await db.collection(rule.collection).countDocuments({ marker: 'expired' })).toBe(0);
      expect(await db.collection(rule.collection).countDocuments({ marker: 'current' })).toBe(1);
      expect(removed[rule.collection]).toBeGreaterThanOrEqual(1);
    }
    // The real launch records are still within their limits: untouched.
    expect(await db.collection('lti_login_attempts').countDocuments({ marker: { $exists: false } })).toBe(fresh.attempts);

    // Two hours on, nothing of those launches is left but what must stay (sessions live 8 hours).
    await server.housekeeping.sweep(new Date(now.getTime() + 2 * 3600_000));
    expect(await db.collection('lti_login_attempts').countDocuments({ marker: { $exists: false } })).toBe(0);
    expect(await db.collection('lti_nonces').countDocuments({ marker: { $exists: false } })).toBe(0);
    expect(await db.collection('sessions').countDocuments({ marker: { $exists: false } })).toBeGreaterThanOrEqual(3);
    await server.housekeeping.sweep(new Date(now.getTime() + 9 * 3600_000));
    expect(await db.collection('sessions').countDocuments({ marker: { $exists: false } })).toBe(0);
  });
});
