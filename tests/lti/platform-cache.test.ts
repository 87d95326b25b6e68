import { Browser } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

/** Registered platforms are served from memory: changes here apply at once, changes elsewhere within the bound. */
describe('platform cache', () => {
  const boundMs = 1_500;
  let server: TestServer;
  let other: TestServer;
  let target: { issuer: string; clientId: string };

  beforeAll(async () => {
    server = await startTestServer({}, { tuning: { platformCacheMs: boundMs } });
    // Another instance on the same database: its own memory, as the platform CLI or another replica.
    other = await startTestServer({
      MONGODB_URI: server.config.mongodbUri,
      LTI_KEY: server.config.ltiKey,
      SESSION_SECRET: server.config.sessionSecret,
      DEV_PLATFORM: 'false',
      MIGRATE_ON_START: 'false',
      PASSBACK_WORKER: 'false',
    });
    const moodle = (await server.devPlatform!.registration('moodle'))!;
    target = { issuer: moodle.issuer, clientId: moodle.clientId };
  });
  afterAll(async () => {
    await other.stop();
    await server.stop();
  });

  const login = () =>
    new Browser().post(`${server.url}/lti/login`, {
      iss: target.issuer,
      client_id: target.clientId,
      login_hint: 'u',
      target_link_uri: `${server.config.toolUrl}/lti/launch`,
    });

  test('when this instance deactivates a platform it just launched from, then the next login is refused at once, and reactivation applies at once', async () => {
    const page = await launch(server, new Browser(), launchInput('moodle', 'coach'));
    expect(page.status).toBe(200);

    await server.lti.setActive(target.issuer, target.clientId, false);
    const refused = await login();
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('not yet activated');
    expect(await server.lti.lookupPlatform(target.issuer, target.clientId)).toMatchObject({ active: false });

    await server.lti.setActive(target.issuer, target.clientId, true);
    const again = await launch(server, new Browser(), launchInput('moodle', 'coach'));
    expect(again.status).toBe(200);
  });

  test('when another instance deactivates a platform, then this one refuses its launches within the documented bound', async () => {
    expect((await launch(server, new Browser(), launchInput('moodle', 'coach'))).status).toBe(200);
    await other.lti.setActive(target.issuer, target.clientId, false);
    try {
      await new Promise((resolve) => setTimeout(resolve, boundMs + 100));
      const refused = await login();
      expect(refused.status).toBe(403);
      expect(await server.lti.lookupPlatform(target.issuer, target.clientId)).toMatchObject({ active: false });
    } finally {
      await other.lti.setActive(target.issuer, target.clientId, true);
    }
    await new Promise((resolve) => setTimeout(resolve, boundMs + 100));
    expect((await launch(server, new Browser(), launchInput('moodle', 'coach'))).status).toBe(200);
  });

  test('when another instance removes a platform, then this one treats it as unregistered within the bound', async () => {
    const probe = { issuer: 'https://lms.cache-test.example', clientId: 'cache-1' };
    await other.lti.registerPlatform({
      ...probe,
      name: 'cache probe',
      authUrl: 'https://lms.cache-test.example/auth',
      tokenUrl: 'https://lms.cache-test.example/token',
      jwksUrl: 'https://lms.cache-test.example/jwks',
    });
    expect(await server.lti.lookupPlatform(probe.issuer, probe.clientId)).toMatchObject({ clientId: 'cache-1', active: true });
    await other.lti.removePlatform(probe.issuer, probe.clientId);
    await new Promise((resolve) => setTimeout(resolve, boundMs + 100));
    expect(await server.lti.lookupPlatform(probe.issuer, probe.clientId)).toBeNull();
  });
});
