/**
 * CoachLTI against an independent LTI 1.3 platform (platform.ts), in a Canvas and a Moodle shape.
 * Every interaction goes through the tool's public LTI surface only: Dynamic Registration at
 * /lti/register, OIDC login at the registered initiate_login_uri, the id_token at a registered
 * redirect_uri, the tool's published JWKS, and the deep linking pages.
 */
import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Browser, decodeHtml, parseForms, type PageResponse } from '../support/browser';
import { documentCounts } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';
import type { Course, Flavour, Person, Persona } from './flavours';
import { ConformancePlatform, type LaunchSpec } from './platform';
import { LTI_TOOL_CONFIGURATION, resourceLinkItem } from './schemas';
import { authorize, launch, postIdToken, type Authorized } from './user-agent';

const DL_CLAIM = 'https://purl.imsglobal.org/spec/lti-dl/claim';

/** People with names that need escaping, so "shows the name" also proves the name was not mangled. */
const names: Record<Flavour, Record<Persona, [string, string]>> = {
  canvas: {
    learner: ['Aoife', "O'Brien"],
    instructor: ['Kwame', 'Mensah-Boateng'],
    teachingAssistant: ['Lucía', 'Fernández'],
    administrator: ['Priya', 'Raman'],
  },
  moodle: {
    learner: ['Zoë', 'Ångström'],
    instructor: ['Tomasz', 'Wiśniewski'],
    teachingAssistant: ['Mei', 'Chen'],
    administrator: ['Olusegun', 'Adeyemi'],
  },
};

function person(flavour: Flavour, persona: Persona): Person {
  const [givenName, familyName] = names[flavour][persona];
  return {
    userId: `${flavour}-${persona}-${randomBytes(3).toString('hex')}`,
    name: `${givenName} ${familyName}`,
    givenName,
    familyName,
    email: `${persona}@${flavour}.example.edu`,
    persona,
  };
}

const courseOf = (flavour: Flavour): Course => ({ id: `${flavour}-course-7`, label: 'CMED-310', title: 'Coaching Medical Learners' });

const landing: Record<Persona, string> = {
  learner: '/training',
  instructor: '/course',
  teachingAssistant: '/course',
  administrator: '/admin',
};

const who: Record<Persona, string> = {
  learner: 'a learner',
  instructor: 'an instructor',
  teachingAssistant: 'a teaching assistant (Instructor#TeachingAssistant sub-role only)',
  administrator: 'an administrator',
};

const pathOf = (url: string | undefined): string | undefined => (url ? new URL(url).pathname : undefined);
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

let tool: TestServer;
const platforms = new Map<Flavour, { platform: ConformancePlatform; registrationPage: PageResponse }>();

/** Dynamic Registration driven the way an LMS admin does it: the platform opens the tool's URL with its two parameters. */
async function registerThroughTool(platform: ConformancePlatform): Promise<PageResponse> {
  const query = new URLSearchParams({
    openid_configuration: platform.openidConfigurationUrl,
    registration_token: platform.newRegistrationToken(),
  });
  return new Browser().get(`${tool.url}/lti/register?${query.toString()}`);
}

beforeAll(async () => {
  tool = await startTestServer();
  for (const flavour of ['canvas', 'moodle'] as const) {
    const platform = await ConformancePlatform.start(flavour);
    platforms.set(flavour, { platform, registrationPage: await registerThroughTool(platform) });
  }
});

afterAll(async () => {
  for (const { platform } of platforms.values()) await platform.stop();
  await tool?.stop();
});

describe.each(['canvas', 'moodle'] as const)('against a %s-shaped platform', (flavour) => {
  const course = courseOf(flavour);
  const setup = (): { platform: ConformancePlatform; registrationPage: PageResponse } => {
    const found = platforms.get(flavour);
    if (!found) throw new Error(`the ${flavour} platform did not start`);
    return found;
  };
  const platformOf = (): ConformancePlatform => setup().platform;

  test('when the platform opens /lti/register, then the tool registers itself with spec-conformant metadata and answers with a page', () => {
    const { platform, registrationPage } = setup();
    expect(platform.refusals).toEqual([]);
    expect(registrationPage.status).toBe(200);
    expect(registrationPage.headers.get('content-type')).toMatch(/text\/html/);
    expect(platform.registrations).toHaveLength(1);
    const { request } = platform.registration;
    expect(request[LTI_TOOL_CONFIGURATION].messages.map((m) => m.type)).toEqual(
      expect.arrayContaining(['LtiResourceLinkRequest', 'LtiDeepLinkingRequest']),
    );
  });

  test('when the registration page runs, then it tells the platform to close the window (org.imsglobal.lti.close)', async () => {
    // Dynamic Registration (registration completed): the tool posts {subject: 'org.imsglobal.lti.close'} to its opener or parent.
    const { registrationPage } = setup();
    const scripts = [...registrationPage.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    const sources = await Promise.all(
      scripts.map(async ([, attributes = '', inline = '']) => {
        const src = /\ssrc="([^"]+)"/.exec(attributes)?.[1];
        return src ? (await new Browser().get(new URL(decodeHtml(src), registrationPage.url).toString())).text : inline;
      }),
    );
    expect(sources.find((code) => code.includes('org.imsglobal.lti.close'))).toMatch(/postMessage\(/);
  });

  // Moodle has no teaching-assistant role of its own: non-editing teachers launch as Instructor or Learner.
  const personas = (['learner', 'instructor', 'teachingAssistant', 'administrator'] as const)
    .filter((persona) => flavour === 'canvas' || persona !== 'teachingAssistant')
    .map((persona) => ({ persona, who: who[persona], path: landing[persona] }));

  test.each(personas)('when $who launches, then the tool redirects to $path, which shows their name', async ({ persona }) => {
    const platform = platformOf();
    const someone = person(flavour, persona);
    const browser = new Browser();
    const answer = await launch(platform, browser, { person: someone, course });
    expect({ status: answer.status, path: pathOf(answer.location) }).toEqual({ status: 303, path: landing[persona] });
    const page = await browser.follow(answer);
    expect(page.status).toBe(200);
    expect(decodeHtml(page.text)).toContain(someone.name);
  });

  test('when a learner launches a link with custom module_id, then the tool redirects to that module', async () => {
    const browser = new Browser();
    const answer = await launch(platformOf(), browser, { person: person(flavour, 'learner'), course, custom: { module_id: 'M01' } });
    expect({ status: answer.status, path: pathOf(answer.location) }).toEqual({ status: 303, path: '/modules/M01' });
    expect((await browser.follow(answer)).status).toBe(200);
  });

  /** A genuine authentication, then `forge` replaces the id_token: the tool must refuse it and store nothing. */
  async function expectRefused(forge: (platform: ConformancePlatform, genuine: Authorized) => Promise<string>): Promise<void> {
    const platform = platformOf();
    const browser = new Browser();
    const genuine = await authorize(platform, browser, { person: person(flavour, 'learner'), course });
    const forged = await forge(platform, genuine);
    const before = await documentCounts(tool);
    const answer = await postIdToken(browser, genuine, forged);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(answer.headers.get('content-type')).toMatch(/text\/html/);
    expect(await documentCounts(tool)).toEqual(before);
    // Nor may the refused launch leave the browser signed in.
    expect((await browser.get(`${tool.url}${landing.learner}`)).status).toBeGreaterThanOrEqual(400);
  }

  test('when the id_token is signed by a key the platform never published (under the published kid), then the launch is refused and nothing is stored', async () => {
    await expectRefused((platform, genuine) => platform.sign(genuine.claims, { key: 'foreign' }));
  });

  test('when the id_token is signed by a key with an unknown kid, then the launch is refused and nothing is stored', async () => {
    await expectRefused((platform, genuine) => platform.sign(genuine.claims, { key: 'foreign', kid: platform.foreignKid }));
  });

  test('when the id_token expired, then the launch is refused and nothing is stored', async () => {
    await expectRefused((platform, genuine) => platform.sign({ ...genuine.claims, iat: nowSeconds() - 3600, exp: nowSeconds() - 1800 }));
  });

  test('when the id_token is addressed to another client (aud), then the launch is refused and nothing is stored', async () => {
    await expectRefused((platform, genuine) => platform.sign({ ...genuine.claims, aud: 'another-tool', azp: 'another-tool' }));
  });

  test('when an id_token that already launched is posted again after a new login, then the replay is refused and nothing is stored', async () => {
    const platform = platformOf();
    const browser = new Browser();
    const spec: LaunchSpec = { person: person(flavour, 'learner'), course };
    const first = await authorize(platform, browser, spec);
    const firstAnswer = await postIdToken(browser, first);
    expect(firstAnswer.status).toBe(303);
    await browser.follow(firstAnswer);

    const second = await authorize(platform, browser, spec);
    const before = await documentCounts(tool);
    const replay = await postIdToken(browser, second, first.idToken);
    expect(replay.status).toBeGreaterThanOrEqual(400);
    expect(replay.status).toBeLessThan(500);
    expect(await documentCounts(tool)).toEqual(before);
  });

  test('when the id_token and state of a completed launch are posted again, then the replay is refused and nothing is stored', async () => {
    const platform = platformOf();
    const browser = new Browser();
    const authorized = await authorize(platform, browser, { person: person(flavour, 'learner'), course });
    const first = await postIdToken(browser, authorized);
    expect(first.status).toBe(303);
    const before = await documentCounts(tool);
    const replay = await postIdToken(browser, authorized);
    expect(replay.status).toBeGreaterThanOrEqual(400);
    expect(replay.status).toBeLessThan(500);
    expect(await documentCounts(tool)).toEqual(before);
  });

  test('when an instructor deep-links a module, then the tool returns a signed LtiDeepLinkingResponse with that module and a line item', async () => {
    const platform = platformOf();
    const browser = new Browser();
    const data = `opaque-${flavour}-${randomBytes(6).toString('hex')}`;
    const acceptMultiple = flavour === 'canvas';
    const authorized = await authorize(platform, browser, {
      person: person(flavour, 'instructor'),
      course,
      messageType: 'LtiDeepLinkingRequest',
      acceptMultiple,
      deepLinkingData: data,
    });
    const settings = authorized.claims[`${DL_CLAIM}/deep_linking_settings`] as { deep_link_return_url: string };

    const answer = await postIdToken(browser, authorized);
    expect({ status: answer.status, path: pathOf(answer.location) }).toEqual({ status: 303, path: '/deep-linking' });
    const picker = await browser.follow(answer);
    expect(picker.status).toBe(200);
    const form = parseForms(picker.text, picker.url).find((f) => f.choices.modules);
    if (!form) throw new Error(`no module picker on /deep-linking: ${picker.text.slice(0, 500)}`);
    expect(form.method).toBe('post');
    expect(form.fields._csrf).toBeTruthy();
    // Deep Linking settings, accept_multiple=false: the tool must not offer to return several items.
    const inputType = acceptMultiple ? 'checkbox' : 'radio';
    const moduleInputs = picker.text.match(/<input\b[^>]*name="modules"[^>]*>/g) ?? [];
    expect(moduleInputs.length).toBeGreaterThan(0);
    for (const input of moduleInputs) expect(input).toContain(`type="${inputType}"`);
    const moduleId = form.choices.modules?.[0] ?? '';
    expect(moduleId).toMatch(/^M\d+$/);

    const returned = await browser.post(form.action, { ...form.fields, modules: [moduleId], action: 'add' });
    expect(returned.status).toBe(200);
    const returnForm = parseForms(returned.text, returned.url)[0];
    expect(returnForm?.action).toBe(settings.deep_link_return_url);
    expect(returnForm?.method).toBe('post');
    expect(Object.keys(returnForm?.fields ?? {})).toEqual(['JWT']);
    const jwt = returnForm?.fields.JWT ?? '';

    // Checked here independently of the platform: signature by the tool's published key, iss and aud.
    const { clientId, request } = platform.registration;
    const { payload } = await jwtVerify(jwt, createRemoteJWKSet(new URL(request.jwks_uri)), {
      issuer: clientId,
      audience: platform.issuer,
      algorithms: ['RS256'],
    });
    expect(payload[`${DL_CLAIM}/data`]).toBe(data);
    const items = payload[`${DL_CLAIM}/content_items`];
    expect(Array.isArray(items) ? items : []).toHaveLength(1);
    const item = resourceLinkItem.parse(Array.isArray(items) ? items[0] : undefined);
    expect(item.custom?.module_id).toBe(moduleId);
    expect(item.lineItem?.scoreMaximum).toBeGreaterThan(0);

    // And the platform, receiving it at the return URL, accepts it.
    const delivered = await browser.post(returnForm?.action ?? '', returnForm?.fields ?? {});
    expect(platform.deepLinkReturns.at(-1)?.problems).toEqual([]);
    expect(delivered.status).toBe(200);
  });

  test('when everything above ran, then the tool made no request the platform refused or does not serve', () => {
    const platform = platformOf();
    expect(platform.refusals).toEqual([]);
    expect(platform.unexpectedRequests).toEqual([]);
  });
});
