import { createHash, randomBytes, randomInt } from 'node:crypto';
import express, { Router, type Request } from 'express';
import { z } from 'zod';
import { supportedVariables } from './claims';
import type { Core } from './core';
import { errorFormat, handle, PlatformError } from './http';
import { messageTypes, supportedScopes } from './lti';
import type { RegistrationDoc, ToolMessage } from './store';
import { platformUserAgent } from './tool-keys';
import { shapes, type Shape } from './types';

const toolConfigurationClaim = 'https://purl.imsglobal.org/spec/lti-tool-configuration';
const platformConfigurationClaim = 'https://purl.imsglobal.org/spec/lti-platform-configuration';
const canvasPrivacyLevel = 'https://canvas.instructure.com/lti/privacy_level';
const registrationTokenTtlMs = 60 * 60_000;

const httpUrl = z
  .string()
  .url()
  .refine((value) => /^https?:\/\//i.test(value), 'must be an http(s) URL');
const stringMap = z.record(z.string());
const privacyLevel = z.enum(['public', 'name_only', 'email_only', 'anonymous']);

const messageSchema = z
  .object({
    type: z.string().min(1),
    target_link_uri: httpUrl.optional(),
    label: z.string().optional(),
    icon_uri: httpUrl.optional(),
    custom_parameters: stringMap.optional(),
    placements: z.array(z.string()).optional(),
    roles: z.array(z.string()).optional(),
  })
  .passthrough();

const toolConfigurationSchema = z
  .object({
    domain: z.string().min(1),
    secondary_domains: z.array(z.string().min(1)).optional(),
    target_link_uri: httpUrl,
    custom_parameters: stringMap.optional(),
    description: z.string().optional(),
    messages: z.array(messageSchema).default([]),
    claims: z.array(z.string()),
    [canvasPrivacyLevel]: privacyLevel.optional(),
  })
  .passthrough();

/** LTI Dynamic Registration 1.0 §3.5.1 (tool registration request), on top of RFC 7591 client metadata. */
const registrationSchema = z
  .object({
    application_type: z.literal('web'),
    response_types: z.array(z.string()).refine((v) => v.includes('id_token'), 'must include id_token'),
    grant_types: z
      .array(z.string())
      .refine((v) => v.includes('implicit') && v.includes('client_credentials'), 'must include implicit and client_credentials'),
    initiate_login_uri: httpUrl,
    redirect_uris: z.array(httpUrl).min(1),
    client_name: z.string().optional(),
    jwks_uri: httpUrl,
    logo_uri: httpUrl.optional(),
    token_endpoint_auth_method: z.literal('private_key_jwt'),
    contacts: z.array(z.string()).optional(),
    client_uri: httpUrl.optional(),
    tos_uri: httpUrl.optional(),
    policy_uri: httpUrl.optional(),
    scope: z.string().optional(),
    [toolConfigurationClaim]: toolConfigurationSchema,
    // Canvas also reads the privacy level at the top level in older tools.
    [canvasPrivacyLevel]: privacyLevel.optional(),
  })
  .passthrough();

type ToolRegistration = z.infer<typeof registrationSchema>;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function bearer(req: Request): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(req.get('Authorization') ?? '');
  return match?.[1];
}

/** True when the URL's host is the tool's domain (with or without port) or one of its subdomains. */
export function onDomain(uri: string, domains: string[]): boolean {
  const url = new URL(uri);
  return domains.some((raw) => {
    const domain = raw
      .replace(/^https?:\/\//i, '')
      .replace(/\/.*$/, '')
      .toLowerCase();
    return url.host === domain || url.hostname === domain || url.hostname.endsWith(`.${domain}`);
  });
}

function invalidMetadata(message: string, code = 'invalid_client_metadata'): PlatformError {
  return new PlatformError(400, code, message);
}

function checkRegistration(body: unknown): ToolRegistration {
  const parsed = registrationSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? 'body';
    const code = path.startsWith('redirect_uris') ? 'invalid_redirect_uri' : 'invalid_client_metadata';
    throw invalidMetadata(`${path}: ${issue?.message ?? 'invalid'}`, code);
  }
  const registration = parsed.data;
  const tool = registration[toolConfigurationClaim];
  const domains = [tool.domain, ...(tool.secondary_domains ?? [])];
  for (const uri of registration.redirect_uris) {
    if (!onDomain(uri, domains))
      throw invalidMetadata(`redirect_uris: ${uri} is not on the tool's domain ${tool.domain}`, 'invalid_redirect_uri');
  }
  const onToolDomain: [string, string | undefined][] = [
    ['initiate_login_uri', registration.initiate_login_uri],
    ['target_link_uri', tool.target_link_uri],
    ...tool.messages.map((m, i): [string, string | undefined] => [`messages.${i}.target_link_uri`, m.target_link_uri]),
  ];
  for (const [field, uri] of onToolDomain) {
    if (uri && !onDomain(uri, domains)) throw invalidMetadata(`${field}: ${uri} is not on the tool's domain ${tool.domain}`);
  }
  for (const message of tool.messages) {
    if (!(messageTypes as readonly string[]).includes(message.type))
      throw invalidMetadata(`messages: type ${message.type} is not supported`);
  }
  return registration;
}

function newClientId(shape: Shape): string {
  // Canvas client ids are developer key ids (digits); Moodle generates 15 random characters.
  return shape === 'canvas'
    ? `10000000000${randomInt(100, 1000)}${randomInt(1000, 10000)}`
    : randomBytes(12).toString('base64url').slice(0, 15);
}

function newDeploymentId(shape: Shape): string {
  return shape === 'canvas' ? `${randomInt(1, 1000)}:${randomBytes(20).toString('hex')}` : String(randomInt(1, 100));
}

export function openidConfiguration(core: Core, shape: Shape): Record<string, unknown> {
  const { urls } = core;
  return {
    issuer: urls.issuer(shape),
    authorization_endpoint: urls.auth(shape),
    registration_endpoint: urls.registration(shape),
    jwks_uri: urls.jwks(shape),
    token_endpoint: urls.token(shape),
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', ...supportedScopes],
    response_types_supported: ['id_token'],
    response_modes_supported: ['form_post'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    claims_supported: ['iss', 'sub', 'name', 'given_name', 'family_name', 'email', 'locale'],
    [platformConfigurationClaim]: {
      product_family_code: shape,
      version: shape === 'canvas' ? 'cloud' : '4.5 (Build: 20241007)',
      messages_supported: [
        { type: 'LtiResourceLinkRequest', ...(shape === 'canvas' ? { placements: ['course_navigation', 'link_selection'] } : {}) },
        { type: 'LtiDeepLinkingRequest', ...(shape === 'canvas' ? { placements: ['link_selection', 'assignment_selection'] } : {}) },
      ],
      variables: supportedVariables(shape),
      ...(shape === 'canvas' ? { 'https://canvas.instructure.com/lti/account_name': 'CoachLTI Dev University' } : {}),
    },
  };
}

/** Issues a one-time registration token (stored hashed) that the register endpoint will accept. */
async function issueRegistrationToken(core: Core, shape: Shape): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await core.models.registrationTokens.create({
    _id: hashToken(token),
    shape,
    expiresAt: new Date(Date.now() + registrationTokenTtlMs),
    usedAt: null,
  });
  return token;
}

async function consumeRegistrationToken(core: Core, shape: Shape, token: string | undefined, consume: boolean): Promise<void> {
  const unauthorized = new PlatformError(401, 'invalid_token', 'A valid, unused registration token is required as Bearer token.', {
    'WWW-Authenticate': 'Bearer error="invalid_token"',
  });
  if (!token) throw unauthorized;
  const filter = { _id: hashToken(token), shape, usedAt: null, expiresAt: { $gt: new Date() } };
  const found = consume
    ? await core.models.registrationTokens.findOneAndUpdate(filter, { $set: { usedAt: new Date() } }).lean()
    : await core.models.registrationTokens.findOne(filter).lean();
  if (!found) throw unauthorized;
}

function toMessages(registration: ToolRegistration): ToolMessage[] {
  return registration[toolConfigurationClaim].messages.map((m) => ({
    type: m.type,
    ...(m.target_link_uri ? { target_link_uri: m.target_link_uri } : {}),
    ...(m.label ? { label: m.label } : {}),
    ...(m.custom_parameters ? { custom_parameters: m.custom_parameters } : {}),
    ...(m.placements ? { placements: m.placements } : {}),
    ...(m.roles ? { roles: m.roles } : {}),
  }));
}

export function registrationRoutes(core: Core, shape: Shape): Router {
  const router = Router();

  router.get('/.well-known/openid-configuration', errorFormat('service'), (_req, res) => {
    res.json(openidConfiguration(core, shape));
  });

  router.post(
    '/register',
    errorFormat('oauth'),
    // The token is checked before the body is even parsed: unauthenticated callers learn nothing.
    handle(async (req, _res, next) => {
      await consumeRegistrationToken(core, shape, bearer(req), false);
      next();
    }),
    express.json({ limit: '100kb' }),
    handle(async (req, res) => {
      const token = bearer(req);
      if (!req.is('application/json')) throw invalidMetadata('the registration must be sent as application/json');
      const registration = checkRegistration(req.body);
      // Only now is the token spent: a tool that fixes its metadata may retry with the same token.
      await consumeRegistrationToken(core, shape, token, true);

      const tool = registration[toolConfigurationClaim];
      const requested = (registration.scope ?? '').split(/\s+/).filter(Boolean);
      const granted = [...new Set(requested.filter((s) => supportedScopes.includes(s)))];
      const clientId = newClientId(shape);
      const deploymentId = newDeploymentId(shape);
      const privacy = shape === 'canvas' ? (tool[canvasPrivacyLevel] ?? registration[canvasPrivacyLevel]) : undefined;
      const doc: RegistrationDoc = {
        _id: clientId,
        shape,
        deploymentId,
        ...(registration.client_name ? { clientName: registration.client_name } : {}),
        initiateLoginUri: registration.initiate_login_uri,
        redirectUris: registration.redirect_uris,
        jwksUri: registration.jwks_uri,
        scopes: granted,
        domain: tool.domain,
        secondaryDomains: tool.secondary_domains ?? [],
        targetLinkUri: tool.target_link_uri,
        claims: tool.claims,
        messages: toMessages(registration),
        customParameters: tool.custom_parameters ?? {},
        ...(privacy ? { privacyLevel: privacy } : {}),
        requestJson: JSON.stringify(registration),
        createdAt: new Date(),
      };
      await core.models.registrations.create(doc);
      core.log.info(
        { shape, clientId, deploymentId, scopes: granted, privacyLevel: privacy },
        `devplatform: ${shape} registered tool ${registration.client_name ?? ''} as client ${clientId}`,
      );
      res.status(200).json({
        ...registration,
        client_id: clientId,
        scope: granted.join(' '),
        [toolConfigurationClaim]: { ...tool, deployment_id: deploymentId },
      });
    }),
  );

  return router;
}

/**
 * Dynamic Registration initiation, done the way an LMS admin's browser would: GET the tool's
 * registration URL with openid_configuration and a fresh registration_token. The tool calls back into
 * our openid-configuration and register endpoints while we await, so the token is stored first.
 */
export function createRegistrar(core: Core): () => Promise<void> {
  let running: Promise<void> | undefined;

  async function registerShape(shape: Shape): Promise<void> {
    if (await core.registration(shape)) return;
    const token = await issueRegistrationToken(core, shape);
    const url = new URL(`${core.urls.tool}/lti/register`);
    url.searchParams.set('openid_configuration', core.urls.openidConfiguration(shape));
    url.searchParams.set('registration_token', token);
    core.log.info({ shape }, `devplatform: registering the ${shape} platform with the tool`);
    const response = await core.fetch(url, { headers: { Accept: 'text/html', 'User-Agent': platformUserAgent } });
    const body = await response.text();
    if (!response.ok) {
      throw new Error(`tool registration for ${shape} failed: HTTP ${response.status} ${body.replace(/\s+/g, ' ').slice(0, 300)}`);
    }
    const registration = await core.registration(shape);
    if (!registration) throw new Error(`the tool answered HTTP ${response.status} but never called the ${shape} registration endpoint`);
    // The tool's page then posts org.imsglobal.lti.close to its opener; without a browser there is none.
  }

  return () => {
    running ??= (async () => {
      for (const shape of shapes) await registerShape(shape);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
}
