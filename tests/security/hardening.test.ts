import { gzipSync } from 'node:zlib';
import { MongoClient } from 'mongodb';
import { Browser, parseForms } from '../support/browser';
import { collectionCounts, startChildServer, type ChildServer } from '../support/child-server';
import { startLatencyProxy } from '../support/latency-proxy';
import { documentCounts, launch, launchInput, prepareLaunch } from '../support/lti-launch';
import { startTestServer, testDatabaseUri, type TestServer } from '../support/test-server';

interface RawRequest {
  label: string;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
const json = { 'Content-Type': 'application/json' };

/** The reproductions from the security review, as an outside attacker sends them. */
const attacks: RawRequest[] = [
  { label: 'state with a space', method: 'POST', path: '/lti/launch', headers: form, body: 'state=a+b' },
  { label: 'state with a space and an id_token', method: 'POST', path: '/lti/launch', headers: form, body: 'state=a+b&id_token=x.y.z' },
  { label: 'state twice', method: 'POST', path: '/lti/launch', headers: form, body: 'state=x&state=y' },
  { label: 'state with a semicolon', method: 'POST', path: '/lti/launch', headers: form, body: 'state=%3B' },
  { label: 'state as a query operator (JSON)', method: 'POST', path: '/lti/launch', headers: json, body: '{"state":{"$ne":null}}' },
  { label: 'state on another ltijs path', method: 'POST', path: '/lti/anything', headers: form, body: 'state=a+b' },
  { label: 'state on an upper-case path', method: 'POST', path: '/LTI/LAUNCH', headers: form, body: 'state=a%20b&id_token=a.b.c' },
  { label: 'login with iss[$regex]=.', method: 'GET', path: '/lti/login?iss[$regex]=.&login_hint=x&target_link_uri=x' },
  { label: 'login with iss[$regex]=(', method: 'GET', path: '/lti/login?iss[$regex]=(&login_hint=x&target_link_uri=x' },
  { label: 'login with iss[$where]=1', method: 'GET', path: '/lti/login?iss[$where]=1&login_hint=x&target_link_uri=x' },
  {
    label: 'login posted with two issuers',
    method: 'POST',
    path: '/lti/login',
    headers: form,
    body: 'iss=https%3A%2F%2Fa.example&iss=https%3A%2F%2Fb.example&login_hint=x&target_link_uri=https%3A%2F%2Ft.example',
  },
  {
    label: 'a gzip header on a body that is not gzip',
    method: 'POST',
    path: '/lti/launch',
    headers: { ...form, 'Content-Encoding': 'gzip' },
    body: 'state=abc',
  },
  {
    label: 'a gzip body to the admin sign-in',
    method: 'POST',
    path: '/admin/login',
    headers: { ...form, 'Content-Encoding': 'gzip' },
    body: gzipSync('email=a&password=b'),
  },
  { label: 'a CSRF field that is an object', method: 'POST', path: '/admin/login', headers: json, body: '{"_csrf":{"toString":1}}' },
  {
    label: 'an undecodable form body',
    method: 'POST',
    path: '/admin/login',
    headers: form,
    body: Buffer.from([0x25, 0xff, 0xfe, 0x3d, 0x25]),
  },
];

describe('the process under malformed and hostile requests', () => {
  let child: ChildServer;
  let client: MongoClient;
  beforeAll(async () => {
    child = await startChildServer();
    client = await MongoClient.connect(child.databaseUri);
  }, 120_000);
  afterAll(async () => {
    await client.close();
    await child.stop();
  });

  const counts = (): Promise<Record<string, number>> => collectionCounts(client);

  test.each(attacks.map((a) => [a.label, a] as const))(
    'when an anonymous client sends %s, then it gets a 4xx, nothing is written and the process keeps serving',
    async (_label, attack) => {
      const before = await counts();
      const res = await fetch(`${child.url}${attack.path}`, {
        method: attack.method,
        headers: { Accept: 'text/html', ...attack.headers },
        body: attack.body,
        redirect: 'manual',
      });
      const text = await res.text();
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers.get('location')).toBeNull();
      expect(text).not.toMatch(/at .+\.(js|ts):\d+|ECONNREFUSED|MongoServerError/);
      await new Promise((r) => setTimeout(r, 50));
      expect(child.alive()).toBe(true);
      expect((await fetch(`${child.url}/healthz`)).status).toBe(200);
      expect(await counts()).toEqual(before);
    },
  );
});

describe('launch binding and error texts', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when an id_token carries a nonce other than the one the tool sent at login, then the launch is refused and nothing is recorded', async () => {
    const browser = new Browser();
    const prepared = await prepareLaunch(server, browser, launchInput('canvas', 'coach'));
    const forged = await server.devPlatform!.signIdToken('canvas', { ...prepared.claims, nonce: 'a-nonce-the-tool-never-sent' });
    const before = await documentCounts(server);
    const refused = await browser.post(prepared.launchUrl, { id_token: forged, state: prepared.state });
    expect(refused.status).toBe(401);
    expect(refused.text).toContain('NONCE_MISMATCH');
    expect(await documentCounts(server)).toEqual(before);
  });

  test('when the id_token carries the nonce sent at login, then the launch is accepted', async () => {
    const browser = new Browser();
    const prepared = await prepareLaunch(server, browser, launchInput('canvas', 'coach'));
    const accepted = await browser.post(prepared.launchUrl, { id_token: prepared.idToken, state: prepared.state });
    expect(accepted.status).toBe(303);
  });
});

describe('attempt start keys', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  async function startForm(browser: Browser, persona: 'coach' | 'coach2') {
    await launch(server, browser, launchInput('canvas', persona));
    const page = await browser.get(`${server.url}/modules/M02`);
    const form = parseForms(page.text, page.url).find((f) => f.action.endsWith('/modules/M02/attempts'));
    if (!form) throw new Error(`no start form (HTTP ${page.status})`);
    return form;
  }

  test("when a coach posts another coach's start key, then they get an attempt of their own, never the other's", async () => {
    const first = new Browser();
    const firstForm = await startForm(first, 'coach');
    const firstAttempt = (await first.post(firstForm.action, firstForm.fields)).location!;
    expect(firstAttempt).toMatch(/\/attempts\/[a-f0-9]{24}\//);

    const second = new Browser();
    const secondForm = await startForm(second, 'coach2');
    const secondAttempt = (await second.post(secondForm.action, { ...secondForm.fields, idempotencyKey: firstForm.fields.idempotencyKey! }))
      .location!;
    const idOf = (url: string) => /\/attempts\/([a-f0-9]{24})\//.exec(url)?.[1];
    expect(idOf(secondAttempt)).toBeDefined();
    expect(idOf(secondAttempt)).not.toBe(idOf(firstAttempt));
    // The same coach posting the same form twice still lands on one attempt.
    const again = (await first.post(firstForm.action, firstForm.fields)).location!;
    expect(idOf(again)).toBe(idOf(firstAttempt));
  });
});

describe('when the database goes away after start', () => {
  test('when an LMS starts a login, then the answer is a 503 page that names no internal host or port', async () => {
    const uri = testDatabaseUri('dbdown');
    const proxy = await startLatencyProxy(uri, 0);
    // Its own process: a driver left reconnecting to a vanished database must not outlive the test.
    const child = await startChildServer({ MONGODB_URI: proxy.uriFor(uri), DB_CONNECT_TIMEOUT_MS: '500' });
    try {
      proxy.interrupt();
      const res = await fetch(`${child.url}/lti/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/html' },
        body: new URLSearchParams({
          iss: 'https://lms.example.edu',
          login_hint: 'u1',
          target_link_uri: `${child.url}/lti/launch`,
          client_id: 'c1',
        }),
        redirect: 'manual',
      });
      const text = await res.text();
      expect(res.status).toBe(503);
      expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1:\d+|Mongo[A-Za-z]*Error|at .+\.js:\d+/);
      expect(child.alive()).toBe(true);
    } finally {
      await child.stop();
      await proxy.close();
    }
  }, 120_000);
});
