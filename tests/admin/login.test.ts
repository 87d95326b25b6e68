import { createAdminAccounts } from '../../src/admin/admin-accounts';
import { globalScope } from '../../src/admin/admin-scope';
import { createAuditLog } from '../../src/admin/audit-log';
import { Browser, parseForms } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';
import { createAdmin, csrfOf, newAdmin, signIn } from './support';

jest.setTimeout(120_000);

const generic = 'The email address or password is not correct.';

describe('administrator sign-in', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when an admin signs in with the right password, then a new session opens /admin and the sign-in is audited', async () => {
    const admin = await createAdmin(server);
    const browser = new Browser();
    const loginPage = await browser.get(`${server.url}/admin/login`);
    expect(loginPage.status).toBe(200);
    expect(loginPage.text).toMatch(/<label for="email">Email address<\/label>/);
    expect(loginPage.text).toMatch(/<label for="password">Password<\/label>/);
    const sessionBefore = loginPage.headers.getSetCookie()[0]?.split(';')[0];
    expect(sessionBefore).toMatch(/^coachlti\.sid=/);
    const form = parseForms(loginPage.text, loginPage.url)[0]!;

    const res = await browser.post(form.action, { ...form.fields, email: admin.email.toUpperCase(), password: admin.password });
    expect(res.status).toBe(303);
    expect(new URL(res.location!).pathname).toBe('/admin');
    expect(res.headers.getSetCookie()[0]?.split(';')[0]).toMatch(/^coachlti\.sid=/);
    expect(res.headers.getSetCookie()[0]?.split(';')[0]).not.toBe(sessionBefore);

    const home = await browser.follow(res);
    expect(home.status).toBe(200);
    expect(home.text).toContain('Registered platforms');
    expect(home.text).toContain(admin.email);
    expect(home.text).toContain('href="/admin/passback"');

    const account = await createAdminAccounts(server.connection).find(admin.email);
    expect(account?.lastLoginAt).toBeInstanceOf(Date);
    const audit = await createAuditLog(server.connection).list({ scope: globalScope, actor: admin.email });
    expect(audit.map((a) => a.action)).toEqual(['login.success']);

    const signOut = await browser.post(`${server.url}/admin/logout`, { _csrf: csrfOf(home) });
    expect(signOut.status).toBe(303);
    const after = await browser.get(`${server.url}/admin`);
    expect(after.status).toBe(302);
    expect(new URL(after.location!).pathname).toBe('/admin/login');
    expect((await createAuditLog(server.connection).list({ scope: globalScope, actor: admin.email })).map((a) => a.action)).toEqual([
      'logout',
      'login.success',
    ]);
  });

  test('when the password is wrong or the email unknown, then the same generic message shows on a 401 page', async () => {
    const admin = await createAdmin(server);
    const wrong = await signIn(server, new Browser(), admin.email, 'not the right password');
    const unknown = await signIn(server, new Browser(), newAdmin('nobody').email, admin.password);
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.text).toContain(generic);
      expect(res.text).toContain('role="alert"');
      expect(res.text).not.toMatch(/locked|unknown|no account/i);
    }
    const audit = await createAuditLog(server.connection).list({ scope: globalScope, actor: admin.email });
    expect(audit).toEqual([expect.objectContaining({ action: 'login.failure', detail: 'wrong password' })]);
  });

  test('when the sign-in form is posted without its CSRF token, then it is refused with 403', async () => {
    const admin = await createAdmin(server);
    const browser = new Browser();
    await browser.get(`${server.url}/admin/login`);
    const res = await browser.post(`${server.url}/admin/login`, { email: admin.email, password: admin.password });
    expect(res.status).toBe(403);
    const stranger = await new Browser().post(`${server.url}/admin/login`, {
      email: admin.email,
      password: admin.password,
      _csrf: 'x'.repeat(32),
    });
    expect(stranger.status).toBe(403);
    expect(await createAuditLog(server.connection).list({ scope: globalScope, actor: admin.email })).toEqual([]);
  });

  test('when nobody is signed in, then admin pages redirect to the sign-in page and come back after it', async () => {
    const admin = await createAdmin(server);
    const browser = new Browser();
    for (const path of ['/admin', '/admin/passback?status=failed', '/admin/audit', '/admin/passback.csv']) {
      const res = await browser.get(`${server.url}${path}`);
      expect(res.status).toBe(302);
      expect(new URL(res.location!).pathname).toBe('/admin/login');
    }
    const redirect = await browser.get(`${server.url}/admin/passback?status=failed`);
    const loginPage = await browser.get(redirect.location!);
    const form = parseForms(loginPage.text, loginPage.url)[0]!;
    expect(form.fields.next).toBe('/admin/passback?status=failed');
    const res = await browser.post(form.action, { ...form.fields, email: admin.email, password: admin.password });
    expect(res.location).toBe(`${server.url}/admin/passback?status=failed`);
    const evil = await browser.get(`${server.url}/admin/login?next=${encodeURIComponent('//evil.example/admin')}`);
    expect(evil.location).toBe(`${server.url}/admin`);
  });

  test('when an LMS administrator launches, then the passback ledger opens without a password', async () => {
    const browser = new Browser();
    const landing = await launch(server, browser, launchInput('canvas', 'admin'));
    expect(new URL(landing.url).pathname).toBe('/admin');
    const ledger = await browser.get(`${server.url}/admin/passback`);
    expect(ledger.status).toBe(200);
    expect(ledger.text).toContain('Grade passback ledger');
    expect(ledger.text).not.toContain('action="/admin/logout"');
  });

  test('when a coach or a faculty member launches, then the admin pages answer 403', async () => {
    for (const persona of ['coach', 'faculty'] as const) {
      const browser = new Browser();
      await launch(server, browser, launchInput('moodle', persona));
      for (const path of ['/admin', '/admin/passback', '/admin/audit', '/admin/passback.csv']) {
        const res = await browser.get(`${server.url}${path}`);
        expect({ persona, path, status: res.status }).toEqual({ persona, path, status: 403 });
      }
    }
  });
});

describe('administrator lockout', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when 5 wrong passwords are sent in a row, then the account locks for 15 minutes and even the right password gets the generic 401', async () => {
    const admin = await createAdmin(server);
    const browser = new Browser();
    for (let i = 0; i < 5; i += 1) {
      const res = await signIn(server, browser, admin.email, `wrong password number ${i}`);
      expect(res.status).toBe(401);
    }
    const accounts = createAdminAccounts(server.connection);
    const locked = await accounts.find(admin.email);
    expect(locked!.lockedUntil!.getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);
    expect(locked!.lockedUntil!.getTime()).toBeLessThanOrEqual(Date.now() + 15 * 60_000);

    const right = await signIn(server, browser, admin.email, admin.password);
    expect(right.status).toBe(401);
    expect(right.text).toContain(generic);
    expect(right.text).not.toMatch(/locked/i);
    expect((await browser.get(`${server.url}/admin`)).status).toBe(302);

    const actions = (await createAuditLog(server.connection).list({ scope: globalScope, actor: admin.email })).map((a) => a.action);
    expect(actions.filter((a) => a === 'login.lockout')).toHaveLength(1);
    expect(actions.filter((a) => a === 'login.failure')).toHaveLength(6);

    // Once the lock has expired, the right password works again.
    await server.connection
      .db!.collection('admin_accounts')
      .updateOne({ email: admin.email }, { $set: { lockedUntil: new Date(Date.now() - 1000) } });
    const later = await signIn(server, browser, admin.email, admin.password);
    expect(later.status).toBe(303);
  });
});

describe('sign-in rate limit', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when one address posts the sign-in form more than 10 times in 15 minutes, then the 11th answers 429 even with the right password', async () => {
    const admin = await createAdmin(server);
    const browser = new Browser();
    for (let i = 0; i < 10; i += 1) {
      // Without a CSRF token: refused (403) but still counted.
      const res = await browser.post(`${server.url}/admin/login`, { email: admin.email, password: 'whatever it is' });
      expect(res.status).toBe(403);
    }
    const res = await signIn(server, browser, admin.email, admin.password);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(800);
    expect(res.text).toContain('Too many sign-in attempts');
    expect((await browser.get(`${server.url}/admin`)).status).toBe(302);
  });
});
