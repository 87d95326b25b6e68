import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { engine } from 'express-handlebars';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type KeyLike } from 'jose';
import mongoose from 'mongoose';
import request from 'supertest';
import { createDevPlatform, devPlatformDirectory, type DevPlatform, type Shape } from '../../src/devplatform';
import { createLogger } from '../../src/shared/logger';
import { fromRoot } from '../../src/shared/paths';
import { viewHelpers } from '../../src/web/view-helpers';
import { LogCapture, testDatabaseUri } from '../support/test-server';

export const allScopes = [
  'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
  'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly',
  'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly',
  'https://purl.imsglobal.org/spec/lti-ags/scope/score',
  'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
];
export const userAgent = 'devplatform-tests/1.0';
export const toolConfigClaim = 'https://purl.imsglobal.org/spec/lti-tool-configuration';

/** The stand-in tool: its own RSA key, a JWKS, and a Dynamic Registration endpoint that behaves like ours will. */
export interface FakeTool {
  url: string;
  kid: string;
  privateKey: KeyLike;
  /** Registration responses the platform returned, by shape. */
  registered: Partial<Record<Shape, Record<string, unknown>>>;
  /** Replace to change what /lti/register does (e.g. capture the token without registering). */
  onRegister: (openidConfiguration: string, registrationToken: string) => Promise<void>;
  registrationBody(overrides?: Record<string, unknown>, toolConfig?: Record<string, unknown>): Record<string, unknown>;
}

export interface Harness {
  platform: DevPlatform;
  tool: FakeTool;
  /** Base URL of the listening server (supertest target). */
  url: string;
  platformUrl: string;
  logs: LogCapture;
  connection: mongoose.Connection;
  app: Express;
  close(): Promise<void>;
}

function listen(app: Express): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
    server.once('error', reject);
  });
}

/** A small express app like the real one: handlebars views, the platform at /dev/platform, a fake tool at /fake-tool. */
export async function startHarness(options: { connection?: mongoose.Connection; register?: boolean } = {}): Promise<Harness> {
  const connection =
    options.connection ?? (await mongoose.createConnection(testDatabaseUri('devplatform'), { autoIndex: false }).asPromise());
  const app = express();
  app.engine(
    'hbs',
    engine({
      extname: '.hbs',
      defaultLayout: 'main',
      layoutsDir: fromRoot('views', 'layouts'),
      partialsDir: fromRoot('views', 'partials'),
      helpers: viewHelpers,
    }),
  );
  app.set('view engine', 'hbs');
  app.set('views', fromRoot('views'));

  // The platform must be mounted with the real URL, so listen first and mount lazily.
  const mounted: { router?: express.Router } = {};
  app.use('/dev/platform', (req, res, next) => (mounted.router ? mounted.router(req, res, next) : next()));
  const toolRouter = express.Router();
  app.use('/fake-tool', toolRouter);
  const server = await listen(app);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const platformUrl = `${url}/dev/platform`;
  const toolUrl = `${url}/fake-tool`;

  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = `tool-${randomUUID()}`;
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };

  const tool: FakeTool = {
    url: toolUrl,
    kid,
    privateKey,
    registered: {},
    registrationBody(overrides = {}, toolConfig = {}) {
      return {
        application_type: 'web',
        response_types: ['id_token'],
        grant_types: ['implicit', 'client_credentials'],
        initiate_login_uri: `${toolUrl}/lti/login`,
        redirect_uris: [`${toolUrl}/lti/launch`],
        client_name: 'Fake CoachLTI',
        jwks_uri: `${toolUrl}/lti/keys`,
        token_endpoint_auth_method: 'private_key_jwt',
        scope: allScopes.join(' '),
        [toolConfigClaim]: {
          domain: new URL(toolUrl).host,
          target_link_uri: `${toolUrl}/lti/launch`,
          claims: ['iss', 'sub', 'name', 'given_name', 'family_name', 'email'],
          messages: [{ type: 'LtiResourceLinkRequest' }, { type: 'LtiDeepLinkingRequest', label: 'Add CoachLTI module' }],
          custom_parameters: { context_title: '$Context.title', untouched: '$Unknown.variable' },
          'https://canvas.instructure.com/lti/privacy_level': 'public',
          ...toolConfig,
        },
        ...overrides,
      };
    },
    async onRegister(openidConfiguration, registrationToken) {
      const config = (await (await fetch(openidConfiguration)).json()) as { registration_endpoint: string; issuer: string };
      const response = await fetch(config.registration_endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${registrationToken}` },
        body: JSON.stringify(tool.registrationBody()),
      });
      if (!response.ok) throw new Error(`registration refused: ${response.status} ${await response.text()}`);
      const shape = config.issuer.endsWith('/canvas') ? 'canvas' : 'moodle';
      tool.registered[shape] = (await response.json()) as Record<string, unknown>;
    },
  };
  toolRouter.get('/lti/keys', (_req, res) => {
    res.json({ keys: [publicJwk] });
  });
  toolRouter.get('/lti/register', (req, res) => {
    tool
      .onRegister(String(req.query.openid_configuration), String(req.query.registration_token))
      .then(() =>
        res.type('html').send('<script>(window.opener || window.parent).postMessage({subject:"org.imsglobal.lti.close"}, "*");</script>'),
      )
      .catch((error: unknown) => res.status(500).send((error as Error).message));
  });

  const logs = new LogCapture();
  const platform = createDevPlatform({ connection, toolUrl, platformUrl, logger: createLogger('info', logs) });
  mounted.router = platform.router;
  if (options.register ?? true) await platform.registerWithTool();

  return {
    platform,
    tool,
    url,
    platformUrl,
    logs,
    connection,
    app,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!options.connection) {
        await connection.dropDatabase().catch(() => undefined);
        await connection.close();
      }
    },
  };
}

export async function registrationOf(h: Harness, shape: Shape): Promise<{ issuer: string; clientId: string; deploymentId: string }> {
  const registration = await h.platform.registration(shape);
  if (!registration) throw new Error(`${shape} is not registered`);
  return registration;
}

/** A client assertion as a tool signs it for the token endpoint (RFC 7523). */
export async function clientAssertion(
  h: Harness,
  shape: Shape,
  overrides: { aud?: string; jti?: string; expiresIn?: number; key?: KeyLike; kid?: string } = {},
): Promise<string> {
  const { clientId } = await registrationOf(h, shape);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: overrides.jti ?? randomUUID() })
    .setProtectedHeader({ alg: 'RS256', kid: overrides.kid ?? h.tool.kid })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(overrides.aud ?? `${h.platformUrl}/${shape}/token`)
    .setIssuedAt(now)
    .setExpirationTime(now + (overrides.expiresIn ?? 60))
    .sign(overrides.key ?? h.tool.privateKey);
}

export function tokenForm(assertion: string, scopes: string[]): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
    scope: scopes.join(' '),
  };
}

export async function accessToken(h: Harness, shape: Shape, scopes: string[]): Promise<string> {
  const res = await request(h.url)
    .post(`/dev/platform/${shape}/token`)
    .set('User-Agent', userAgent)
    .type('form')
    .send(tokenForm(await clientAssertion(h, shape), scopes))
    .expect(200);
  return (res.body as { access_token: string }).access_token;
}

/** Seed ids, by the keys the seed uses. */
export function seedIds(shape: Shape): {
  course: string;
  otherCourse: string;
  learner: string;
  learner2: string;
  inactiveLearner: string;
  instructor: string;
  ta: string;
  admin: string;
} {
  const dir = devPlatformDirectory();
  const contextOf = (key: string): string => {
    const course = dir.courses.find((c) => c.shape === shape && c.key === key);
    if (!course) throw new Error(`no course ${key}`);
    return course.contextId;
  };
  const userOf = (key: string): string => {
    const user = dir.users.find((u) => u.shape === shape && u.key === key);
    if (!user) throw new Error(`no user ${key}`);
    return user.userId;
  };
  return {
    course: contextOf('coaching-skills-2026'),
    otherCourse: contextOf('residency-coach-program'),
    learner: userOf('amara-okafor'),
    learner2: userOf('benjamin-hartley'),
    inactiveLearner: userOf('zoe-fitzgerald'),
    instructor: userOf('priya-raman'),
    ta: userOf('hannah-kowalski'),
    admin: userOf('site-admin'),
  };
}

/** Values of the hidden inputs of the auto-posting form in an HTML page. */
export function formFields(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form[^>]*action="([^"]*)"/.exec(html)?.[1] ?? '';
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[match[1] ?? ''] = decodeEntities(match[2] ?? '');
  }
  return { action: decodeEntities(action), fields };
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_m, dec: string) => String.fromCharCode(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Runs login initiation → auth endpoint as the tool would, returning the auth endpoint's page. */
export function authenticate(
  h: Harness,
  shape: Shape,
  params: Record<string, string>,
  overrides: Record<string, string | undefined> = {},
): request.Test {
  const query: Record<string, string> = {
    scope: 'openid',
    response_type: 'id_token',
    response_mode: 'form_post',
    prompt: 'none',
    client_id: params.client_id ?? '',
    redirect_uri: `${h.tool.url}/lti/launch`,
    login_hint: params.login_hint ?? '',
    lti_message_hint: params.lti_message_hint ?? '',
    state: 'state-123',
    nonce: randomUUID(),
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete query[key];
    else query[key] = value;
  }
  return request(h.url).get(`/dev/platform/${shape}/auth`).query(query);
}
