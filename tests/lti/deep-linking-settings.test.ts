import type { LaunchInput, Shape } from '../../src/devplatform';
import { Browser, parseForms, type PageResponse } from '../support/browser';
import { launch, launchInput, seedIds } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

const dl = (name: string): string => `https://purl.imsglobal.org/spec/lti-dl/claim/${name}`;

type Offer = Pick<LaunchInput, 'acceptTypes' | 'acceptLineItem' | 'acceptTargets' | 'acceptMultiple'>;

interface Item {
  type: string;
  custom: Record<string, string>;
  lineItem?: unknown;
  iframe?: unknown;
  window?: unknown;
}

describe('deep linking honours what the platform accepts', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  async function deepLinkingPage(shape: Shape, offer: Offer, courseIndex = 0): Promise<{ browser: Browser; page: PageResponse }> {
    const browser = new Browser();
    const page = await launch(
      server,
      browser,
      launchInput(shape, 'faculty', { messageType: 'LtiDeepLinkingRequest', ...offer }, courseIndex),
    );
    expect(new URL(page.url).pathname).toBe('/deep-linking');
    return { browser, page };
  }

  /** Picks modules, returns the signed response's claims and what the platform answered when it was posted. */
  async function choose(
    shape: Shape,
    offer: Offer,
    modules: string[],
    courseIndex = 0,
  ): Promise<{ items: Item[]; payload: Record<string, unknown>; platform: PageResponse }> {
    const { browser, page } = await deepLinkingPage(shape, offer, courseIndex);
    const form = parseForms(page.text, page.url)[0]!;
    const answer = await browser.post(form.action, { ...form.fields, action: 'add', modules });
    expect(answer.status).toBe(200);
    const back = parseForms(answer.text, answer.url)[0]!;
    const payload = JSON.parse(Buffer.from(back.fields.JWT!.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const platform = await browser.post(back.action, back.fields);
    return { items: payload[dl('content_items')] as Item[], payload, platform };
  }

  test('when accept_types is ["link"], then no module is offered, the page says why, and the empty answer is accepted by the platform', async () => {
    const { browser, page } = await deepLinkingPage('canvas', { acceptTypes: ['link'] });
    expect(page.text).toContain('accepts only <strong>link</strong> items');
    expect(page.text).toContain('LTI resource link');
    expect(page.text).not.toContain('name="modules"');
    const form = parseForms(page.text, page.url)[0]!;

    const forced = await browser.post(form.action, { ...form.fields, action: 'add', modules: 'M01' });
    expect(forced.status).toBe(400);
    expect(forced.text).toContain('a CoachLTI module needs an LTI resource link');

    const back = await browser.post(form.action, { ...form.fields, action: 'cancel' });
    const returned = parseForms(back.text, back.url)[0]!;
    const payload = JSON.parse(Buffer.from(returned.fields.JWT!.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(payload[dl('content_items')]).toEqual([]);
    expect(payload[dl('errormsg')]).toMatch(/^This place in your LMS accepts only link items/);
    const platform = await browser.post(returned.action, returned.fields);
    expect(platform.status).toBe(200);
    expect(await server.devPlatform!.deepLinks(seedIds('canvas', 'faculty').contextId)).toEqual([]);
  });

  test('when accept_types also lists ltiResourceLink, then modules are offered as resource links and the platform stores them', async () => {
    const { items, platform } = await choose('moodle', { acceptTypes: ['link', 'ltiResourceLink'], acceptMultiple: true }, ['M03']);
    expect(platform.status).toBe(200);
    expect(items).toEqual([expect.objectContaining({ type: 'ltiResourceLink', custom: { module_id: 'M03' } })]);
  });

  test('when accept_multiple is false, then the page offers radio buttons and one chosen module comes back as one item', async () => {
    const { page } = await deepLinkingPage('canvas', { acceptMultiple: false }, 1);
    expect(page.text).toContain('type="radio"');
    expect(page.text).not.toContain('type="checkbox"');
    const { items, platform } = await choose('canvas', { acceptMultiple: false }, ['M02'], 1);
    expect(platform.status).toBe(200);
    expect(items.map((i) => i.custom.module_id)).toEqual(['M02']);
  });

  test('when accept_lineitem is false, then the items carry no lineItem and the platform creates no module column', async () => {
    const contextId = seedIds('moodle', 'faculty', 1).contextId;
    const before = (await server.devPlatform!.gradebook(contextId)).lineItems.length;
    const { items, platform } = await choose('moodle', { acceptLineItem: false, acceptMultiple: true }, ['M04', 'M05'], 1);
    expect(platform.status).toBe(200);
    expect(items).toHaveLength(2);
    for (const item of items) expect(item).not.toHaveProperty('lineItem');
    expect((await server.devPlatform!.gradebook(contextId)).lineItems).toHaveLength(before);
  });

  test('when accept_lineitem is true or absent, then each item carries its module lineItem', async () => {
    const stated = await choose('canvas', { acceptLineItem: true }, ['M06']);
    expect(stated.items[0]?.lineItem).toEqual({
      scoreMaximum: 100,
      label: expect.any(String) as unknown,
      resourceId: 'M06',
      tag: 'module',
    });
    const absent = await choose('canvas', { acceptLineItem: null }, ['M06']);
    expect(absent.platform.status).toBe(200);
    expect(absent.items[0]).toHaveProperty('lineItem');
  });

  test.each([
    [['iframe', 'window'], { iframe: { height: 800 } }, ['window']],
    [['window'], { window: { targetName: 'coachlti' } }, ['iframe']],
    [['embed'], {}, ['iframe', 'window']],
  ] as const)(
    'when the presentation targets are %j, then the item asks for %j and the platform accepts it',
    async (targets, expected, absent) => {
      const { items, platform } = await choose('moodle', { acceptTargets: [...targets] }, ['M01']);
      expect(platform.status).toBe(200);
      expect(items[0]).toMatchObject(expected);
      for (const key of absent) expect(items[0]).not.toHaveProperty(key);
    },
  );
});
