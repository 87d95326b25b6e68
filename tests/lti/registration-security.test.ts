/**
 * Dynamic Registration cannot be used to take over a platform, and cannot be used to make the tool fetch
 * (and show) what lives on its own network. Reproductions of issue 8, each written to fail first.
 */
import { PlatformExistsError } from '../../src/lti/ltijs-adapter';
import { Browser, decodeHtml } from '../support/browser';
import { documentCounts as allCounts, launchInput, prepareLaunch } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';
import { csrfOf, signedInAdmin } from '../admin/support';
import { startFakePlatform, type FakePlatform } from './fake-platform';

jest.setTimeout(120_000);

/** Document counts of the collections that hold documents (ltijs creates its empty collections lazily). */
async function documentCounts(server: TestServer): Promise<Record<string, number>> {
  return Object.fromEntries(Object.entries(await allCounts(server)).filter(([, n]) => n > 0));
}

const registerUrl = (server: TestServer, openidConfiguration: string, extra: Record<string, string> = {}): string =>
  `${server.url}/lti/register?${new URLSearchParams({ openid_configuration: openidConfiguration, registration_token: 'rt', ...extra }).toString()}`;

describe('Dynamic Registration in production without an invite', () => {
  let server: TestServer;
  let platform: FakePlatform;
  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: 'production', LTI_KEY: 'k'.repeat(40), SESSION_SECRET: 's'.repeat(40) });
    platform = await startFakePlatform();
  });
  afterAll(async () => {
    await platform.stop();
    await server.stop();
  });

  test('when a platform opens /lti/register without an invite, then it is refused with a 403 page, nothing is fetched and nothing written', async () => {
    const before = await documentCounts(server);
    const https = platform.openidConfigurationUrl.replace('http://', 'https://');
    for (const url of [https, platform.openidConfigurationUrl]) {
      const res = await new Browser().get(registerUrl(server, url));
      expect(res.status).toBe(403);
      expect(decodeHtml(res.text)).toContain('registration link from a CoachLTI administrator');
    }
    expect(platform.connections()).toBe(0);
    expect(await documentCounts(server)).toEqual(before);
    expect(await server.lti.listPlatforms()).toEqual([]);
  });
});

describe('Dynamic Registration for a platform that is already registered', () => {
  let server: TestServer;
  let rogue: FakePlatform;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await rogue?.stop();
    await server.stop();
  });

  test('when a rogue platform claims an existing issuer and client id, then nothing changes, its forged launch is refused, and only an administrator approval applies it', async () => {
    const genuine = (await server.devPlatform!.registration('canvas'))!;
    const { issuer, clientId } = genuine;
    const before = { lti: await server.lti.getPlatform(issuer, clientId), settings: await server.registry.find(issuer, clientId) };
    expect(before.lti?.active).toBe(true);
    // The adapter itself refuses to let ltijs overwrite a platform unless asked to replace it.
    await expect(
      server.lti.registerPlatform({ issuer, clientId, name: 'x', authUrl: 'http://x/a', tokenUrl: 'http://x/t', jwksUrl: 'http://x/j' }),
    ).rejects.toBeInstanceOf(PlatformExistsError);
    rogue = await startFakePlatform({ issuer, clientId });

    const res = await new Browser().get(registerUrl(server, rogue.openidConfigurationUrl));
    expect(res.status).toBe(200);
    expect(decodeHtml(res.text)).toContain('awaiting approval');
    expect(rogue.registrations()).toBe(1);
    expect({ lti: await server.lti.getPlatform(issuer, clientId), settings: await server.registry.find(issuer, clientId) }).toEqual(before);

    // An Administrator launch signed with the rogue key, through a genuine login round trip.
    const browser = new Browser();
    const prepared = await prepareLaunch(server, browser, launchInput('canvas', 'admin'));
    const forged = await rogue.sign(prepared.claims);
    const counts = await documentCounts(server);
    const launch = await browser.post(prepared.launchUrl, { id_token: forged, state: prepared.state });
    expect(launch.status).toBe(401);
    expect(await documentCounts(server)).toEqual(counts);

    // The administrator sees it as pending, with the new key set next to the current one, and approves it.
    const { browser: admin, email } = await signedInAdmin(server, 'approver');
    const page = await admin.get(`${server.url}/admin/platforms`);
    expect(page.status).toBe(200);
    const row = new RegExp(`<tr id="pending-([a-f0-9]{24})">([\\s\\S]*?)</tr>`).exec(page.text);
    expect(row?.[2]).toContain(`${rogue.url}/jwks`);
    expect(row?.[2]).toContain(before.settings!.jwksUrl);
    const approve = await admin.post(`${server.url}/admin/platforms/pending/${row![1]}/approve`, { _csrf: csrfOf(page) });
    expect(approve.status).toBe(303);

    const after = await server.registry.find(issuer, clientId);
    expect(after).toMatchObject({ jwksUrl: `${rogue.url}/jwks`, tokenUrl: `${rogue.url}/token`, authUrl: `${rogue.url}/auth` });
    expect(after?.deploymentIds).toEqual(expect.arrayContaining([...before.settings!.deploymentIds, rogue.deploymentId]));
    const lti = await server.lti.getPlatform(issuer, clientId);
    expect(lti).toMatchObject({ kid: before.lti!.kid, active: true, keys: { method: 'JWK_SET', url: `${rogue.url}/jwks` } });
    const audit = await server.connection.db!.collection('admin_audit_log').findOne({ action: 'platform.approve' });
    expect(audit).toMatchObject({ actor: email, detail: expect.stringContaining(`${rogue.url}/jwks`) as unknown });

    // Approved, the platform's login goes to the new auth URL and a launch signed with the new key is accepted.
    const next = new Browser();
    const start = await server.devPlatform!.startLaunch(launchInput('canvas', 'admin'));
    const login = await next.post(start.url, start.params);
    const auth = new URL(login.location!);
    expect(`${auth.origin}${auth.pathname}`).toBe(`${rogue.url}/auth`);
    const now = Math.floor(Date.now() / 1000);
    const token = await rogue.sign({ ...prepared.claims, nonce: auth.searchParams.get('nonce'), iat: now, exp: now + 300 });
    const accepted = await next.post(prepared.launchUrl, { id_token: token, state: auth.searchParams.get('state') ?? '' });
    expect(accepted.status).toBe(303);
  });
});

describe('Dynamic Registration never shows what it fetched, and refuses internal addresses', () => {
  let server: TestServer;
  const marker = 'SECRET-MARKER-7f3a9c';
  const platforms: FakePlatform[] = [];
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const p of platforms) await p.stop();
    await server.stop();
  });

  test.each([
    ['an error status', 500, `internal admin console ${marker}`],
    ['a body that is not JSON', 200, `<html>${marker}</html>`],
  ])(
    'when the configuration URL answers %s, then the page does not contain the body and the log has an excerpt',
    async (_label, status, body) => {
      const platform = await startFakePlatform({
        openidConfiguration: (_req, res) => {
          res.writeHead(status, { 'Content-Type': 'text/html' });
          res.end(body);
        },
      });
      platforms.push(platform);
      const before = await documentCounts(server);
      const res = await new Browser().get(registerUrl(server, platform.openidConfigurationUrl));
      expect(res.status).toBe(400);
      expect(res.text).not.toContain(marker);
      expect(await documentCounts(server)).toEqual(before);
      const logged = server.logs.lines.find((l) => String(l.excerpt ?? '').includes(marker));
      expect(logged).toMatchObject({ level: 40 });
    },
  );

  test('when the configuration names a key set on a link-local address, then the registration is refused before it is sent', async () => {
    const platform = await startFakePlatform({
      openidConfiguration: (_req, res) => {
        const base = `http://127.0.0.1:${platform.port}`;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            issuer: base,
            authorization_endpoint: `${base}/auth`,
            token_endpoint: `${base}/token`,
            jwks_uri: 'http://169.254.169.254/latest/meta-data/jwks',
            registration_endpoint: `${base}/register`,
          }),
        );
      },
    });
    platforms.push(platform);
    const before = await documentCounts(server);
    const res = await new Browser().get(registerUrl(server, platform.openidConfigurationUrl));
    expect(res.status).toBe(400);
    expect(decodeHtml(res.text)).toContain("The platform's jwks_uri cannot be used");
    expect(platform.registrations()).toBe(0);
    expect(await documentCounts(server)).toEqual(before);
  });

  test.each(['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/.well-known/openid-configuration', 'http://[fd00::1]/x'])(
    'when development is asked to fetch %s, then it is refused at once as a non-public address',
    async (url) => {
      const started = Date.now();
      const res = await new Browser().get(registerUrl(server, url));
      expect(res.status).toBe(400);
      expect(decodeHtml(res.text)).toContain('is not a public internet address');
      expect(Date.now() - started).toBeLessThan(3_000);
    },
  );
});

describe('Dynamic Registration in development with invites required', () => {
  let server: TestServer;
  let platform: FakePlatform;
  beforeAll(async () => {
    server = await startTestServer({ LTI_DYNREG_REQUIRE_INVITE: 'true' });
    platform = await startFakePlatform();
  });
  afterAll(async () => {
    await platform.stop();
    await server.stop();
  });

  test('when the tool starts, then the built-in platform still registers itself, while another platform without an invite is refused', async () => {
    for (const shape of ['canvas', 'moodle'] as const) {
      const reg = (await server.devPlatform!.registration(shape))!;
      expect(await server.lti.getPlatform(reg.issuer, reg.clientId)).toMatchObject({ active: true });
    }
    const res = await new Browser().get(registerUrl(server, platform.openidConfigurationUrl));
    expect(res.status).toBe(403);
    expect(platform.connections()).toBe(0);
  });
});
