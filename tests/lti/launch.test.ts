import { Browser } from '../support/browser';
import { launch, launchInput, seedIds } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

describe('LTI launches through the built-in platform', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when the tool starts, then both platform shapes are registered through Dynamic Registration with their deployment ids and are active', async () => {
    const platforms = await server.lti.listPlatforms();
    const settings = await server.registry.list();
    for (const shape of ['canvas', 'moodle'] as const) {
      const reg = await server.devPlatform!.registration(shape);
      expect(reg).not.toBeNull();
      expect(platforms.find((p) => p.issuer === reg!.issuer && p.clientId === reg!.clientId)?.active).toBe(true);
      const s = settings.find((x) => x.issuer === reg!.issuer && x.clientId === reg!.clientId);
      expect(s).toMatchObject({ registeredVia: 'dynamic', deploymentIds: [reg!.deploymentId], productFamily: shape });
    }
  });

  test.each([
    ['canvas', 'coach', '/training', 'Coach'],
    ['canvas', 'faculty', '/course', 'Faculty'],
    ['canvas', 'ta', '/course', 'Faculty'],
    ['canvas', 'admin', '/admin', 'Administrator'],
    ['moodle', 'coach', '/training', 'Coach'],
    ['moodle', 'faculty', '/course', 'Faculty'],
    ['moodle', 'admin', '/admin', 'Administrator'],
  ] as const)('when a %s %s launches, then they land on %s showing their name, course and role', async (shape, persona, path, label) => {
    const browser = new Browser();
    const page = await launch(server, browser, launchInput(shape, persona));
    expect(page.status).toBe(200);
    expect(new URL(page.url).pathname).toBe(path);
    const ids = seedIds(shape, persona);
    expect(page.text).toContain(ids.name);
    expect(page.text).toContain(label);
    if (persona !== 'admin') expect(page.text).toContain(ids.courseTitle);
  });

  test('when a coach launches a link carrying custom module_id, then they land on that module', async () => {
    const page = await launch(server, new Browser(), launchInput('canvas', 'coach', { custom: { module_id: 'M03' } }));
    expect(new URL(page.url).pathname).toBe('/modules/M03');
    expect(page.text).toContain('The coaching relationship and psychological safety');
  });

  test('when the same coach launches twice, then one user, one course and one membership exist', async () => {
    const input = launchInput('moodle', 'coach2');
    await launch(server, new Browser(), input);
    await launch(server, new Browser(), input);
    const db = server.connection.db!;
    const user = await db.collection('users').find({ sub: input.userId }).toArray();
    expect(user).toHaveLength(1);
    const course = await db.collection('courses').find({ contextId: input.contextId }).toArray();
    expect(course).toHaveLength(1);
    expect(await db.collection('memberships').countDocuments({ userId: user[0]!._id, courseId: course[0]!._id })).toBe(1);
    expect(course[0]).toMatchObject({
      lineItemsUrl: expect.stringContaining('/lineitems'),
      membershipsUrl: expect.stringContaining('/memberships'),
    });
  });

  test('when a page is opened without a launch, then a 401 page asks to launch from the course', async () => {
    const res = await new Browser().get(`${server.url}/training`);
    expect(res.status).toBe(401);
    expect(res.text).toContain('open CoachLTI from there');
  });

  test('when a coach opens the faculty dashboard, then it is refused with 403', async () => {
    const browser = new Browser();
    await launch(server, browser, launchInput('canvas', 'coach'));
    const res = await browser.get(`${server.url}/course`);
    expect(res.status).toBe(403);
  });

  test('when the Canvas JSON configuration is requested, then it names our login, launch and keys URLs with public privacy and deep-linking placements', async () => {
    const res = await fetch(`${server.url}/lti/canvas.json`);
    const json = (await res.json()) as Record<string, unknown> & {
      extensions: { privacy_level: string; settings: { placements: { placement: string; message_type: string }[] } }[];
    };
    expect(json.oidc_initiation_url).toBe(`${server.config.toolUrl}/lti/login`);
    expect(json.target_link_uri).toBe(`${server.config.toolUrl}/lti/launch`);
    expect(json.public_jwk_url).toBe(`${server.config.toolUrl}/lti/keys`);
    expect(json.extensions[0]!.privacy_level).toBe('public');
    expect(json.extensions[0]!.settings.placements).toEqual(
      expect.arrayContaining([expect.objectContaining({ placement: 'link_selection', message_type: 'LtiDeepLinkingRequest' })]),
    );
  });

  test('when the tool key set is requested, then it is a JWKS with one RS256 key per registered platform', async () => {
    const res = await fetch(`${server.url}/lti/keys`);
    const jwks = (await res.json()) as { keys: { kty: string; kid: string }[] };
    expect(jwks.keys.length).toBeGreaterThanOrEqual(2);
    for (const k of jwks.keys) expect(k.kty).toBe('RSA');
  });

  test('when launches are logged, then no log line carries an id_token or an ltik', () => {
    const text = JSON.stringify(server.logs.lines);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/);
    expect(text).not.toContain('ltik=');
  });
});
