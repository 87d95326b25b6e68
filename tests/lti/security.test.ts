import { Browser, decodeHtml } from '../support/browser';
import { documentCounts, launchInput, prepareLaunch } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

const claim = (name: string): string => `https://purl.imsglobal.org/spec/lti/claim/${name}`;

describe('launch refusals', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  /** Prepares a genuine launch, lets `forge` replace the id_token, posts it, and checks nothing was stored. */
  async function refused(
    forge: (genuine: { claims: Record<string, unknown>; idToken: string }) => Promise<string>,
    shape: 'canvas' | 'moodle' = 'canvas',
  ) {
    const browser = new Browser();
    const prepared = await prepareLaunch(server, browser, launchInput(shape, 'coach'));
    const token = await forge(prepared);
    const before = await documentCounts(server);
    const res = await browser.post(prepared.launchUrl, { id_token: token, state: prepared.state });
    expect(await documentCounts(server)).toEqual(before);
    return res;
  }

  const now = (): number => Math.floor(Date.now() / 1000);

  test.each([
    [
      'the signature is made with another key',
      async (g: { claims: Record<string, unknown> }) => server.devPlatform!.signIdToken('canvas', g.claims, { wrongKey: true }),
      401,
      'signature',
    ],
    [
      'the token expired',
      async (g: { claims: Record<string, unknown> }) =>
        server.devPlatform!.signIdToken('canvas', { ...g.claims, iat: now() - 3600, exp: now() - 1800 }),
      401,
      'expired',
    ],
    [
      'iat lies in the future',
      async (g: { claims: Record<string, unknown> }) =>
        server.devPlatform!.signIdToken('canvas', { ...g.claims, iat: now() + 3600, exp: now() + 7200 }),
      401,
      'future',
    ],
    [
      'aud names another client',
      async (g: { claims: Record<string, unknown> }) =>
        server.devPlatform!.signIdToken('canvas', { ...g.claims, aud: 'another-tool', azp: undefined }),
      401,
      'not registered',
    ],
    [
      'azp names another client',
      async (g: { claims: Record<string, unknown> }) =>
        server.devPlatform!.signIdToken('canvas', { ...g.claims, aud: [String(g.claims.aud), 'x'], azp: 'x' }),
      401,
      'different tool',
    ],
    [
      'iss differs from the login',
      async (g: { claims: Record<string, unknown> }) =>
        server.devPlatform!.signIdToken('canvas', { ...g.claims, iss: 'https://evil.example' }),
      401,
      'different platform',
    ],
    [
      'the deployment is not registered',
      async (g: { claims: Record<string, unknown> }) =>
        server.devPlatform!.signIdToken('canvas', { ...g.claims, [claim('deployment_id')]: 'rogue-deployment' }),
      403,
      'Deployment not registered',
    ],
    [
      'the message type is unsupported',
      async (g: { claims: Record<string, unknown> }) =>
        server.devPlatform!.signIdToken('canvas', { ...g.claims, [claim('message_type')]: 'LtiSubmissionReviewRequest' }),
      400,
      'resource link and deep linking',
    ],
    [
      'the LTI version is wrong',
      async (g: { claims: Record<string, unknown> }) =>
        server.devPlatform!.signIdToken('canvas', { ...g.claims, [claim('version')]: '1.1.0' }),
      400,
      '1.3.0 only',
    ],
    [
      'alg is HS256',
      async (g: { claims: Record<string, unknown> }) => server.devPlatform!.signIdToken('canvas', g.claims, { alg: 'HS256' }),
      401,
      'RS256',
    ],
  ])('when %s, then the launch is refused with a clear page and nothing is stored', async (_label, forge, status, text) => {
    const res = await refused(forge);
    expect(res.status).toBe(status);
    expect(res.text).toContain(text);
  });

  test('when a genuine id_token is replayed with a new login, then the second launch is refused and stores nothing', async () => {
    const browser = new Browser();
    const first = await prepareLaunch(server, browser, launchInput('moodle', 'coach'));
    const ok = await browser.post(first.launchUrl, { id_token: first.idToken, state: first.state });
    expect(ok.status).toBe(303);
    const second = await prepareLaunch(server, browser, launchInput('moodle', 'coach'));
    const before = await documentCounts(server);
    const replay = await browser.post(second.launchUrl, { id_token: first.idToken, state: second.state });
    expect(replay.status).toBe(401);
    // The old token answers another login: its nonce is not the one sent with the new state.
    expect(replay.text).toContain('NONCE_MISMATCH');
    expect(await documentCounts(server)).toEqual(before);
  });

  test('when the state cookie is missing (third-party cookies blocked), then the page offers to open the tool in a new window', async () => {
    const browser = new Browser();
    const prepared = await prepareLaunch(server, browser, launchInput('canvas', 'coach'));
    browser.clearCookies();
    const before = await documentCounts(server);
    const res = await browser.post(prepared.launchUrl, { id_token: prepared.idToken, state: prepared.state });
    expect(res.status).toBe(401);
    expect(res.text).toContain('Open CoachLTI in a new window');
    const link = /href="([^"]*\/lti\/login\?[^"]*)" target="_blank"/.exec(res.text)?.[1];
    expect(link).toBeDefined();
    const params = new URL(decodeHtml(link!)).searchParams;
    expect(params.get('iss')).toBe(prepared.claims.iss);
    expect(params.get('target_link_uri')).toBe(`${server.config.toolUrl}/lti/launch`);
    expect(await documentCounts(server)).toEqual(before);
  });

  test('when the launch body is larger than 100 kB, then it is refused with 413 before anything else', async () => {
    const browser = new Browser();
    const prepared = await prepareLaunch(server, browser, launchInput('canvas', 'coach'));
    const before = await documentCounts(server);
    const res = await browser.post(prepared.launchUrl, { id_token: prepared.idToken, state: prepared.state, padding: 'x'.repeat(150_000) });
    expect(res.status).toBe(413);
    expect(await documentCounts(server)).toEqual(before);
  });

  test('when a launch POST carries no id_token, then a 401 page says to launch from the course', async () => {
    const res = await new Browser().post(`${server.url}/lti/launch`, { state: 'x' });
    expect(res.status).toBe(401);
    expect(res.text).toContain('Please launch from your course');
  });

  test('when login initiation names an unknown platform, then it is refused with a clear page', async () => {
    const res = await new Browser().post(`${server.url}/lti/login`, {
      iss: 'https://unknown.example',
      login_hint: 'u',
      target_link_uri: `${server.config.toolUrl}/lti/launch`,
      client_id: 'nope',
    });
    expect(res.status).toBe(401);
    expect(res.text).toContain('Platform not registered');
  });

  test('when Dynamic Registration is opened without an openid_configuration, then a 400 page explains what is missing', async () => {
    const res = await new Browser().get(`${server.url}/lti/register`);
    expect(res.status).toBe(400);
    expect(res.text).toContain('openid_configuration');
  });
});
