import { generateKeyPair } from 'jose';
import request from 'supertest';
import { allScopes, clientAssertion, startHarness, tokenForm, userAgent, type Harness } from './support';

const [lineItemScope, , resultScope, scoreScope, nrpsScope] = allScopes as [string, string, string, string, string];

describe('dev platform: token endpoint', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const post = (form: Record<string, string>, shape: 'canvas' | 'moodle' = 'canvas') =>
    request(h.url).post(`/dev/platform/${shape}/token`).set('User-Agent', userAgent).type('form').send(form);

  test('when the tool sends a valid client assertion, then it gets a Bearer token for the requested scopes', async () => {
    const res = await post(tokenForm(await clientAssertion(h, 'canvas'), [scoreScope, lineItemScope])).expect(200);
    expect(res.body).toEqual({
      access_token: expect.any(String) as unknown,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: [lineItemScope, scoreScope].sort().join(' '),
    });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  test('when the assertion audience is not this token endpoint, then the request is refused as invalid_client', async () => {
    const wrongAud = await clientAssertion(h, 'canvas', { aud: `${h.platformUrl}/moodle/token` });
    const res = await post(tokenForm(wrongAud, [scoreScope])).expect(401);
    expect(res.body).toEqual({ error: 'invalid_client', error_description: expect.stringContaining('aud') as unknown });
  });

  test('when the same jti is presented twice, then the replay is refused', async () => {
    const assertion = await clientAssertion(h, 'moodle', { jti: 'fixed-jti' });
    await post(tokenForm(assertion, [scoreScope]), 'moodle').expect(200);
    const replay = await post(tokenForm(assertion, [scoreScope]), 'moodle').expect(401);
    expect((replay.body as { error_description: string }).error_description).toContain('jti');
    // A different assertion with the same jti is a replay as well.
    const again = await clientAssertion(h, 'moodle', { jti: 'fixed-jti' });
    await post(tokenForm(again, [scoreScope]), 'moodle').expect(401);
  });

  test('when the request has no User-Agent header, then it is refused with 400 as Canvas does', async () => {
    const res = await request(h.url)
      .post('/dev/platform/canvas/token')
      .type('form')
      .send(tokenForm(await clientAssertion(h, 'canvas'), [scoreScope]))
      .expect(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'a User-Agent header is required' });
  });

  test('when a scope was not registered by the tool, then the request is refused with invalid_scope', async () => {
    await h.close();
    h = await startHarness({ register: false });
    const register = h.tool.registrationBody({ scope: scoreScope });
    h.tool.registrationBody = () => register;
    await h.platform.registerWithTool();
    const res = await post(tokenForm(await clientAssertion(h, 'canvas'), [scoreScope, nrpsScope])).expect(400);
    expect(res.body).toEqual({ error: 'invalid_scope', error_description: expect.stringContaining(nrpsScope) as unknown });
    await post(tokenForm(await clientAssertion(h, 'canvas'), [scoreScope])).expect(200);
  });

  test('when the assertion is signed with a key not in the tool JWKS, expired, or for another client, then it is refused', async () => {
    const stranger = await generateKeyPair('RS256');
    await post(tokenForm(await clientAssertion(h, 'canvas', { key: stranger.privateKey }), [scoreScope])).expect(401);
    await post(tokenForm(await clientAssertion(h, 'canvas', { expiresIn: -120 }), [scoreScope])).expect(401);
    // A canvas client id is unknown to the moodle platform.
    await post(tokenForm(await clientAssertion(h, 'canvas', { aud: `${h.platformUrl}/moodle/token` }), [scoreScope]), 'moodle').expect(401);
  });

  test('when the grant type or assertion type is wrong, or the scope is empty, then the OAuth error names the problem', async () => {
    const assertion = await clientAssertion(h, 'canvas');
    const wrongGrant = await post({ ...tokenForm(assertion, [scoreScope]), grant_type: 'password' }).expect(400);
    expect((wrongGrant.body as { error: string }).error).toBe('unsupported_grant_type');
    const wrongType = await post({ ...tokenForm(assertion, [scoreScope]), client_assertion_type: 'basic' }).expect(400);
    expect((wrongType.body as { error: string }).error).toBe('invalid_request');
    const noScope = await post(tokenForm(assertion, [])).expect(400);
    expect((noScope.body as { error: string }).error).toBe('invalid_scope');
    await post(tokenForm('not-a-jwt', [scoreScope])).expect(401);
  });

  test('when token requests arrive, then stats count them per sorted scope set', async () => {
    h.platform.stats.reset();
    await post(tokenForm(await clientAssertion(h, 'canvas'), [scoreScope, lineItemScope])).expect(200);
    await post(tokenForm(await clientAssertion(h, 'canvas'), [lineItemScope, scoreScope])).expect(200);
    await post(tokenForm(await clientAssertion(h, 'moodle'), [resultScope]), 'moodle').expect(200);
    expect(h.platform.stats.tokenRequests()).toEqual({ [[lineItemScope, scoreScope].sort().join(' ')]: 2, [resultScope]: 1 });
  });
});
