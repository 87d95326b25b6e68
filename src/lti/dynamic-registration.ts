import { z } from 'zod';
import type { Logger } from '../shared/logger';
import { BadRequestError } from '../shared/errors';
import { userAgent } from './jwks-cache';
import type { LtiProvider } from './ltijs-adapter';
import type { PlatformRegistry } from './platform-registry';
import { registrationRequest, type ToolUrls } from './tool-configuration';

export const registrationQuerySchema = z.object({
  openid_configuration: z.string().url('openid_configuration must be a URL'),
  registration_token: z.string().min(1).max(4096).optional(),
});

const platformConfigurationSchema = z.object({
  issuer: z.string().url(),
  authorization_endpoint: z.string().url(),
  token_endpoint: z.string().url(),
  jwks_uri: z.string().url(),
  registration_endpoint: z.string().url(),
  token_endpoint_auth_signing_alg_values_supported: z.array(z.string()).optional(),
  id_token_signing_alg_values_supported: z.array(z.string()).optional(),
  'https://purl.imsglobal.org/spec/lti-platform-configuration': z
    .object({ product_family_code: z.string().optional(), version: z.string().optional() })
    .passthrough()
    .optional(),
});

const registrationResponseSchema = z
  .object({
    client_id: z.string().min(1),
    'https://purl.imsglobal.org/spec/lti-tool-configuration': z
      .object({ deployment_id: z.string().min(1).optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();

export interface RegistrationOutcome {
  issuer: string;
  clientId: string;
  deploymentId: string | undefined;
  platformName: string;
  active: boolean;
}

export interface DynamicRegistrationDeps {
  provider: LtiProvider;
  registry: PlatformRegistry;
  urls: ToolUrls;
  autoActivate: boolean;
  allowInsecureUrls: boolean;
  logger: Logger;
  fetch?: typeof fetch;
}

async function fetchJson(fetchImpl: typeof fetch, url: string, init: RequestInit, what: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    throw new BadRequestError(`Could not reach the platform for ${what}: ${(error as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) throw new BadRequestError(`The platform refused ${what} (HTTP ${res.status}): ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError(`The platform's answer to ${what} is not JSON.`);
  }
}

/**
 * LTI Dynamic Registration 1.0 (tool side): read the platform's OpenID configuration, send our
 * client registration, then store the platform (ltijs generates its key pair) and its deployment id.
 */
export async function registerDynamically(
  deps: DynamicRegistrationDeps,
  input: z.infer<typeof registrationQuerySchema>,
): Promise<RegistrationOutcome> {
  const fetchImpl = deps.fetch ?? fetch;
  if (!deps.allowInsecureUrls && !input.openid_configuration.startsWith('https://')) {
    throw new BadRequestError('openid_configuration must be an https URL.');
  }
  const rawConfig = await fetchJson(
    fetchImpl,
    input.openid_configuration,
    { headers: { Accept: 'application/json', 'User-Agent': userAgent } },
    'its OpenID configuration',
  );
  const parsed = platformConfigurationSchema.safeParse(rawConfig);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadRequestError(
      `The platform's OpenID configuration is incomplete: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    );
  }
  const config = parsed.data;
  const algs = config.id_token_signing_alg_values_supported;
  if (algs && !algs.includes('RS256')) throw new BadRequestError('The platform does not sign id_tokens with RS256.');
  const productFamily = config['https://purl.imsglobal.org/spec/lti-platform-configuration']?.product_family_code;

  const rawResponse = await fetchJson(
    fetchImpl,
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
  if (!response.success) throw new BadRequestError('The platform answered the registration without a client_id.');
  const clientId = response.data.client_id;
  const deploymentId = response.data['https://purl.imsglobal.org/spec/lti-tool-configuration']?.deployment_id;
  const platformName = productFamily ? `${productFamily} (${new URL(config.issuer).host})` : new URL(config.issuer).host;

  await deps.provider.registerPlatform({
    issuer: config.issuer,
    clientId,
    name: platformName,
    authUrl: config.authorization_endpoint,
    tokenUrl: config.token_endpoint,
    jwksUrl: config.jwks_uri,
  });
  await deps.provider.setActive(config.issuer, clientId, deps.autoActivate);
  await deps.registry.upsert({
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
  deps.logger.info(
    { issuer: config.issuer, clientId, deploymentId, active: deps.autoActivate },
    'platform registered through Dynamic Registration',
  );
  return { issuer: config.issuer, clientId, deploymentId, platformName, active: deps.autoActivate };
}
