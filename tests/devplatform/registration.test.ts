import request from 'supertest';
import { allScopes, startHarness, toolConfigClaim, type Harness } from './support';

describe('dev platform: openid configuration and dynamic registration', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  test('when the openid configuration is fetched, then it describes each shape per LTI Dynamic Registration', async () => {
    h = await startHarness({ register: false });
    for (const shape of ['canvas', 'moodle'] as const) {
      const res = await request(h.url)
        .get(`/dev/platform/${shape}/.well-known/openid-configuration`)
        .expect(200)
        .expect('Content-Type', /json/);
      const issuer = `${h.platformUrl}/${shape}`;
      expect(res.body).toMatchObject({
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        registration_endpoint: `${issuer}/register`,
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
        token_endpoint_auth_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['id_token'],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: expect.arrayContaining(['openid', ...allScopes]) as unknown,
        'https://purl.imsglobal.org/spec/lti-platform-configuration': {
          product_family_code: shape,
          messages_supported: [
            expect.objectContaining({ type: 'LtiResourceLinkRequest' }),
            expect.objectContaining({ type: 'LtiDeepLinkingRequest' }),
          ] as unknown,
          variables: expect.arrayContaining(['$Context.id', '$User.id']) as unknown,
        },
      });
    }
  });

  test('when registerWithTool runs twice, then the tool registers both shapes once through the real HTTP flow', async () => {
    h = await startHarness({ register: false });
    await h.platform.registerWithTool();
    const canvas = await h.platform.registration('canvas');
    const moodle = await h.platform.registration('moodle');
    expect(canvas?.issuer).toBe(`${h.platformUrl}/canvas`);
    expect(moodle?.issuer).toBe(`${h.platformUrl}/moodle`);
    expect(canvas?.clientId).not.toBe(moodle?.clientId);
    const response = h.tool.registered.canvas as Record<string, Record<string, unknown>>;
    expect(response.client_id).toBe(canvas?.clientId);
    expect(response[toolConfigClaim]?.deployment_id).toBe(canvas?.deploymentId);
    expect(response.scope).toBe(allScopes.join(' '));

    h.tool.onRegister = () => Promise.reject(new Error('must not be called again'));
    await h.platform.registerWithTool();
    expect((await h.platform.registration('canvas'))?.clientId).toBe(canvas?.clientId);
  });

  test('when the register endpoint is called without a bearer token or with a wrong one, then it answers 401 invalid_token', async () => {
    h = await startHarness({ register: false });
    const body = h.tool.registrationBody();
    const none = await request(h.url).post('/dev/platform/canvas/register').send(body).expect(401);
    expect(none.body).toEqual({ error: 'invalid_token', error_description: expect.any(String) as unknown });
    expect(none.headers['www-authenticate']).toContain('invalid_token');
    await request(h.url).post('/dev/platform/canvas/register').set('Authorization', 'Bearer made-up').send(body).expect(401);
    expect(await h.platform.registration('canvas')).toBeNull();
  });

  /** Makes the fake tool hand us its registration token instead of registering. */
  async function captureToken(): Promise<string> {
    let captured = '';
    h.tool.onRegister = (_config, token) => {
      captured = token;
      return Promise.resolve();
    };
    await expect(h.platform.registerWithTool()).rejects.toThrow(/never called the canvas registration endpoint/);
    return captured;
  }

  test('when a valid one-time token registers the tool, then the response adds client_id and deployment_id and the token cannot be reused', async () => {
    h = await startHarness({ register: false });
    const token = await captureToken();
    const body = h.tool.registrationBody({ scope: `${allScopes[3] ?? ''} https://example.com/unknown-scope` });
    const res = await request(h.url).post('/dev/platform/canvas/register').set('Authorization', `Bearer ${token}`).send(body).expect(200);
    const registration = await h.platform.registration('canvas');
    expect(res.body).toMatchObject({
      client_id: registration?.clientId,
      scope: allScopes[3],
      initiate_login_uri: `${h.tool.url}/lti/login`,
      [toolConfigClaim]: { deployment_id: registration?.deploymentId, 'https://canvas.instructure.com/lti/privacy_level': 'public' },
    });
    await request(h.url).post('/dev/platform/canvas/register').set('Authorization', `Bearer ${token}`).send(body).expect(401);
  });

  test('when the registration metadata breaks the spec, then it is refused with the RFC 7591 error and the token stays usable', async () => {
    h = await startHarness({ register: false });
    const token = await captureToken();
    const post = (body: Record<string, unknown>) =>
      request(h.url).post('/dev/platform/canvas/register').set('Authorization', `Bearer ${token}`).send(body);

    const grant = await post(h.tool.registrationBody({ grant_types: ['implicit'] })).expect(400);
    expect(grant.body).toEqual({ error: 'invalid_client_metadata', error_description: expect.stringContaining('grant_types') as unknown });
    await post(h.tool.registrationBody({ token_endpoint_auth_method: 'client_secret_basic' })).expect(400);
    await post(h.tool.registrationBody({ response_types: ['code'] })).expect(400);
    await post(h.tool.registrationBody({}, { domain: undefined })).expect(400);
    const redirect = await post(h.tool.registrationBody({ redirect_uris: ['https://evil.example.com/launch'] })).expect(400);
    expect((redirect.body as { error: string }).error).toBe('invalid_redirect_uri');
    const message = await post(h.tool.registrationBody({}, { messages: [{ type: 'LtiSubmissionReviewRequest' }] })).expect(400);
    expect((message.body as { error_description: string }).error_description).toContain('LtiSubmissionReviewRequest');
    await request(h.url)
      .post('/dev/platform/canvas/register')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'text/plain')
      .send('hello')
      .expect(400);
    expect(await h.platform.registration('canvas')).toBeNull();

    await post(h.tool.registrationBody()).expect(200);
    expect(await h.platform.registration('canvas')).not.toBeNull();
  });

  test('when a token issued for the canvas shape is used on the moodle register endpoint, then it is refused', async () => {
    h = await startHarness({ register: false });
    const token = await captureToken();
    await request(h.url)
      .post('/dev/platform/moodle/register')
      .set('Authorization', `Bearer ${token}`)
      .send(h.tool.registrationBody())
      .expect(401);
  });

  test('when the platform is created again on the same database, then its keys and registrations survive', async () => {
    h = await startHarness();
    const before = await request(h.url).get('/dev/platform/canvas/jwks').expect(200);
    const registration = await h.platform.registration('canvas');
    const again = await startHarness({ connection: h.connection, register: false });
    try {
      const after = await request(again.url).get('/dev/platform/canvas/jwks').expect(200);
      expect(after.body).toEqual(before.body);
      expect(await again.platform.registration('canvas')).toEqual({ ...registration, issuer: `${again.platformUrl}/canvas` });
      const moodle = await request(again.url).get('/dev/platform/moodle/jwks').expect(200);
      expect((moodle.body as { keys: { kid: string }[] }).keys[0]?.kid).not.toBe((before.body as { keys: { kid: string }[] }).keys[0]?.kid);
    } finally {
      await again.close();
    }
  });

  test('when the JWKS is fetched, then it holds one RS256 public key per shape and the fetches are counted', async () => {
    h = await startHarness({ register: false });
    const res = await request(h.url).get('/dev/platform/moodle/jwks').expect(200);
    const keys = (res.body as { keys: Record<string, unknown>[] }).keys;
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.any(String) as unknown });
    expect(keys[0]).not.toHaveProperty('d');
    await request(h.url).get('/dev/platform/canvas/jwks').expect(200);
    expect(h.platform.stats.jwksRequests()).toBe(2);
    h.platform.stats.reset();
    expect(h.platform.stats.jwksRequests()).toBe(0);
  });
});
