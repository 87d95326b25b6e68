import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import request from 'supertest';
import { devPlatformDirectory, type Shape } from '../../src/devplatform';
import { accessToken, allScopes, authenticate, formFields, registrationOf, seedIds, startHarness, type Harness } from './support';

const claim = (name: string): string => `https://purl.imsglobal.org/spec/lti/claim/${name}`;
const agsClaim = 'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint';

describe('dev platform: OIDC launch', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function verifyIdToken(shape: Shape, idToken: string): Promise<JWTPayload> {
    const jwks = (await request(h.url).get(`/dev/platform/${shape}/jwks`).expect(200)).body as JSONWebKeySet;
    const { clientId } = await registrationOf(h, shape);
    const { payload } = await jwtVerify(idToken, createLocalJWKSet(jwks), { issuer: `${h.platformUrl}/${shape}`, audience: clientId });
    return payload;
  }

  async function launch(shape: Shape, input: Partial<Parameters<Harness['platform']['startLaunch']>[0]> = {}): Promise<JWTPayload> {
    const ids = seedIds(shape);
    const login = await h.platform.startLaunch({ shape, userId: ids.learner, contextId: ids.course, ...input });
    const res = await authenticate(h, shape, login.params).expect(200);
    const { action, fields } = formFields(res.text);
    expect(action).toBe(`${h.tool.url}/lti/launch`);
    expect(fields.state).toBe('state-123');
    return verifyIdToken(shape, fields.id_token ?? '');
  }

  test('when a canvas launch starts, then the login initiation carries the Canvas parameters including lti_storage_target', async () => {
    const ids = seedIds('canvas');
    const { clientId, deploymentId } = await registrationOf(h, 'canvas');
    const login = await h.platform.startLaunch({ shape: 'canvas', userId: ids.learner, contextId: ids.course });
    expect(login.url).toBe(`${h.tool.url}/lti/login`);
    expect(login.method).toBe('POST');
    expect(login.params).toEqual({
      iss: `${h.platformUrl}/canvas`,
      login_hint: expect.any(String) as unknown,
      target_link_uri: `${h.tool.url}/lti/launch`,
      lti_message_hint: expect.any(String) as unknown,
      client_id: clientId,
      lti_deployment_id: deploymentId,
      lti_storage_target: '_parent',
    });
    const moodle = await h.platform.startLaunch({
      shape: 'moodle',
      userId: seedIds('moodle').learner,
      contextId: seedIds('moodle').course,
    });
    expect(Object.keys(moodle.params).sort()).toEqual([
      'client_id',
      'iss',
      'login_hint',
      'lti_deployment_id',
      'lti_message_hint',
      'target_link_uri',
    ]);
    expect(moodle.params.login_hint).toBe(seedIds('moodle').learner);
  });

  test('when the tool completes a canvas launch for a learner, then the id_token has the standard and Canvas claims', async () => {
    const ids = seedIds('canvas');
    const { clientId, deploymentId } = await registrationOf(h, 'canvas');
    const token = await launch('canvas', { custom: { extra: 'yes' } });
    expect(token).toMatchObject({
      iss: `${h.platformUrl}/canvas`,
      aud: clientId,
      azp: clientId,
      sub: ids.learner,
      name: 'Amara Okafor',
      given_name: 'Amara',
      family_name: 'Okafor',
      email: 'amara.okafor@example.edu',
      [claim('message_type')]: 'LtiResourceLinkRequest',
      [claim('version')]: '1.3.0',
      [claim('deployment_id')]: deploymentId,
      [claim('target_link_uri')]: `${h.tool.url}/lti/launch`,
      [claim('resource_link')]: { id: expect.any(String) as unknown, title: 'My training' },
      [claim('roles')]: [
        'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner',
        'http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student',
        'http://purl.imsglobal.org/vocab/lis/v2/system/person#User',
      ],
      [claim('context')]: {
        id: ids.course,
        label: 'COACH-2026',
        title: 'Coaching Skills 2026',
        type: ['http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering'],
      },
      [claim('tool_platform')]: expect.objectContaining({ product_family_code: 'canvas' }) as unknown,
      [claim('launch_presentation')]: expect.objectContaining({
        document_target: 'iframe',
        return_url: expect.any(String) as unknown,
      }) as unknown,
      [claim('custom')]: { context_title: 'Coaching Skills 2026', untouched: '$Unknown.variable', extra: 'yes', canvas_course_id: '101' },
      [claim('lti11_legacy_user_id')]: expect.stringMatching(/^[0-9a-f]{40}$/) as unknown,
      'https://www.instructure.com/placement': 'course_navigation',
      [agsClaim]: { scope: allScopes.slice(0, 4), lineitems: `${h.platformUrl}/canvas/contexts/${ids.course}/lineitems` },
      'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice': {
        context_memberships_url: `${h.platformUrl}/canvas/contexts/${ids.course}/memberships`,
        service_versions: ['2.0'],
      },
    });
    expect((token.exp ?? 0) - (token.iat ?? 0)).toBe(300);
    expect(typeof token.nonce).toBe('string');
  });

  test('when staff launch, then roles follow each LMS: Canvas institution roles, Moodle administrator roles', async () => {
    const canvas = seedIds('canvas');
    const moodle = seedIds('moodle');
    expect((await launch('canvas', { userId: canvas.admin }))[claim('roles')]).toEqual([
      'http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator',
      'http://purl.imsglobal.org/vocab/lis/v2/system/person#User',
    ]);
    expect((await launch('canvas', { userId: canvas.instructor }))[claim('roles')]).toContain(
      'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor',
    );
    const moodleAdmin = (await launch('moodle', { userId: moodle.admin }))[claim('roles')];
    expect(moodleAdmin).toEqual(
      expect.arrayContaining([
        'http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator',
        'http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator',
      ]),
    );
    expect((await launch('moodle', { userId: moodle.ta }))[claim('roles')]).toEqual([
      'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor',
    ]);
    expect((await launch('canvas', { userId: canvas.ta }))[claim('roles')]).toContain(
      'http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant',
    );
    const moodleLearner = await launch('moodle');
    expect(moodleLearner[claim('roles')]).toEqual(['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner']);
    expect(moodleLearner[claim('ext')]).toEqual({ lms: 'moodle-2' });
    expect(moodleLearner[claim('custom')]).not.toHaveProperty('canvas_course_id');
  });

  test('when the launched link has line items, then Canvas sends its lineitem and Moodle only when there is exactly one', async () => {
    for (const shape of ['canvas', 'moodle'] as const) {
      const ids = seedIds(shape);
      const token = await accessToken(h, shape, [allScopes[0] ?? '']);
      const create = (label: string) =>
        request(h.url)
          .post(`/dev/platform/${shape}/contexts/${ids.course}/lineitems`)
          .set('Authorization', `Bearer ${token}`)
          .set('Content-Type', 'application/vnd.ims.lis.v2.lineitem+json')
          .send(JSON.stringify({ label, scoreMaximum: 10, resourceLinkId: 'rl-graded' }))
          .expect(201);
      const first = (await create('First')).body as { id: string };
      expect(((await launch(shape, { resourceLinkId: 'rl-graded' }))[agsClaim] as { lineitem?: string }).lineitem).toBe(first.id);
      await create('Second');
      const lineitem = ((await launch(shape, { resourceLinkId: 'rl-graded' }))[agsClaim] as { lineitem?: string }).lineitem;
      expect(lineitem).toBe(shape === 'canvas' ? first.id : undefined);
      const forced = (
        (await launch(shape, { resourceLinkId: 'rl-graded', lineItemId: first.id.split('/').pop() ?? '' }))[agsClaim] as {
          lineitem?: string;
        }
      ).lineitem;
      expect(forced).toBe(first.id);
    }
  });

  test('when the auth request names a redirect_uri the tool never registered, then the platform shows a 400 page and posts nothing', async () => {
    const ids = seedIds('canvas');
    const login = await h.platform.startLaunch({ shape: 'canvas', userId: ids.learner, contextId: ids.course });
    const res = await authenticate(h, 'canvas', login.params, { redirect_uri: 'https://evil.example.com/steal' }).expect(400);
    expect(res.text).toContain('redirect_uri');
    expect(res.text).not.toContain('id_token');
    await authenticate(h, 'canvas', login.params, { client_id: 'unknown-client' }).expect(400);
  });

  test('when the auth request breaks the OIDC rules, then the error is posted back to the tool with the state', async () => {
    const ids = seedIds('moodle');
    const login = await h.platform.startLaunch({ shape: 'moodle', userId: ids.learner, contextId: ids.course });
    const cases: [Record<string, string | undefined>, string][] = [
      [{ prompt: 'login' }, 'invalid_request'],
      [{ response_type: 'code' }, 'unsupported_response_type'],
      [{ scope: 'profile' }, 'invalid_scope'],
      [{ response_mode: 'query' }, 'invalid_request'],
      [{ nonce: undefined }, 'invalid_request'],
      [{ login_hint: seedIds('moodle').instructor }, 'login_required'],
      [{ lti_message_hint: 'forged' }, 'invalid_request'],
    ];
    for (const [overrides, error] of cases) {
      const res = await authenticate(h, 'moodle', login.params, overrides).expect(200);
      const { action, fields } = formFields(res.text);
      expect(action).toBe(`${h.tool.url}/lti/launch`);
      expect(fields).toEqual({ error, error_description: expect.any(String) as unknown, state: 'state-123' });
    }
  });

  test('when the auth endpoint is used with POST, then it answers the same way', async () => {
    const ids = seedIds('canvas');
    const login = await h.platform.startLaunch({ shape: 'canvas', userId: ids.learner, contextId: ids.course });
    const res = await request(h.url)
      .post('/dev/platform/canvas/auth')
      .type('form')
      .send({
        scope: 'openid',
        response_type: 'id_token',
        response_mode: 'form_post',
        prompt: 'none',
        client_id: login.params.client_id,
        redirect_uri: `${h.tool.url}/lti/launch`,
        login_hint: login.params.login_hint,
        lti_message_hint: login.params.lti_message_hint,
        state: 'post-state',
        nonce: 'n-1',
      })
      .expect(200);
    const { fields } = formFields(res.text);
    expect(fields.state).toBe('post-state');
    expect(fields.lti_storage_target).toBe('_parent');
    expect((await verifyIdToken('canvas', fields.id_token ?? '')).nonce).toBe('n-1');
  });

  test('when startLaunch is asked for a user outside the course or an unknown user, then it refuses, except for the site admin', async () => {
    const canvas = seedIds('canvas');
    const moodle = seedIds('moodle');
    const admin = await h.platform.startLaunch({ shape: 'canvas', userId: canvas.admin, contextId: canvas.otherCourse });
    expect(admin.params.lti_message_hint).toEqual(expect.any(String));
    await expect(h.platform.startLaunch({ shape: 'canvas', userId: 'nobody', contextId: canvas.course })).rejects.toThrow(/No canvas user/);
    await expect(h.platform.startLaunch({ shape: 'moodle', userId: moodle.learner, contextId: canvas.course })).rejects.toThrow(
      /No moodle course/,
    );
    // Dr. Oyelaran teaches only the Residency Coach Program.
    const marcus = devPlatformDirectory().users.find((u) => u.shape === 'moodle' && u.key === 'marcus-oyelaran');
    await expect(h.platform.startLaunch({ shape: 'moodle', userId: marcus?.userId ?? '', contextId: moodle.course })).rejects.toThrow(
      /not enrolled/,
    );
  });

  test('when signIdToken forges tokens, then the wrong key and other algorithms fail verification against the platform JWKS', async () => {
    const jwks = (await request(h.url).get('/dev/platform/canvas/jwks').expect(200)).body as JSONWebKeySet;
    const keySet = createLocalJWKSet(jwks);
    const good = await h.platform.signIdToken('canvas', { sub: 'x', iss: 'y' });
    await expect(jwtVerify(good, keySet)).resolves.toBeDefined();
    const wrong = await h.platform.signIdToken('canvas', { sub: 'x' }, { wrongKey: true });
    expect(decodeProtectedHeader(wrong).kid).toBe(jwks.keys[0]?.kid);
    await expect(jwtVerify(wrong, keySet)).rejects.toThrow(/signature/);
    const hs = await h.platform.signIdToken('canvas', { sub: 'x' }, { alg: 'HS256' });
    expect(decodeProtectedHeader(hs).alg).toBe('HS256');
    await expect(jwtVerify(hs, keySet)).rejects.toThrow();
    const none = await h.platform.signIdToken('canvas', { sub: 'x' }, { alg: 'none' });
    expect(decodeProtectedHeader(none).alg).toBe('none');
    const otherKid = await h.platform.signIdToken('canvas', { sub: 'x' }, { kid: 'unknown-kid' });
    await expect(jwtVerify(otherKid, keySet)).rejects.toThrow();
  });
});
