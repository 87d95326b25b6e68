import { compactVerify, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { Browser, decodeHtml, parseForms } from '../support/browser';
import { launch, launchInput, seedIds } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

const dl = (name: string): string => `https://purl.imsglobal.org/spec/lti-dl/claim/${name}`;

describe('deep linking, roster and platform keys', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, { tuning: { rosterPageSize: 7 } });
  });
  afterAll(async () => {
    await server.stop();
  });

  async function deepLinkingPage(shape: 'canvas' | 'moodle', acceptMultiple = true) {
    const browser = new Browser();
    const page = await launch(server, browser, launchInput(shape, 'faculty', { messageType: 'LtiDeepLinkingRequest', acceptMultiple }));
    expect(new URL(page.url).pathname).toBe('/deep-linking');
    return { browser, page };
  }

  test('when an instructor selects two modules, then a signed LtiDeepLinkingResponse with lineItems reaches the platform and echoes data', async () => {
    const { browser, page } = await deepLinkingPage('canvas');
    expect(page.text).toContain('type="checkbox"');
    const form = parseForms(page.text, page.url)[0]!;
    const answer = await browser.post(form.action, { ...form.fields, action: 'add', modules: ['M01', 'M07'] });
    expect(answer.status).toBe(200);
    const back = parseForms(answer.text, answer.url)[0]!;
    const registration = (await server.devPlatform!.registration('canvas'))!;
    expect(back.action).toContain('/dev/platform/canvas/');
    const jwt = back.fields.JWT!;

    const { kid } = decodeProtectedHeader(jwt);
    const keys = createRemoteJWKSet(new URL(`${server.url}/lti/keys`));
    const { payload } = await jwtVerify(jwt, keys, { issuer: registration.clientId, audience: registration.issuer, algorithms: ['RS256'] });
    expect(kid).toBeDefined();
    expect(payload['https://purl.imsglobal.org/spec/lti/claim/message_type']).toBe('LtiDeepLinkingResponse');
    expect(payload['https://purl.imsglobal.org/spec/lti/claim/deployment_id']).toBe(registration.deploymentId);
    expect(typeof payload[dl('data')]).toBe('string');
    const items = payload[dl('content_items')] as {
      type: string;
      title: string;
      custom: Record<string, string>;
      lineItem: Record<string, unknown>;
    }[];
    expect(items.map((i) => i.custom.module_id)).toEqual(['M01', 'M07']);
    expect(items[0]).toMatchObject({
      type: 'ltiResourceLink',
      lineItem: { scoreMaximum: 100, resourceId: 'M01', tag: 'module', label: items[0]!.title },
    });

    const stored = await browser.post(back.action, back.fields);
    expect(stored.status).toBe(200);
    const links = await server.devPlatform!.deepLinks(seedIds('canvas', 'faculty').contextId);
    expect(links.map((l) => l.custom.module_id)).toEqual(expect.arrayContaining(['M01', 'M07']));
  });

  test('when the platform accepts one item only, then radio buttons are shown and two modules are refused with 400', async () => {
    const { browser, page } = await deepLinkingPage('moodle', false);
    expect(page.text).toContain('type="radio"');
    const form = parseForms(page.text, page.url)[0]!;
    const res = await browser.post(form.action, { ...form.fields, action: 'add', modules: ['M01', 'M02'] });
    expect(res.status).toBe(400);
    expect(res.text).toContain('one module at a time');
  });

  test('when the instructor cancels, then an empty response with a message is signed and the selection cannot be resent', async () => {
    const { browser, page } = await deepLinkingPage('moodle');
    const form = parseForms(page.text, page.url)[0]!;
    const res = await browser.post(form.action, { ...form.fields, action: 'cancel' });
    const jwt = parseForms(res.text, res.url)[0]!.fields.JWT!;
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(payload[dl('content_items')]).toEqual([]);
    expect(payload[dl('msg')]).toBe('No CoachLTI module was added.');
    const again = await browser.post(form.action, { ...form.fields, action: 'add', modules: 'M01' });
    expect(again.status).toBe(403);
  });

  test('when a coach forges a deep-linking form post, then it is refused (faculty only)', async () => {
    const browser = new Browser();
    await launch(server, browser, launchInput('canvas', 'coach'));
    const res = await browser.post(`${server.url}/deep-linking`, { action: 'add', modules: 'M01' });
    expect(res.status).toBe(403);
  });

  test('when faculty open the roster, then every member arrives across several NRPS pages with names, roles and status', async () => {
    const browser = new Browser();
    await launch(server, browser, launchInput('moodle', 'faculty'));
    server.devPlatform!.stats.reset();
    const page = await browser.get(`${server.url}/course/roster`);
    expect(page.status).toBe(200);
    const text = decodeHtml(page.text);
    const rows = text.match(/<tr><td>/g) ?? [];
    const contextId = seedIds('moodle', 'faculty').contextId;
    const { users } = (await import('../../src/devplatform')).devPlatformDirectory();
    const enrolled = users.filter((u) => u.shape === 'moodle' && u.enrollments.some((e) => e.contextId === contextId));
    expect(enrolled.length).toBeGreaterThan(14);
    expect(rows).toHaveLength(enrolled.length);
    expect(text).toContain(`${enrolled.length} people`);
    expect(text).toContain('Inactive');
    expect(text).toContain('Instructor');
  });

  test('when 50 launches arrive from one platform, then its JWKS is fetched at most once', async () => {
    server.devPlatform!.stats.reset();
    for (let i = 0; i < 50; i += 1) {
      const page = await launch(server, new Browser(), launchInput('canvas', 'coach'));
      expect(page.status).toBe(200);
    }
    expect(server.devPlatform!.stats.jwksRequests()).toBeLessThanOrEqual(1);
  });

  test('when a deep-linking response is checked against our key set, then its signature verifies with the advertised kid', async () => {
    const { browser, page } = await deepLinkingPage('canvas');
    const form = parseForms(page.text, page.url)[0]!;
    const answer = await browser.post(form.action, { ...form.fields, action: 'add', modules: 'M02' });
    const jwt = parseForms(answer.text, answer.url)[0]!.fields.JWT!;
    const jwks = (await (await fetch(`${server.url}/lti/keys`)).json()) as { keys: { kid: string }[] };
    const { kid } = decodeProtectedHeader(jwt);
    expect(jwks.keys.map((k) => k.kid)).toContain(kid);
    await expect(compactVerify(jwt, createRemoteJWKSet(new URL(`${server.url}/lti/keys`)))).resolves.toBeDefined();
  });
});
