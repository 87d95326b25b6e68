import { startTestServer, type TestServer } from '../support/test-server';

describe('cookies inside an LMS iframe', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      NODE_ENV: 'production',
      TOOL_URL: 'https://coach.example.edu',
      LTI_KEY: 'k'.repeat(40),
      SESSION_SECRET: 's'.repeat(40),
    });
    await server.lti.registerPlatform({
      issuer: 'https://lms.example.edu',
      clientId: 'client-1',
      name: 'Example LMS',
      authUrl: 'https://lms.example.edu/auth',
      tokenUrl: 'https://lms.example.edu/token',
      jwksUrl: 'https://lms.example.edu/jwks',
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when TOOL_URL is https, then the login state cookie is SameSite=None; Secure; HttpOnly and the LMS gets the OIDC redirect', async () => {
    const res = await fetch(`${server.url}/lti/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        iss: 'https://lms.example.edu',
        client_id: 'client-1',
        login_hint: 'u1',
        target_link_uri: 'https://coach.example.edu/lti/launch',
        lti_message_hint: 'm',
      }),
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('https://lms.example.edu/auth');
    expect(Object.fromEntries(location.searchParams)).toMatchObject({
      scope: 'openid',
      response_type: 'id_token',
      response_mode: 'form_post',
      prompt: 'none',
      client_id: 'client-1',
      redirect_uri: 'https://coach.example.edu/lti/launch',
      login_hint: 'u1',
      lti_message_hint: 'm',
    });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('state'))!;
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=None/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Partitioned/);
  });

  test('when a page is served over https, then HSTS is sent and only CoachLTI and the registered LMSs may frame it', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
    const frameAncestors = /frame-ancestors ([^;]*)/.exec(res.headers.get('content-security-policy') ?? '')?.[1]?.split(' ');
    expect(frameAncestors).toEqual(["'self'", 'https://lms.example.edu']);
  });

  test('when the administrator sign-in page is served, then only CoachLTI itself may frame it', async () => {
    const res = await fetch(`${server.url}/admin/login`);
    expect(/frame-ancestors ([^;]*)/.exec(res.headers.get('content-security-policy') ?? '')?.[1]).toBe("'self'");
  });
});
