import { randomUUID } from 'node:crypto';
import { decodeJwt, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import request from 'supertest';
import type { LaunchInput, Shape } from '../../src/devplatform';
import { authenticate, formFields, registrationOf, seedIds, startHarness, type Harness } from './support';

const dl = (name: string): string => `https://purl.imsglobal.org/spec/lti-dl/claim/${name}`;
const lti = (name: string): string => `https://purl.imsglobal.org/spec/lti/claim/${name}`;

interface DeepLinkingSettings {
  deep_link_return_url: string;
  accept_types: string[];
  accept_multiple: boolean;
  auto_create: boolean;
  data: string;
}

describe('dev platform: deep linking', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  /** Runs a deep linking launch for the instructor and returns the id_token claims. */
  async function deepLinkingRequest(
    shape: Shape,
    acceptMultiple = true,
    offer: Pick<LaunchInput, 'acceptTypes' | 'acceptLineItem' | 'acceptTargets'> = {},
  ): Promise<Record<string, unknown>> {
    const ids = seedIds(shape);
    const login = await h.platform.startLaunch({
      shape,
      userId: ids.instructor,
      contextId: ids.course,
      messageType: 'LtiDeepLinkingRequest',
      acceptMultiple,
      ...offer,
    });
    const res = await authenticate(h, shape, login.params).expect(200);
    return decodeJwt(formFields(res.text).fields.id_token ?? '');
  }

  async function response(
    shape: Shape,
    settings: DeepLinkingSettings,
    items: unknown[],
    overrides: { claims?: Record<string, unknown>; key?: KeyLike; aud?: string } = {},
  ): Promise<string> {
    const { clientId, deploymentId } = await registrationOf(h, shape);
    return new SignJWT({
      nonce: randomUUID(),
      [lti('message_type')]: 'LtiDeepLinkingResponse',
      [lti('version')]: '1.3.0',
      [lti('deployment_id')]: deploymentId,
      [dl('data')]: settings.data,
      [dl('content_items')]: items,
      [dl('msg')]: 'Module added',
      ...overrides.claims,
    })
      .setProtectedHeader({ alg: 'RS256', kid: h.tool.kid })
      .setIssuer(clientId)
      .setAudience(overrides.aud ?? `${h.platformUrl}/${shape}`)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(overrides.key ?? h.tool.privateKey);
  }

  const post = (shape: Shape, jwt: string) => request(h.url).post(`/dev/platform/${shape}/deeplink-return`).type('form').send({ JWT: jwt });

  test('when an instructor starts deep linking, then the id_token carries deep_linking_settings with opaque data and no resource link', async () => {
    const claims = await deepLinkingRequest('canvas', false);
    expect(claims[lti('message_type')]).toBe('LtiDeepLinkingRequest');
    expect(claims).not.toHaveProperty(lti('resource_link'));
    expect(claims[dl('deep_linking_settings')]).toMatchObject({
      deep_link_return_url: `${h.platformUrl}/canvas/deeplink-return`,
      accept_types: ['ltiResourceLink'],
      accept_presentation_document_targets: ['iframe', 'window'],
      accept_multiple: false,
      auto_create: true,
      data: expect.any(String) as unknown,
    });
    expect(claims['https://www.instructure.com/placement']).toBe('link_selection');
  });

  test('when the tool returns a signed response echoing data, then the links and their line items are stored and launchable', async () => {
    const shape = 'moodle';
    const ids = seedIds(shape);
    const settings = (await deepLinkingRequest(shape))[dl('deep_linking_settings')] as DeepLinkingSettings;
    const jwt = await response(shape, settings, [
      {
        type: 'ltiResourceLink',
        title: 'M01 The coaching agreement',
        text: 'First module',
        url: `${h.tool.url}/lti/launch?module=M01`,
        custom: { module_id: 'M01', course: '$Context.title' },
        lineItem: { scoreMaximum: 100, label: 'M01 score', tag: 'coachlti', resourceId: 'M01' },
      },
      { type: 'ltiResourceLink', title: 'M02 Meetings', custom: { module_id: 'M02' } },
    ]);
    const page = await post(shape, jwt).expect(200);
    expect(page.text).toContain('2 links added');
    expect(page.text).toContain('Module added');

    const links = await h.platform.deepLinks(ids.course);
    expect(links.map((l) => l.title)).toEqual(['M01 The coaching agreement', 'M02 Meetings']);
    const [m01] = links;
    expect(m01).toMatchObject({ shape, contextId: ids.course, url: `${h.tool.url}/lti/launch?module=M01`, custom: { module_id: 'M01' } });
    const gradebook = await h.platform.gradebook(ids.course);
    expect(gradebook.lineItems).toEqual([
      expect.objectContaining({
        label: 'M01 score',
        scoreMaximum: 100,
        resourceLinkId: m01?.resourceLinkId,
        tag: 'coachlti',
        resourceId: 'M01',
      }),
    ]);
    expect(m01?.lineItemIds).toEqual([gradebook.lineItems[0]?.id]);

    const login = await h.platform.startLaunch({
      shape,
      userId: ids.learner,
      contextId: ids.course,
      resourceLinkId: m01?.resourceLinkId ?? '',
    });
    expect(login.params.target_link_uri).toBe(`${h.tool.url}/lti/launch?module=M01`);
    const launch = decodeJwt(formFields((await authenticate(h, shape, login.params).expect(200)).text).fields.id_token ?? '');
    expect(launch[lti('resource_link')]).toEqual({
      id: m01?.resourceLinkId,
      title: 'M01 The coaching agreement',
      description: 'First module',
    });
    expect(launch[lti('custom')]).toMatchObject({ module_id: 'M01', course: 'Coaching Skills 2026' });
    expect((launch['https://purl.imsglobal.org/spec/lti-ags/claim/endpoint'] as { lineitem?: string }).lineitem).toBe(
      gradebook.lineItems[0]?.url,
    );
  });

  test('when the response is signed with another key, then it is refused and nothing is stored', async () => {
    const settings = (await deepLinkingRequest('canvas'))[dl('deep_linking_settings')] as DeepLinkingSettings;
    const stranger = await generateKeyPair('RS256');
    const page = await post(
      'canvas',
      await response('canvas', settings, [{ type: 'ltiResourceLink', title: 'x' }], { key: stranger.privateKey }),
    ).expect(400);
    expect(page.text).toContain('signature');
    expect(await h.platform.deepLinks(seedIds('canvas').course)).toEqual([]);
    // The request was not spent by the forgery: the genuine answer still works.
    await post('canvas', await response('canvas', settings, [{ type: 'ltiResourceLink', title: 'x' }])).expect(200);
  });

  test('when data is not echoed exactly or the response is replayed, then it is refused', async () => {
    const settings = (await deepLinkingRequest('canvas'))[dl('deep_linking_settings')] as DeepLinkingSettings;
    const item = [{ type: 'ltiResourceLink', title: 'Once' }];
    const tampered = await post('canvas', await response('canvas', { ...settings, data: `${settings.data}x` }, item)).expect(400);
    expect(tampered.text).toContain('data');
    const missing = await post('canvas', await response('canvas', settings, item, { claims: { [dl('data')]: undefined } })).expect(400);
    expect(missing.text).toContain('data');
    const jwt = await response('canvas', settings, item);
    await post('canvas', jwt).expect(200);
    await post('canvas', jwt).expect(400);
    await post('canvas', await response('canvas', settings, item)).expect(400);
    expect(await h.platform.deepLinks(seedIds('canvas').course)).toHaveLength(1);
  });

  test('when the response breaks the deep linking rules, then the page names the broken rule', async () => {
    const settings = (await deepLinkingRequest('canvas', false))[dl('deep_linking_settings')] as DeepLinkingSettings;
    const one = [{ type: 'ltiResourceLink', title: 'One' }];
    const expectRefusal = async (jwt: string, text: string): Promise<void> => {
      const page = await post('canvas', jwt).expect(400);
      expect(page.text).toContain(text);
    };
    await expectRefusal(await response('canvas', settings, [...one, ...one]), 'accept_multiple');
    await expectRefusal(await response('canvas', settings, [{ type: 'html', html: '<p>x</p>' }]), 'accept_types');
    await expectRefusal(await response('canvas', settings, one, { claims: { [lti('deployment_id')]: 'other' } }), 'deployment_id');
    await expectRefusal(
      await response('canvas', settings, one, { claims: { [lti('message_type')]: 'LtiResourceLinkRequest' } }),
      'message_type',
    );
    await expectRefusal(await response('canvas', settings, one, { aud: 'https://someone-else.example.com' }), 'aud');
    await expectRefusal(await response('canvas', settings, [{ type: 'ltiResourceLink', url: 'https://evil.example.com/x' }]), 'domain');
    await post('canvas', 'garbage').expect(400);
    await request(h.url).post('/dev/platform/canvas/deeplink-return').type('form').send({}).expect(400);
    await post('canvas', await response('canvas', settings, one)).expect(200);
  });

  test('when accept_* settings are configured, then the id_token carries exactly them (accept_lineitem left out when null)', async () => {
    const claims = await deepLinkingRequest('moodle', false, { acceptTypes: ['link'], acceptLineItem: null, acceptTargets: ['window'] });
    const settings = claims[dl('deep_linking_settings')] as Record<string, unknown>;
    expect(settings).toMatchObject({ accept_types: ['link'], accept_multiple: false, accept_presentation_document_targets: ['window'] });
    expect(settings).not.toHaveProperty('accept_lineitem');
    const defaults = (await deepLinkingRequest('moodle'))[dl('deep_linking_settings')];
    expect(defaults).toMatchObject({ accept_types: ['ltiResourceLink'], accept_lineitem: true, accept_multiple: true });
  });

  test('when accept_types is ["link"], then an ltiResourceLink item is refused naming accept_types, and an empty answer is accepted', async () => {
    const settings = (await deepLinkingRequest('canvas', true, { acceptTypes: ['link'] }))[
      dl('deep_linking_settings')
    ] as DeepLinkingSettings;
    const page = await post('canvas', await response('canvas', settings, [{ type: 'ltiResourceLink', title: 'M01' }])).expect(400);
    expect(page.text).toContain('type ltiResourceLink is not in accept_types (link)');
    expect(await h.platform.deepLinks(seedIds('canvas').course)).toEqual([]);
    const empty = await post('canvas', await response('canvas', settings, [])).expect(200);
    expect(empty.text).toContain('0 links added');
  });

  test('when accept_lineitem is false, then an item with a lineItem is refused and one without is stored with no column', async () => {
    const settings = (await deepLinkingRequest('canvas', true, { acceptLineItem: false }))[
      dl('deep_linking_settings')
    ] as DeepLinkingSettings;
    const withLineItem = [{ type: 'ltiResourceLink', title: 'M01', lineItem: { scoreMaximum: 100 } }];
    const page = await post('canvas', await response('canvas', settings, withLineItem)).expect(400);
    expect(page.text).toContain('content_items.0.lineItem: accept_lineitem was false');
    await post('canvas', await response('canvas', settings, [{ type: 'ltiResourceLink', title: 'M01' }])).expect(200);
    const [link, ...more] = await h.platform.deepLinks(seedIds('canvas').course);
    expect(more).toEqual([]);
    expect(link?.lineItemIds).toEqual([]);
    expect((await h.platform.gradebook(seedIds('canvas').course)).lineItems).toEqual([]);
  });

  test('when an item asks for a presentation target the platform did not offer, then it is refused; an offered one is accepted', async () => {
    const settings = (await deepLinkingRequest('moodle', true, { acceptTargets: ['window'] }))[
      dl('deep_linking_settings')
    ] as DeepLinkingSettings;
    const inIframe = [{ type: 'ltiResourceLink', title: 'M01', iframe: { height: 800 } }];
    const page = await post('moodle', await response('moodle', settings, inIframe)).expect(400);
    expect(page.text).toContain('content_items.0.iframe: iframe is not in accept_presentation_document_targets (window)');
    await post(
      'moodle',
      await response('moodle', settings, [{ type: 'ltiResourceLink', title: 'M01', window: { targetName: 'x' } }]),
    ).expect(200);
    expect(await h.platform.deepLinks(seedIds('moodle').course)).toHaveLength(1);
  });
});
