import type { Store } from 'express-session';
import type { LaunchInput } from '../../src/devplatform';
import type { RunningServer } from '../../src/server';
import { createAdmin } from '../admin/support';
import { Browser, parseForms, type PageResponse } from '../support/browser';
import { launchInput } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

/** A session store whose writes take `delayMs` longer: a busy database, or a replica far away. */
function slowWrites(delayMs: number): (store: Store) => Store {
  return (store) => {
    const set = store.set.bind(store);
    store.set = (sid, session, callback) => {
      setTimeout(() => set(sid, session, callback), delayMs);
    };
    return store;
  };
}

/**
 * The OIDC round trip, then the id_token POST answered by a redirect that is followed the moment its
 * headers arrive (as browsers do), optionally on another instance of the tool.
 */
async function launchFollowingEarly(
  server: RunningServer,
  browser: Browser,
  input: LaunchInput,
  rewrite?: (location: string) => string,
): Promise<PageResponse> {
  if (!server.devPlatform) throw new Error('no test platform');
  const start = await server.devPlatform.startLaunch(input);
  const login = await browser.post(start.url, start.params);
  if (!login.location) throw new Error(`login initiation answered ${login.status}`);
  const auth = await browser.get(login.location);
  return browser.submitFormFollowingEarly(auth, {}, rewrite);
}

describe('when the session store is slow', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, { tuning: { wrapSessionStore: slowWrites(300) } });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when a coach launches and the browser follows the redirect at once, then the training page opens (not "session has ended")', async () => {
    const page = await launchFollowingEarly(server, new Browser(), launchInput('canvas', 'coach'));
    expect(page.status).toBe(200);
    expect(new URL(page.url).pathname).toBe('/training');
  });

  test('when an instructor starts deep linking and the browser follows at once, then the module picker opens', async () => {
    const page = await launchFollowingEarly(
      server,
      new Browser(),
      launchInput('moodle', 'faculty', { messageType: 'LtiDeepLinkingRequest' }),
    );
    expect(page.status).toBe(200);
    expect(new URL(page.url).pathname).toBe('/deep-linking');
    expect(parseForms(page.text, page.url).length).toBeGreaterThan(0);
  });

  test('when an administrator signs in and the browser follows at once, then the admin overview opens', async () => {
    const admin = await createAdmin(server, 'race');
    const browser = new Browser();
    const form = await browser.get(`${server.url}/admin/login`);
    const page = await browser.submitFormFollowingEarly(form, { email: admin.email, password: admin.password });
    expect(page.status).toBe(200);
    expect(new URL(page.url).pathname).toBe('/admin');
    expect(page.text).toContain(admin.email);
  });

  test('when an anonymous visitor is redirected to the sign-in page, then no session is written', async () => {
    const db = server.connection.db!;
    const before = await db.collection('sessions').countDocuments();
    const res = await new Browser().get(`${server.url}/admin/passback`);
    expect(res.status).toBe(302);
    expect(await db.collection('sessions').countDocuments()).toBe(before);
  });
});

describe('when two instances of the tool share one database', () => {
  let first: TestServer;
  let second: TestServer;
  beforeAll(async () => {
    first = await startTestServer({}, { tuning: { wrapSessionStore: slowWrites(200) } });
    // Same database and secrets, its own process state; no test platform of its own.
    second = await startTestServer({
      MONGODB_URI: first.config.mongodbUri,
      LTI_KEY: first.config.ltiKey,
      SESSION_SECRET: first.config.sessionSecret,
      DEV_PLATFORM: 'false',
      MIGRATE_ON_START: 'false',
      PASSBACK_WORKER: 'false',
    });
  });
  afterAll(async () => {
    await second.stop();
    await first.stop();
  });

  test('when a launch goes through one instance and the redirect lands on the other, then the other knows the session', async () => {
    const onSecond = (location: string): string => `${second.url}${new URL(location).pathname}`;
    const coach = await launchFollowingEarly(first, new Browser(), launchInput('canvas', 'coach'), onSecond);
    expect(coach.status).toBe(200);
    expect(coach.url.startsWith(second.url)).toBe(true);
    expect(new URL(coach.url).pathname).toBe('/training');

    const faculty = await launchFollowingEarly(
      first,
      new Browser(),
      launchInput('canvas', 'faculty', { messageType: 'LtiDeepLinkingRequest' }),
      onSecond,
    );
    expect(faculty.status).toBe(200);
    expect(new URL(faculty.url).pathname).toBe('/deep-linking');
  });
});
