import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import type { LoginParams } from './entry-params';
import { LaunchRefusedError, type ValidatedLaunch } from './launch-validation';
import type { LoginAttempts } from './login-attempts';
import { createOidcHandlers, type LoginPlatform } from './oidc';

const issuer = 'https://lms.example.edu';

function harness(options: { platforms?: Record<string, LoginPlatform>; refuseWith?: string } = {}) {
  const platforms = options.platforms ?? {
    'client-1': { clientId: 'client-1', active: true, authUrl: 'https://lms.example.edu/auth?x=1' },
  };
  const recorded: { state: string; nonce: string; params: LoginParams }[] = [];
  const validated: { token: string; issuer: string | undefined; state: string | undefined }[] = [];
  const refused: string[] = [];
  const launched: boolean[] = [];
  const attempts: LoginAttempts = {
    async record(state, nonce, params) {
      recorded.push({ state, nonce, params });
    },
    async find() {
      return null;
    },
    async nonceFor() {
      return null;
    },
    async consume() {
      return 'consumed';
    },
  };
  const handlers = createOidcHandlers({
    platform: async (iss, clientId) => (iss === issuer ? (platforms[clientId] ?? null) : null),
    platformsOf: async (iss) => (iss === issuer ? Object.values(platforms) : []),
    loginAttempts: attempts,
    async validate(token, iss, state) {
      validated.push({ token, issuer: iss, state });
      if (options.refuseWith) throw new LaunchRefusedError(options.refuseWith as 'NONCE_MISMATCH');
      return { clientId: 'client-1', kid: 'k' } as unknown as ValidatedLaunch;
    },
    ltiKey: 'test-lti-key-test-lti-key-test-lti-key',
    secureCookies: true,
    async onLaunch(_launch, _req, res) {
      launched.push(res.locals.cookielessLaunch === true);
      res.status(200).send('launched');
    },
    onRefused(code: string, _req: Request, res: Response, _next: NextFunction) {
      refused.push(code);
      res.status(401).send(code);
    },
  });
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.all('/lti/login', handlers.login);
  app.post('/lti/launch', handlers.launch);
  return { app, recorded, validated, refused, launched };
}

const loginQuery = {
  iss: issuer,
  login_hint: 'user-7',
  target_link_uri: 'https://tool.example/lti/launch?module=m1',
  lti_message_hint: 'hint-1',
  client_id: 'client-1',
};

describe('OIDC login and launch', () => {
  test('when a registered platform starts a login, then the browser goes to its auth endpoint with a fresh state and nonce that are recorded', async () => {
    const h = harness();
    const res = await request(h.app).get('/lti/login').query(loginQuery);
    expect(res.status).toBe(302);
    const target = new URL(res.headers.location as string);
    expect(`${target.origin}${target.pathname}`).toBe('https://lms.example.edu/auth');
    expect(target.searchParams.get('x')).toBe('1');
    expect(target.searchParams.get('redirect_uri')).toBe('https://tool.example/lti/launch');
    expect(target.searchParams.get('response_mode')).toBe('form_post');
    expect(target.searchParams.get('prompt')).toBe('none');
    expect(target.searchParams.get('lti_message_hint')).toBe('hint-1');
    expect(h.recorded).toHaveLength(1);
    expect(target.searchParams.get('state')).toBe(h.recorded[0]!.state);
    expect(target.searchParams.get('nonce')).toBe(h.recorded[0]!.nonce);
    expect(h.recorded[0]!.params.lti_message_hint).toBe('hint-1');
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith(`state${h.recorded[0]!.state}=`))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=None/);
    expect(cookie).toMatch(/Partitioned/);
    expect(cookie).not.toContain(encodeURIComponent(issuer) + ';');
  });

  test('when two logins start, then they get different states and nonces', async () => {
    const h = harness();
    await request(h.app).get('/lti/login').query(loginQuery);
    await request(h.app).get('/lti/login').query(loginQuery);
    expect(h.recorded[0]!.state).not.toBe(h.recorded[1]!.state);
    expect(h.recorded[0]!.nonce).not.toBe(h.recorded[1]!.nonce);
  });

  test('when a login names no client_id, then the issuer’s registered platform is used', async () => {
    const h = harness();
    const withoutClient: Partial<typeof loginQuery> = { ...loginQuery };
    delete withoutClient.client_id;
    const res = await request(h.app).get('/lti/login').query(withoutClient);
    expect(res.status).toBe(302);
    expect(new URL(res.headers.location as string).searchParams.get('client_id')).toBe('client-1');
  });

  test('when the platform is unknown or not active, then the login is refused and nothing is recorded', async () => {
    const unknown = harness();
    await request(unknown.app)
      .get('/lti/login')
      .query({ ...loginQuery, iss: 'https://other.example' });
    expect(unknown.refused).toEqual(['UNREGISTERED_PLATFORM']);
    const inactive = harness({
      platforms: { 'client-1': { clientId: 'client-1', active: false, authUrl: 'https://lms.example.edu/auth' } },
    });
    await request(inactive.app).get('/lti/login').query(loginQuery);
    expect(inactive.refused).toEqual(['PLATFORM_NOT_ACTIVATED']);
    expect([...unknown.recorded, ...inactive.recorded]).toHaveLength(0);
  });

  test('when the launch carries the login’s state cookie, then the validator gets the issuer from it and the cookie is cleared', async () => {
    const h = harness();
    await request(h.app).get('/lti/login').query(loginQuery);
    const other = h.recorded[0]!.state;
    // The cookie is Secure and supertest talks plain http: it is sent by hand.
    const login = await request(h.app).get('/lti/login').query(loginQuery);
    const second = h.recorded[1]!.state;
    const cookie = (login.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    const res = await request(h.app).post('/lti/launch').type('form').set('Cookie', cookie).send({ id_token: 'a.b.c', state: second });
    expect(res.status).toBe(200);
    expect(h.validated.at(-1)).toEqual({ token: 'a.b.c', issuer, state: second });
    expect(h.launched).toEqual([false]);
    expect((res.headers['set-cookie'] as unknown as string[]).some((c) => c.startsWith(`state${second}=;`))).toBe(true);
    expect(other).not.toBe(second);
  });

  test('when the state cookie is forged or belongs to another login, then the validator gets no issuer', async () => {
    const h = harness();
    const login = await request(h.app).get('/lti/login').query(loginQuery);
    const state = h.recorded[0]!.state;
    const [name, value] = (login.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!.split('=') as [string, string];
    const forged = `${name}=${encodeURIComponent(issuer)}`;
    await request(h.app).post('/lti/launch').type('form').set('Cookie', forged).send({ id_token: 'a.b.c', state });
    const tampered = `${name}=${value.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}`;
    await request(h.app).post('/lti/launch').type('form').set('Cookie', tampered).send({ id_token: 'a.b.c', state });
    await request(h.app)
      .post('/lti/launch')
      .type('form')
      .set('Cookie', `state${'0'.repeat(50)}=${value}`)
      .send({ id_token: 'a.b.c', state });
    expect(h.validated.map((v) => v.issuer)).toEqual([undefined, undefined, undefined]);
  });

  test('when the validator refuses, then the refusal code goes to the refusal handler and nothing is launched', async () => {
    const h = harness({ refuseWith: 'NONCE_MISMATCH' });
    const res = await request(h.app).post('/lti/launch').type('form').send({ id_token: 'a.b.c', state: 'abc' });
    expect(res.status).toBe(401);
    expect(h.refused).toEqual(['NONCE_MISMATCH']);
    expect(h.launched).toEqual([]);
  });

  test('when the launch has no id_token, then it is refused as a launch without a token', async () => {
    const h = harness();
    await request(h.app).post('/lti/launch').type('form').send({ state: 'abc' });
    expect(h.refused).toEqual(['NO_LTIK_OR_IDTOKEN_FOUND']);
    expect(h.validated).toEqual([]);
  });
});
