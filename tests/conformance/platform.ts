/**
 * An LTI 1.3 platform written from the specifications (LTI Core 1.3, 1EdTech Security Framework 1.0,
 * LTI Dynamic Registration 1.0, Deep Linking 2.0), independent of the tool's own development platform,
 * so the tool is tested against a second reading of the specs. It runs as its own HTTP server: the tool
 * fetches its configuration and keys over the network exactly as it would from an LMS.
 *
 * The platform is strict about what the tool sends (zod schemas in schemas.ts) and records every
 * refusal, so a failing test can say which message of the tool broke which rule.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type Request, type Response } from 'express';
import { SignJWT, createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, type JWK, type JWTPayload, type KeyLike } from 'jose';
import { flavours, type Course, type Flavour, type FlavourShape, type LaunchFacts, type Person } from './flavours';
import {
  LTI_PLATFORM_CONFIGURATION,
  LTI_TOOL_CONFIGURATION,
  authenticationRequest,
  deepLinkingResponseClaims,
  tokenRequest,
  type AuthenticationRequest,
  type DeepLinkingResponseClaims,
  type ToolRegistrationRequest,
  toolRegistrationRequest,
} from './schemas';

const CLAIM = 'https://purl.imsglobal.org/spec/lti/claim';
const DL_CLAIM = 'https://purl.imsglobal.org/spec/lti-dl/claim';

export type MessageType = 'LtiResourceLinkRequest' | 'LtiDeepLinkingRequest';

/** One launch the platform is asked to perform, as a teacher clicking a link in a course would. */
export interface LaunchSpec {
  person: Person;
  course: Course;
  messageType?: MessageType;
  /** Custom parameters of the link (LTI Core, custom properties claim), merged over the tool's registered ones. */
  custom?: Record<string, string>;
  /** Deep Linking settings: whether the tool may return several items, and the opaque data to echo. */
  acceptMultiple?: boolean;
  deepLinkingData?: string;
}

export interface Registration {
  request: ToolRegistrationRequest;
  clientId: string;
  deploymentId: string;
}

export interface DeepLinkReturn {
  launchId: string | undefined;
  problems: string[];
  claims: DeepLinkingResponseClaims | undefined;
}

interface PendingLaunch {
  launchId: string;
  spec: LaunchSpec;
  loginHint: string;
  targetLinkUri: string;
  deepLinkReturnUrl: string | undefined;
}

interface KeyPair {
  kid: string;
  privateKey: KeyLike;
  publicJwk: JWK;
}

async function newKeyPair(kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
  const jwk = await exportJWK(publicKey);
  return { kid, privateKey, publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
}

const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The form_post response mode (OAuth 2.0 Form Post Response Mode): the browser posts the id_token to the tool. */
function autoPostForm(action: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  return `<!doctype html><html><body onload="document.forms[0].submit()"><form method="post" action="${escapeHtml(action)}">${inputs}</form></body></html>`;
}

/** Hosts a URL may live on according to the tool's declared domain(s) (Dynamic Registration, tool configuration `domain`). */
function onToolDomain(candidate: string, domains: string[]): boolean {
  const { host, hostname } = new URL(candidate);
  return domains.some((d) => d === host || d === hostname);
}

/** LTI variable substitution (LTI Core, custom property substitution) for the variables we know. */
function substitute(value: string, facts: LaunchFacts): string {
  const known: Record<string, string> = {
    '$User.id': facts.person.userId,
    '$Person.name.full': facts.person.name,
    '$Person.name.given': facts.person.givenName,
    '$Person.name.family': facts.person.familyName,
    '$Person.email.primary': facts.person.email,
    '$Context.id': facts.course.id,
    '$Context.title': facts.course.title,
    '$Context.label': facts.course.label,
    '$ResourceLink.id': facts.resourceLinkId,
  };
  // Unknown variables are passed through unchanged, as the spec asks.
  return known[value] ?? value;
}

export class ConformancePlatform {
  readonly shape: FlavourShape;
  /** Everything the platform refused, with the reason: the first place to look when a test fails. */
  readonly refusals: string[] = [];
  /** Requests to paths this platform does not serve (e.g. a service the tool calls unexpectedly). */
  readonly unexpectedRequests: string[] = [];
  readonly deepLinkReturns: DeepLinkReturn[] = [];
  readonly registrations: Registration[] = [];

  private readonly registrationTokens = new Set<string>();
  private readonly pending = new Map<string, PendingLaunch>();
  private readonly launchesById = new Map<string, PendingLaunch>();
  private readonly seenToolNonces = new Set<string>();
  private readonly server: Server;
  private launchCounter = 0;

  private constructor(
    readonly flavour: Flavour,
    readonly issuer: string,
    private readonly signingKey: KeyPair,
    private readonly foreignKey: KeyPair,
    server: Server,
  ) {
    this.shape = flavours[flavour];
    this.server = server;
  }

  /** Listens on a free port of 127.0.0.1; the issuer is the server's own URL so the tool can fetch it. */
  static async start(flavour: Flavour): Promise<ConformancePlatform> {
    const app = express();
    const server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    const { port } = server.address() as AddressInfo;
    const signingKey = await newKeyPair(`${flavour}-${randomBytes(4).toString('hex')}`);
    // Never published: tokens it signs are what an attacker without the platform's key can produce.
    const foreignKey = await newKeyPair(`foreign-${randomBytes(4).toString('hex')}`);
    const platform = new ConformancePlatform(flavour, `http://127.0.0.1:${port}`, signingKey, foreignKey, server);
    platform.mount(app);
    return platform;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }

  // ---- endpoints ---------------------------------------------------------------------------------

  url(path: string): string {
    return `${this.issuer}${path}`;
  }

  get openidConfigurationUrl(): string {
    return this.url(this.shape.paths.openidConfiguration);
  }

  get authorizationEndpoint(): string {
    return this.url(this.shape.paths.authorization);
  }

  /** A one-time registration token, as the platform hands it to the tool's registration initiation URL. */
  newRegistrationToken(): string {
    const token = randomBytes(24).toString('base64url');
    this.registrationTokens.add(token);
    return token;
  }

  /** The latest registration of the tool; launches use it. */
  get registration(): Registration {
    const latest = this.registrations.at(-1);
    if (!latest) throw new Error(`the ${this.flavour} platform has no registration (refusals: ${this.refusals.join('; ') || 'none'})`);
    return latest;
  }

  private mount(app: express.Express): void {
    const { paths } = this.shape;
    app.get(paths.openidConfiguration, (_req, res) => {
      res.json(this.openidConfiguration());
    });
    app.get(paths.jwks, (_req, res) => {
      res.json({ keys: [this.signingKey.publicJwk] });
    });
    app.post(paths.registration, express.json({ limit: '100kb' }), this.handle(this.register));
    const form = express.urlencoded({ extended: false });
    app.get(paths.authorization, this.handle(this.authorize));
    app.post(paths.authorization, form, this.handle(this.authorize));
    app.post(paths.token, form, this.handle(this.issueAccessToken));
    app.post(paths.deepLinkReturn, form, this.handle(this.receiveDeepLinks));
    app.use((req, res) => {
      this.unexpectedRequests.push(`${req.method} ${req.originalUrl}`);
      res.status(404).json({ error: 'not_found' });
    });
  }

  /** Runs a handler and turns a failure of the platform itself into a recorded 500, never an unhandled rejection. */
  private handle(handler: (req: Request, res: Response) => void | Promise<void>): express.RequestHandler {
    return (req, res) => {
      Promise.resolve()
        .then(() => handler.call(this, req, res))
        .catch((error: unknown) =>
          this.refuse(res, 500, 'platform error', `platform error on ${req.method} ${req.path}: ${String(error)}`),
        );
    };
  }

  /** OpenID Connect Discovery plus the LTI platform configuration (Dynamic Registration, platform configuration). */
  private openidConfiguration(): Record<string, unknown> {
    const { paths } = this.shape;
    return {
      issuer: this.issuer,
      authorization_endpoint: this.url(paths.authorization),
      token_endpoint: this.url(paths.token),
      registration_endpoint: this.url(paths.registration),
      jwks_uri: this.url(paths.jwks),
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256'],
      scopes_supported: [
        'openid',
        'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
        'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly',
        'https://purl.imsglobal.org/spec/lti-ags/scope/score',
        'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
      ],
      response_types_supported: ['id_token'],
      id_token_signing_alg_values_supported: ['RS256'],
      subject_types_supported: ['public', 'pairwise'],
      claims_supported: ['sub', 'iss', 'name', 'given_name', 'family_name', 'email', 'picture', 'locale'],
      [LTI_PLATFORM_CONFIGURATION]: {
        product_family_code: this.shape.productFamilyCode,
        version: this.shape.version,
        messages_supported: [
          { type: 'LtiResourceLinkRequest', placements: this.shape.placements.resourceLink },
          { type: 'LtiDeepLinkingRequest', placements: this.shape.placements.deepLinking },
        ],
        variables: ['User.id', 'Person.name.full', 'Person.name.given', 'Person.name.family', 'Person.email.primary', 'Context.id'],
      },
    };
  }

  private refuse(res: Response, status: number, body: Record<string, string> | string, reason: string): void {
    this.refusals.push(reason);
    if (typeof body === 'string') res.status(status).type('text/plain').send(body);
    else res.status(status).json(body);
  }

  /** Dynamic Registration, client registration: bearer token, metadata validation, and the echoed registration. */
  private register(req: Request, res: Response): void {
    const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    if (!token || !this.registrationTokens.delete(token)) {
      this.refuse(res, 401, { error: 'invalid_token' }, `registration: missing, unknown or reused bearer token (${token ?? 'none'})`);
      return;
    }
    const parsed = toolRegistrationRequest.safeParse(req.body);
    if (!parsed.success) {
      const description = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      this.refuse(res, 400, { error: 'invalid_client_metadata', error_description: description }, `registration: ${description}`);
      return;
    }
    const request = parsed.data;
    const offDomain = this.urlsOffToolDomain(request);
    if (offDomain.length > 0) {
      const description = `URLs outside the tool's domain: ${offDomain.join(', ')}`;
      this.refuse(res, 400, { error: 'invalid_client_metadata', error_description: description }, `registration: ${description}`);
      return;
    }
    const registration: Registration = { request, clientId: randomUUID(), deploymentId: `${this.flavour}-deployment-${randomUUID()}` };
    this.registrations.push(registration);
    res.status(200).json({
      ...request,
      client_id: registration.clientId,
      [LTI_TOOL_CONFIGURATION]: { ...request[LTI_TOOL_CONFIGURATION], deployment_id: registration.deploymentId },
    });
  }

  private urlsOffToolDomain(request: ToolRegistrationRequest): string[] {
    const config = request[LTI_TOOL_CONFIGURATION];
    const domains = [config.domain, ...(config.secondary_domains ?? [])];
    const urls = [
      request.initiate_login_uri,
      ...request.redirect_uris,
      request.jwks_uri,
      config.target_link_uri,
      ...config.messages.flatMap((m) => (m.target_link_uri ? [m.target_link_uri] : [])),
    ];
    return urls.filter((u) => !onToolDomain(u, domains));
  }

  // ---- launches ----------------------------------------------------------------------------------

  /**
   * Third-party initiated login (Security Framework, OpenID Connect launch flow): the form the
   * platform auto-submits in the user's browser to the tool's initiate_login_uri.
   */
  loginInitiation(spec: LaunchSpec): { url: string; params: Record<string, string> } {
    const { request, clientId, deploymentId } = this.registration;
    this.launchCounter += 1;
    const launchId = `${this.flavour}-launch-${this.launchCounter}-${randomBytes(3).toString('hex')}`;
    const messageHint = this.shape.messageHint(launchId);
    const loginHint = this.shape.loginHint(spec.person);
    const targetLinkUri = this.targetLinkUri(spec.messageType ?? 'LtiResourceLinkRequest');
    const deepLinkReturnUrl =
      spec.messageType === 'LtiDeepLinkingRequest'
        ? `${this.url(this.shape.paths.deepLinkReturn)}?launch=${launchId}&sesskey=x7Y`
        : undefined;
    const launch: PendingLaunch = { launchId, spec, loginHint, targetLinkUri, deepLinkReturnUrl };
    this.pending.set(messageHint, launch);
    this.launchesById.set(launchId, launch);
    return {
      url: request.initiate_login_uri,
      params: {
        iss: this.issuer,
        login_hint: loginHint,
        target_link_uri: targetLinkUri,
        lti_message_hint: messageHint,
        client_id: clientId,
        lti_deployment_id: deploymentId,
        ...this.shape.extraLoginParameters(),
      },
    };
  }

  /** The tool's launch URL for a message type: the message's own one if it registered one (Dynamic Registration, `messages`). */
  private targetLinkUri(type: MessageType): string {
    const config = this.registration.request[LTI_TOOL_CONFIGURATION];
    return config.messages.find((m) => m.type === type)?.target_link_uri ?? config.target_link_uri;
  }

  /** The OIDC authorization endpoint: validates the tool's authentication request and answers with the id_token form. */
  private async authorize(req: Request, res: Response): Promise<void> {
    const params: unknown = { ...(req.query as Record<string, unknown>), ...((req.body as Record<string, unknown> | undefined) ?? {}) };
    const parsed = authenticationRequest.safeParse(params);
    if (!parsed.success) {
      const description = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      this.refuse(res, 400, `invalid authentication request: ${description}`, `authorization: ${description}`);
      return;
    }
    const launch = this.launchFor(parsed.data);
    if (typeof launch === 'string') {
      this.refuse(res, 400, `invalid authentication request: ${launch}`, `authorization: ${launch}`);
      return;
    }
    await this.answerWithIdToken(parsed.data, launch, res);
  }

  /** The pending launch the authentication request is for, or why it cannot be answered. */
  private launchFor(auth: AuthenticationRequest): PendingLaunch | string {
    const { request, clientId } = this.registration;
    if (auth.client_id !== clientId) return `client_id ${auth.client_id} is not ${clientId}`;
    // OpenID Connect Core, authentication request: the redirect_uri must exactly match a registered one.
    if (!request.redirect_uris.includes(auth.redirect_uri)) return `redirect_uri ${auth.redirect_uri} is not registered`;
    const launch = auth.lti_message_hint ? this.pending.get(auth.lti_message_hint) : undefined;
    if (!launch) return `lti_message_hint ${auth.lti_message_hint ?? '(missing)'} names no pending launch`;
    if (auth.login_hint !== launch.loginHint) return `login_hint ${auth.login_hint} is not ${launch.loginHint}`;
    return launch;
  }

  private async answerWithIdToken(auth: AuthenticationRequest, launch: PendingLaunch, res: Response): Promise<void> {
    // A message hint is good for one authentication, like a platform's short-lived launch reference.
    this.pending.delete(auth.lti_message_hint ?? '');
    const idToken = await this.sign(this.idTokenClaims(launch, auth.nonce));
    res
      .status(200)
      .type('html')
      .send(autoPostForm(auth.redirect_uri, { id_token: idToken, state: auth.state }));
  }

  /** The id_token of an LtiResourceLinkRequest (LTI Core) or an LtiDeepLinkingRequest (Deep Linking). */
  private idTokenClaims(launch: PendingLaunch, nonce: string): JWTPayload {
    const { clientId, deploymentId, request } = this.registration;
    const { spec } = launch;
    const messageType = spec.messageType ?? 'LtiResourceLinkRequest';
    const facts: LaunchFacts = { issuer: this.issuer, person: spec.person, course: spec.course, resourceLinkId: `rl-${spec.course.id}-1` };
    const now = Math.floor(Date.now() / 1000);
    const config = request[LTI_TOOL_CONFIGURATION];
    const registeredCustom = {
      ...config.custom_parameters,
      ...config.messages.find((m) => m.type === messageType)?.custom_parameters,
    };
    const custom = Object.fromEntries(
      Object.entries({ ...registeredCustom, ...this.shape.platformCustom(facts), ...spec.custom }).map(([k, v]) => [
        k,
        substitute(v, facts),
      ]),
    );
    const claims: JWTPayload = {
      iss: this.issuer,
      aud: clientId,
      azp: clientId,
      sub: spec.person.userId,
      iat: now,
      exp: now + 300,
      nonce,
      name: spec.person.name,
      given_name: spec.person.givenName,
      family_name: spec.person.familyName,
      email: spec.person.email,
      [`${CLAIM}/message_type`]: messageType,
      [`${CLAIM}/version`]: '1.3.0',
      [`${CLAIM}/deployment_id`]: deploymentId,
      [`${CLAIM}/target_link_uri`]: launch.targetLinkUri,
      [`${CLAIM}/roles`]: this.shape.roles(spec.person.persona),
      [`${CLAIM}/context`]: { id: spec.course.id, label: spec.course.label, title: spec.course.title, type: [this.shape.contextType] },
      [`${CLAIM}/tool_platform`]: {
        guid: `${this.flavour}-${new URL(this.issuer).port}`,
        name: `Conformance ${this.flavour}`,
        product_family_code: this.shape.productFamilyCode,
        version: this.shape.version,
      },
      [`${CLAIM}/launch_presentation`]: { document_target: 'iframe', locale: 'en', return_url: this.url('/return') },
      [`${CLAIM}/custom`]: custom,
      ...this.shape.extraClaims(facts),
    };
    if (messageType === 'LtiResourceLinkRequest') {
      claims[`${CLAIM}/resource_link`] = { id: facts.resourceLinkId, title: 'Coaching practice', description: '' };
    } else {
      claims[`${DL_CLAIM}/deep_linking_settings`] = {
        deep_link_return_url: launch.deepLinkReturnUrl,
        accept_types: ['ltiResourceLink'],
        accept_presentation_document_targets: ['iframe', 'window'],
        accept_multiple: spec.acceptMultiple ?? true,
        auto_create: true,
        title: 'Add a CoachLTI module',
        ...(spec.deepLinkingData === undefined ? {} : { data: spec.deepLinkingData }),
      };
    }
    return claims;
  }

  /**
   * Signs claims as this platform would, or with a key it never published (negative tests). The
   * foreign key reuses the published kid unless told otherwise, so only the signature can give it away.
   */
  async sign(claims: JWTPayload, options: { key?: 'platform' | 'foreign'; kid?: string } = {}): Promise<string> {
    const key = options.key === 'foreign' ? this.foreignKey : this.signingKey;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: options.kid ?? this.signingKey.kid })
      .sign(key.privateKey);
  }

  /** The kid of the key that signs nothing this platform publishes. */
  get foreignKid(): string {
    return this.foreignKey.kid;
  }

  // ---- tool-originated messages ------------------------------------------------------------------

  private toolKeys(): ReturnType<typeof createRemoteJWKSet> {
    return createRemoteJWKSet(new URL(this.registration.request.jwks_uri));
  }

  /** Security Framework, OAuth 2.0 client credentials grant: client_credentials with a JWT client assertion signed by the tool's key. */
  private async issueAccessToken(req: Request, res: Response): Promise<void> {
    const parsed = tokenRequest.safeParse(req.body);
    if (!parsed.success) {
      this.refuse(res, 400, { error: 'invalid_request' }, `token: ${parsed.error.message}`);
      return;
    }
    const { clientId } = this.registration;
    try {
      await jwtVerify(parsed.data.client_assertion, this.toolKeys(), {
        issuer: clientId,
        subject: clientId,
        audience: [this.url(this.shape.paths.token), this.issuer],
        algorithms: ['RS256'],
        requiredClaims: ['iat', 'exp', 'jti'],
      });
    } catch (error) {
      this.refuse(res, 401, { error: 'invalid_client' }, `token: client assertion rejected: ${String(error)}`);
      return;
    }
    const registered = (this.registration.request.scope ?? '').split(' ');
    const scope = parsed.data.scope
      .split(' ')
      .filter((s) => registered.includes(s))
      .join(' ');
    res.json({ access_token: randomBytes(24).toString('base64url'), token_type: 'Bearer', expires_in: 3600, scope });
  }

  /**
   * Deep Linking response message: the return URL receives the tool's signed LtiDeepLinkingResponse. The platform
   * verifies it against the tool's published keys and records what it found, good or bad.
   */
  private async receiveDeepLinks(req: Request, res: Response): Promise<void> {
    const launchId = typeof req.query.launch === 'string' ? req.query.launch : undefined;
    const launch = launchId ? this.launchesById.get(launchId) : undefined;
    const jwt = (req.body as Record<string, unknown> | undefined)?.JWT;
    const record: DeepLinkReturn = { launchId, problems: [], claims: undefined };
    this.deepLinkReturns.push(record);
    if (!launch?.deepLinkReturnUrl) record.problems.push(`return URL ${req.originalUrl} names no deep linking launch`);
    if (typeof jwt !== 'string') record.problems.push('no JWT form field');
    else await this.verifyDeepLinkingResponse(jwt, launch, record);
    if (record.problems.length > 0) {
      this.refuse(res, 400, `deep linking response refused: ${record.problems.join('; ')}`, `deep linking: ${record.problems.join('; ')}`);
      return;
    }
    res.status(200).type('html').send('<!doctype html><p>Content added.</p>');
  }

  private async verifyDeepLinkingResponse(jwt: string, launch: PendingLaunch | undefined, record: DeepLinkReturn): Promise<void> {
    const { clientId, deploymentId } = this.registration;
    let payload: JWTPayload;
    try {
      const verified = await jwtVerify(jwt, this.toolKeys(), {
        issuer: clientId,
        audience: this.issuer,
        algorithms: ['RS256'],
        requiredClaims: ['iat', 'exp', 'nonce'],
      });
      payload = verified.payload;
    } catch (error) {
      record.problems.push(`JWT rejected: ${String(error)}`);
      return;
    }
    const parsed = deepLinkingResponseClaims.safeParse(payload);
    if (!parsed.success) {
      record.problems.push(...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
      return;
    }
    record.claims = parsed.data;
    if (parsed.data[`${CLAIM}/deployment_id`] !== deploymentId) record.problems.push(`deployment_id is not ${deploymentId}`);
    if (this.seenToolNonces.has(parsed.data.nonce)) record.problems.push(`nonce ${parsed.data.nonce} was already used`);
    this.seenToolNonces.add(parsed.data.nonce);
    const sentData = launch?.spec.deepLinkingData;
    // Deep Linking: data sent in the settings MUST come back unchanged.
    if (sentData !== undefined && parsed.data[`${DL_CLAIM}/data`] !== sentData) record.problems.push('data was not echoed unchanged');
  }
}
