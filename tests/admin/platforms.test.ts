import { globalScope } from '../../src/admin/admin-scope';
import { createAuditLog } from '../../src/admin/audit-log';
import { createPendingRegistrations } from '../../src/lti/platform-registry';
import { hashInviteToken } from '../../src/lti/registration-invites';
import { Browser, decodeHtml } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';
import { csrfOf, signedInAdmin } from './support';

jest.setTimeout(120_000);

describe('the Platforms page for administrators', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  const actionsOf = async (actor: string) =>
    (await createAuditLog(server.connection).list({ actor, scope: globalScope })).map((e) => e.action);

  test('when someone is not an administrator, then the page and its actions are closed to them', async () => {
    const anonymous = await new Browser().get(`${server.url}/admin/platforms`);
    expect(anonymous.status).toBe(302);
    expect(anonymous.location).toContain('/admin/login');
    const post = await new Browser().post(`${server.url}/admin/platforms/invites`, {});
    expect(post.status).toBe(303);
    expect(post.location).toContain('/admin/login');

    const learner = new Browser();
    await launch(server, learner, launchInput('canvas', 'coach'));
    expect((await learner.get(`${server.url}/admin/platforms`)).status).toBe(403);
    expect(await server.connection.db!.collection('lti_registration_invites').countDocuments()).toBe(0);
  });

  test('when an administrator creates a registration link, then it is shown once, stored as a hash, listed, withdrawable and audited', async () => {
    const { browser, email } = await signedInAdmin(server, 'inviter');
    const page = await browser.get(`${server.url}/admin/platforms`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('aria-current="page">Platforms</a>');
    for (const shape of ['canvas', 'moodle'] as const) {
      const reg = await server.devPlatform!.registration(shape);
      expect(decodeHtml(page.text)).toContain(reg!.clientId);
    }

    const noCsrf = await browser.post(`${server.url}/admin/platforms/invites`, { note: 'x' });
    expect(noCsrf.status).toBe(403);
    expect(await server.connection.db!.collection('lti_registration_invites').countDocuments()).toBe(0);

    const created = await browser.post(`${server.url}/admin/platforms/invites`, {
      _csrf: csrfOf(page),
      expiresHours: '24',
      note: 'Canvas of St Elsewhere',
    });
    expect(created.status).toBe(201);
    const link = /value="([^"]+\/lti\/register\?invite=[^"]+)"/.exec(decodeHtml(created.text))?.[1];
    expect(link).toBeDefined();
    const token = new URL(link!).searchParams.get('invite')!;
    expect(link).toBe(`${server.config.toolUrl}/lti/register?invite=${token}`);
    const stored = await server.connection
      .db!.collection<{ _id: string }>('lti_registration_invites')
      .findOne({ _id: hashInviteToken(token) });
    expect(stored).toMatchObject({ createdBy: email, note: 'Canvas of St Elsewhere', usedAt: null });

    const listed = await browser.get(`${server.url}/admin/platforms`);
    expect(listed.text).not.toContain(token);
    expect(listed.text).toContain('Canvas of St Elsewhere');
    const revoke = await browser.post(`${server.url}/admin/platforms/invites/${hashInviteToken(token)}/revoke`, { _csrf: csrfOf(listed) });
    expect(revoke.status).toBe(303);
    expect(
      await server.connection.db!.collection<{ _id: string }>('lti_registration_invites').findOne({ _id: hashInviteToken(token) }),
    ).toMatchObject({
      revokedAt: expect.any(Date) as unknown,
    });
    const bad = await browser.post(`${server.url}/admin/platforms/invites`, { _csrf: csrfOf(listed), expiresHours: '-3' });
    expect(bad.status).toBe(400);
    expect(await actionsOf(email)).toEqual(expect.arrayContaining(['platform.invite', 'platform.invite-revoke']));
  });

  test('when an administrator deactivates and activates a platform or rejects a pending registration, then each takes effect and is audited', async () => {
    const { browser, email } = await signedInAdmin(server, 'operator');
    const moodle = (await server.devPlatform!.registration('moodle'))!;
    const page = await browser.get(`${server.url}/admin/platforms`);
    const target = { issuer: moodle.issuer, clientId: moodle.clientId };

    expect((await browser.post(`${server.url}/admin/platforms/state`, { ...target, active: 'false' })).status).toBe(403);
    expect(await server.lti.getPlatform(moodle.issuer, moodle.clientId)).toMatchObject({ active: true });
    const off = await browser.post(`${server.url}/admin/platforms/state`, { _csrf: csrfOf(page), ...target, active: 'false' });
    expect(off.status).toBe(303);
    expect(await server.lti.getPlatform(moodle.issuer, moodle.clientId)).toMatchObject({ active: false });
    const refused = await new Browser().post(`${server.url}/lti/login`, {
      iss: moodle.issuer,
      client_id: moodle.clientId,
      login_hint: 'u',
      target_link_uri: `${server.config.toolUrl}/lti/launch`,
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    await browser.post(`${server.url}/admin/platforms/state`, { _csrf: csrfOf(page), ...target, active: 'true' });
    expect(await server.lti.getPlatform(moodle.issuer, moodle.clientId)).toMatchObject({ active: true });

    const before = await server.registry.find(moodle.issuer, moodle.clientId);
    const pending = await createPendingRegistrations(server.connection).add({
      ...target,
      name: 'rogue',
      productFamily: undefined,
      authUrl: 'https://rogue.example/auth',
      tokenUrl: 'https://rogue.example/token',
      jwksUrl: 'https://rogue.example/jwks',
      deploymentId: '99',
    });
    const withPending = await browser.get(`${server.url}/admin/platforms`);
    expect(withPending.text).toContain(`id="pending-${pending.id}"`);
    const reject = await browser.post(`${server.url}/admin/platforms/pending/${pending.id}/reject`, { _csrf: csrfOf(withPending) });
    expect(reject.status).toBe(303);
    expect(await server.registry.find(moodle.issuer, moodle.clientId)).toEqual(before);
    expect((await createPendingRegistrations(server.connection).get(pending.id))?.status).toBe('rejected');
    const twice = await browser.post(`${server.url}/admin/platforms/pending/${pending.id}/approve`, { _csrf: csrfOf(withPending) });
    expect(twice.status).toBe(409);
    expect(await server.registry.find(moodle.issuer, moodle.clientId)).toEqual(before);
    expect(await actionsOf(email)).toEqual(expect.arrayContaining(['platform.deactivate', 'platform.activate', 'platform.reject']));
  });
});
