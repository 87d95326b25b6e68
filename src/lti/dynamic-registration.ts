import { z } from 'zod';
import { redactUrl, type Logger } from '../shared/logger';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../shared/errors';
import { userAgent } from './jwks-cache';
import { PlatformExistsError, type LtiProvider } from './ltijs-adapter';
import type { PendingRegistration, PendingRegistrations, WritablePlatformRegistry } from './platform-registry';
import type { ClaimResult, RegistrationInvites } from './registration-invites';
import { checkHost, safeFetch, SafeFetchError, type SafeFetchPolicy } from './safe-fetch';
import { registrationRequest, type ToolUrls } from './tool-configuration';

export const registrationQuerySchema = z.object({
  openid_configuration: z.string().max(2048).url('openid_configuration must be a URL'),
  registration_token: z.string().min(1).max(4096).optional(),
  invite: z.string().min(1).max(200).optional(),
});

export type RegistrationInput = z.infer<typeof registrationQuerySchema>;

const registrationResponseSchema = z
  .object({
    client_id: z.string().min(1).max(255),
    'https://purl.imsglobal.org/spec/lti-tool-configuration': z
      .object({ deployment_id: z.string().min(1).max(255).optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();

/** The OpenID configuration; in production every endpoint must be https. */
function platformConfigurationSchema(allowHttp: boolean) {
  const endpoint = z
    .string()
    .max(2048)
    .url()
    .refine(
      (v) => v.startsWith('https://') || (allowHttp && v.startsWith('http://')),
      allowHttp ? 'must be an http(s) URL' : 'must be https',
    );
  return z.object({
    issuer: endpoint,
    authorization_endpoint: endpoint,
    token_endpoint: endpoint,
    jwks_uri: endpoint,
    registration_endpoint: endpoint,
    token_endpoint_auth_signing_alg_values_supported: z.array(z.string()).optional(),
    id_token_signing_alg_values_supported: z.array(z.string()).optional(),
    'https://purl.imsglobal.org/spec/lti-platform-configuration': z
      .object({ product_family_code: z.string().max(100).optional(), version: z.string().optional() })
      .passthrough()
      .optional(),
  });
}

export type RegistrationOutcome =
  | { kind: 'registered'; issuer: string; clientId: string; deploymentId: string | undefined; platformName: string; active: boolean }
  | { kind: 'pending'; issuer: string; clientId: string; deploymentId: string | undefined; platformName: string; pendingId: string };

export interface DynamicRegistrationDeps {
  provider: LtiProvider;
  registry: WritablePlatformRegistry;
  pending: PendingRegistrations;
  invites: RegistrationInvites;
  urls: ToolUrls;
  autoActivate: boolean;
  /** A registration needs a valid invite (production default). */
  requireInvite: boolean;
  /** OpenID configuration URLs under this prefix (the built-in development platform) need no invite. */
  inviteExemptPrefix?: string;
  fetchPolicy: SafeFetchPolicy;
  logger: Logger;
}

/** At most this many registrations wait for approval; more are refused until an administrator decides. */
export const maxPendingRegistrations = 100;

const inviteRefusals: Record<Exclude<ClaimResult, { ok: true }>['reason'], string> = {
  unknown: 'This registration link is not valid. Ask a CoachLTI administrator for a new registration link.',
  used: 'This registration link was already used: each link registers one platform. Ask a CoachLTI administrator for a new one.',
  expired: 'This registration link has expired. Ask a CoachLTI administrator for a new registration link.',
  revoked: 'This registration link was withdrawn by a CoachLTI administrator. Ask for a new registration link.',
  busy: 'This registration link is being used by another registration right now. Try again in two minutes.',
};

const excerpt = (text: string): string => text.replace(/\s+/g, ' ').slice(0, 300);

async function fetchJson(
  deps: DynamicRegistrationDeps,
  url: string,
  init: { method?: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
  what: string,
): Promise<unknown> {
  let res;
  try {
    res = await safeFetch(url, init, deps.fetchPolicy);
  } catch (error) {
    if (!(error instanceof SafeFetchError)) throw error;
    deps.logger.warn({ url: redactUrl(url), reason: error.reason, detail: error.detail }, `dynamic registration: ${what} not fetched`);
    throw new BadRequestError(`Could not fetch ${what}: ${error.message}`);
  }
  // What the platform answered goes to the log (bounded), never to the page: it may be anything the URL pointed at.
  if (res.status < 200 || res.status >= 300) {
    deps.logger.warn(
      { url: redactUrl(url), status: res.status, excerpt: excerpt(res.text) },
      `dynamic registration: the platform refused ${what}`,
    );
    throw new BadRequestError(`The platform refused ${what} (HTTP ${res.status}).`);
  }
  try {
    return JSON.parse(res.text);
  } catch {
    deps.logger.warn({ url: redactUrl(url), status: res.status, excerpt: excerpt(res.text) }, `dynamic registration: ${what} is not JSON`);
    throw new BadRequestError(`The platform's answer to ${what} is not JSON.`);
  }
}

/** The invite decides whether this registration may proceed; refused before anything is fetched or written. */
async function admit(deps: DynamicRegistrationDeps, input: RegistrationInput): Promise<{ inviteId: string; claimId: string } | undefined> {
  if (input.invite !== undefined) {
    const claim = await deps.invites.claim(input.invite);
    if (!claim.ok) throw new ForbiddenError(inviteRefusals[claim.reason]);
    return claim;
  }
  const exempt = deps.inviteExemptPrefix !== undefined && new URL(input.openid_configuration).href.startsWith(deps.inviteExemptPrefix);
  if (deps.requireInvite && !exempt) {
    throw new ForbiddenError(
      'CoachLTI accepts Dynamic Registration only through a registration link from a CoachLTI administrator ' +
        '(…/lti/register?invite=…). Ask them for one and paste that link into your LMS.',
    );
  }
  return undefined;
}

/**
 * LTI Dynamic Registration 1.0 (tool side): check the invite, read the platform's OpenID configuration,
 * send our client registration, then store the platform (ltijs generates its key pair) and its deployment id.
 * An issuer + client id we already know is never modified: the registration waits for an administrator.
 */
export async function registerDynamically(deps: DynamicRegistrationDeps, input: RegistrationInput): Promise<RegistrationOutcome> {
  const claim = await admit(deps, input);
  try {
    const outcome = await register(deps, input);
    if (claim) {
      const what = `${outcome.issuer} (${outcome.clientId})${outcome.kind === 'pending' ? ', awaiting approval' : ''}`;
      if (!(await deps.invites.complete(claim, what))) deps.logger.warn({ what }, 'dynamic registration: the invite claim had lapsed');
    }
    return outcome;
  } catch (error) {
    // A failed registration does not spend the invite: the LMS administrator can fix the cause and retry.
    if (claim) await deps.invites.release(claim).catch(() => undefined);
    throw error;
  }
}

async function register(deps: DynamicRegistrationDeps, input: RegistrationInput): Promise<RegistrationOutcome> {
  const rawConfig = await fetchJson(
    deps,
    input.openid_configuration,
    { headers: { Accept: 'application/json', 'User-Agent': userAgent } },
    'its OpenID configuration',
  );
  const parsed = platformConfigurationSchema(deps.fetchPolicy.allowHttp).safeParse(rawConfig);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadRequestError(
      `The platform's OpenID configuration is incomplete: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    );
  }
  const config = parsed.data;
  // The tool later fetches keys and tokens from these: refuse internal addresses now (fetches re-check on connect).
  for (const [field, value] of [
    ['jwks_uri', config.jwks_uri],
    ['token_endpoint', config.token_endpoint],
  ] as const) {
    try {
      await checkHost(value, deps.fetchPolicy);
    } catch (error) {
      if (!(error instanceof SafeFetchError)) throw error;
      throw new BadRequestError(`The platform's ${field} cannot be used: ${error.message}`);
    }
  }
  const algs = config.id_token_signing_alg_values_supported;
  if (algs && !algs.includes('RS256')) throw new BadRequestError('The platform does not sign id_tokens with RS256.');
  const productFamily = config['https://purl.imsglobal.org/spec/lti-platform-configuration']?.product_family_code;

  const rawResponse = await fetchJson(
    deps,
    config.registration_endpoint,
    {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'User-Agent': userAgent,
        ...(input.registration_token ? { Authorization: `Bearer ${input.registration_token}` } : {}),
      },
      body: JSON.stringify(registrationRequest(deps.urls, productFamily)),
    },
    'the registration',
  );
  const response = registrationResponseSchema.safeParse(rawResponse);
  if (!response.success) throw new BadRequestError('The platform answered the registration without a valid client_id.');
  const clientId = response.data.client_id;
  const deploymentId = response.data['https://purl.imsglobal.org/spec/lti-tool-configuration']?.deployment_id;
  const platformName = productFamily ? `${productFamily} (${new URL(config.issuer).host})` : new URL(config.issuer).host;
  const found = {
    issuer: config.issuer,
    clientId,
    name: platformName,
    productFamily,
    authUrl: config.authorization_endpoint,
    tokenUrl: config.token_endpoint,
    jwksUrl: config.jwks_uri,
    deploymentId,
  };

  // Our record is created first under the unique (issuer, client id) index: of two racing registrations only
  // one creates it, and ltijs (which overwrites) is reached only by that one, for a platform it does not have.
  const known = (await deps.provider.getPlatform(config.issuer, clientId)) !== null;
  const inserted = known
    ? 'exists'
    : await deps.registry.insert({
        issuer: config.issuer,
        clientId,
        name: platformName,
        deploymentIds: deploymentId ? [deploymentId] : [],
        autoAddDeployments: false,
        registeredVia: 'dynamic',
        productFamily,
        tokenUrl: config.token_endpoint,
        authUrl: config.authorization_endpoint,
        jwksUrl: config.jwks_uri,
      });
  if (inserted === 'exists') return holdForApproval(deps, found);
  try {
    await deps.provider.registerPlatform({
      issuer: config.issuer,
      clientId,
      name: platformName,
      authUrl: config.authorization_endpoint,
      tokenUrl: config.token_endpoint,
      jwksUrl: config.jwks_uri,
    });
    await deps.provider.setActive(config.issuer, clientId, deps.autoActivate);
  } catch (error) {
    await deps.registry.remove(config.issuer, clientId);
    if (error instanceof PlatformExistsError) return holdForApproval(deps, found);
    throw error;
  }
  deps.logger.info(
    { issuer: config.issuer, clientId, deploymentId, active: deps.autoActivate },
    'platform registered through Dynamic Registration',
  );
  return { kind: 'registered', issuer: config.issuer, clientId, deploymentId, platformName, active: deps.autoActivate };
}

async function holdForApproval(
  deps: DynamicRegistrationDeps,
  found: Omit<PendingRegistration, 'id' | 'status' | 'createdAt' | 'decidedAt' | 'decidedBy'>,
): Promise<RegistrationOutcome> {
  if ((await deps.pending.countPending()) >= maxPendingRegistrations) {
    throw new ConflictError('Too many registrations are waiting for a CoachLTI administrator. Try again after they have been reviewed.');
  }
  const pending = await deps.pending.add(found);
  deps.logger.warn(
    { issuer: found.issuer, clientId: found.clientId, pendingId: pending.id, jwksUrl: found.jwksUrl, tokenUrl: found.tokenUrl },
    'dynamic registration for an already registered platform: stored for administrator approval, platform unchanged',
  );
  return {
    kind: 'pending',
    issuer: found.issuer,
    clientId: found.clientId,
    deploymentId: found.deploymentId,
    platformName: found.name,
    pendingId: pending.id,
  };
}

export interface PlatformAdminDeps {
  provider: LtiProvider;
  registry: WritablePlatformRegistry;
  pending: PendingRegistrations;
}

/**
 * An administrator approves a pending registration: its endpoints and key set replace the platform's
 * (or create it, inactive, if it was removed meanwhile). One approver wins; a failure puts it back to pending.
 */
export async function approvePendingRegistration(deps: PlatformAdminDeps, id: string, by: string): Promise<PendingRegistration> {
  const pending = await deps.pending.startApproval(id);
  if (!pending) {
    const current = await deps.pending.get(id);
    if (!current) throw new NotFoundError('There is no such pending registration.');
    throw new ConflictError(`This registration was already ${current.status === 'applying' ? 'being approved' : current.status}.`);
  }
  try {
    const existed = (await deps.provider.getPlatform(pending.issuer, pending.clientId)) !== null;
    await deps.provider.registerPlatform(
      {
        issuer: pending.issuer,
        clientId: pending.clientId,
        name: pending.name,
        authUrl: pending.authUrl,
        tokenUrl: pending.tokenUrl,
        jwksUrl: pending.jwksUrl,
      },
      { replace: true },
    );
    if (!existed) await deps.provider.setActive(pending.issuer, pending.clientId, false);
    if (await deps.registry.find(pending.issuer, pending.clientId)) {
      await deps.registry.applyEndpoints(pending.issuer, pending.clientId, pending);
    } else {
      await deps.registry.upsert({
        issuer: pending.issuer,
        clientId: pending.clientId,
        name: pending.name,
        deploymentIds: pending.deploymentId ? [pending.deploymentId] : [],
        autoAddDeployments: false,
        registeredVia: 'dynamic',
        productFamily: pending.productFamily,
        tokenUrl: pending.tokenUrl,
        authUrl: pending.authUrl,
        jwksUrl: pending.jwksUrl,
      });
    }
    await deps.pending.finishApproval(id, by);
    return pending;
  } catch (error) {
    await deps.pending.abandonApproval(id).catch(() => undefined);
    throw error;
  }
}

export async function rejectPendingRegistration(deps: PlatformAdminDeps, id: string, by: string): Promise<PendingRegistration> {
  const current = await deps.pending.get(id);
  if (!current) throw new NotFoundError('There is no such pending registration.');
  if (!(await deps.pending.reject(id, by))) throw new ConflictError(`This registration was already ${current.status}.`);
  return current;
}
