/**
 * Registration by invite in production: single use, expiring, not spent by a failed attempt, and the
 * SSRF rules of production (https, public addresses after DNS) applied before any connection.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createRegistrationInvites, hashInviteToken, type RegistrationInvites } from '../../src/lti/registration-invites';
import { developmentFetchPolicy } from '../../src/lti/safe-fetch';
import { Browser, decodeHtml } from '../support/browser';
import { documentCounts as allCounts } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';
import { startFakePlatform, type FakePlatform } from './fake-platform';

jest.setTimeout(120_000);

/** Document counts of the collections that hold documents (ltijs creates its empty collections lazily). */
async function documentCounts(server: TestServer): Promise<Record<string, number>> {
  return Object.fromEntries(Object.entries(await allCounts(server)).filter(([, n]) => n > 0));
}

const production = { NODE_ENV: 'production', LTI_KEY: 'k'.repeat(40), SESSION_SECRET: 's'.repeat(40) };

const registerUrl = (server: TestServer, openidConfiguration: string, invite: string | undefined): string =>
  `${server.url}/lti/register?${new URLSearchParams({
    openid_configuration: openidConfiguration,
    registration_token: 'rt',
    ...(invite === undefined ? {} : { invite }),
  }).toString()}`;

async function inviteState(server: TestServer, token: string): Promise<Record<string, unknown> | null> {
  return server.connection.db!.collection<{ _id: string }>('lti_registration_invites').findOne({ _id: hashInviteToken(token) });
}

describe('registration invites in production', () => {
  let server: TestServer;
  let invites: RegistrationInvites;
  const platforms: FakePlatform[] = [];
  const platform = async (options: Parameters<typeof startFakePlatform>[0] = {}): Promise<FakePlatform> => {
    const p = await startFakePlatform(options);
    platforms.push(p);
    return p;
  };
  beforeAll(async () => {
    // Production rules for invites; the fetch policy is loosened only so that local test platforms can answer.
    server = await startTestServer(production, { tuning: { registrationFetchPolicy: developmentFetchPolicy } });
    invites = createRegistrationInvites(server.connection);
  });
  afterAll(async () => {
    for (const p of platforms) await p.stop();
    await server.stop();
  });

  test('when a valid invite registers a platform, then it is registered inactive, the page shows the right activation command, and the invite is spent', async () => {
    const { token } = await invites.create({ createdBy: 'admin@example.edu' });
    const p = await platform();
    const res = await new Browser().get(registerUrl(server, p.openidConfigurationUrl, token));
    expect(res.status).toBe(200);
    const text = decodeHtml(res.text);
    expect(text).toContain(`npm run platform -- activate --issuer ${p.issuer} --client-id ${p.clientId}`);
    expect(text).toContain('/admin/platforms');
    expect(await server.lti.getPlatform(p.issuer, p.clientId)).toMatchObject({ active: false });
    expect(await server.registry.find(p.issuer, p.clientId)).toMatchObject({ deploymentIds: [p.deploymentId], registeredVia: 'dynamic' });
    expect(await inviteState(server, token)).toMatchObject({ usedFor: `${p.issuer} (${p.clientId})` });
    expect(JSON.stringify(server.logs.lines)).not.toContain(token);

    const second = await platform();
    const before = await documentCounts(server);
    const again = await new Browser().get(registerUrl(server, second.openidConfigurationUrl, token));
    expect(again.status).toBe(403);
    expect(decodeHtml(again.text)).toContain('already used');
    expect(second.connections()).toBe(0);
    expect(await documentCounts(server)).toEqual(before);
  });

  test('when the invite has expired, is unknown or malformed, then the registration is refused before anything is fetched or written', async () => {
    const past = new Date(Date.now() - 8 * 24 * 3600_000);
    const expired = await createRegistrationInvites(server.connection, { now: () => past }).create({ createdBy: 'a', expiresInHours: 24 });
    const p = await platform();
    const before = await documentCounts(server);
    for (const [invite, says] of [
      [expired.token, 'has expired'],
      ['A'.repeat(43), 'not valid'],
      ['../$ne', 'not valid'],
    ] as const) {
      const res = await new Browser().get(registerUrl(server, p.openidConfigurationUrl, invite));
      expect({ invite, status: res.status }).toEqual({ invite, status: 403 });
      expect(decodeHtml(res.text)).toContain(says);
    }
    const array = await new Browser().get(`${registerUrl(server, p.openidConfigurationUrl, 'x')}&invite=y`);
    expect(array.status).toBe(400);
    expect(p.connections()).toBe(0);
    expect(await documentCounts(server)).toEqual(before);
  });

  test('when a registration with an invite fails, then the invite stays usable; two platforms racing for one invite register one', async () => {
    const { token } = await invites.create({ createdBy: 'admin@example.edu' });
    const broken = await platform({
      openidConfiguration: (_req, res) => {
        res.writeHead(503);
        res.end('down');
      },
    });
    expect((await new Browser().get(registerUrl(server, broken.openidConfigurationUrl, token))).status).toBe(400);
    expect(await inviteState(server, token)).toMatchObject({ usedAt: null, claimedAt: null });

    const [a, b] = [await platform(), await platform()];
    const answers = await Promise.all([a, b].map((p) => new Browser().get(registerUrl(server, p.openidConfigurationUrl, token))));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 403]);
    const registered = await Promise.all([a, b].map((p) => server.lti.getPlatform(p.issuer, p.clientId)));
    expect(registered.filter(Boolean)).toHaveLength(1);
  });
});

describe('the SSRF rules of production', () => {
  let server: TestServer;
  let invites: RegistrationInvites;
  let target: Server;
  let port = 0;
  let connections = 0;
  const sockets = new Set<Socket>();
  const marker = 'INTERNAL-ONLY-MARKER-19b2';
  beforeAll(async () => {
    server = await startTestServer(production);
    invites = createRegistrationInvites(server.connection);
    target = createServer((_req, res) => res.end(marker));
    target.on('connection', (s: Socket) => {
      connections += 1;
      sockets.add(s);
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    port = (target.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => target.close(() => resolve()));
    await server.stop();
  });

  test('when openid_configuration points at loopback, private, link-local or plain http, then it is refused before any connection and the invite stays usable', async () => {
    const { token } = await invites.create({ createdBy: 'admin@example.edu' });
    const before = await documentCounts(server);
    const cases: [string, string][] = [
      [`https://127.0.0.1:${port}/.well-known/openid-configuration`, 'not a public internet address (loopback)'],
      [`https://localhost:${port}/.well-known/openid-configuration`, 'not a public internet address (loopback)'],
      [`https://[::1]:${port}/x`, 'not a public internet address (loopback)'],
      [`https://[::ffff:127.0.0.1]:${port}/x`, 'not a public internet address (loopback)'],
      ['https://10.1.2.3/.well-known/openid-configuration', 'not a public internet address (private)'],
      ['https://169.254.169.254/latest/meta-data/', 'not a public internet address (link-local)'],
      ['https://100.64.0.1/x', 'not a public internet address (shared)'],
      [`http://127.0.0.1:${port}/x`, 'Only https URLs are fetched'],
      ['http://lms.example.edu/.well-known/openid-configuration', 'Only https URLs are fetched'],
    ];
    for (const [url, says] of cases) {
      const res = await new Browser().get(registerUrl(server, url, token));
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      expect(decodeHtml(res.text)).toContain(says);
      expect(res.text).not.toContain(marker);
    }
    expect(connections).toBe(0);
    expect(await documentCounts(server)).toEqual(before);
    expect(await inviteState(server, token)).toMatchObject({ usedAt: null, claimedAt: null });
  });
});
