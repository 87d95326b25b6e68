/**
 * What the tool sends to the platform, as the specifications define it. Everything the tool sends
 * is parsed with these schemas: a request that does not parse is a conformance failure of the tool,
 * and the platform answers it with an error instead of guessing.
 */
import { z } from 'zod';

export const LTI_TOOL_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-tool-configuration';
export const LTI_PLATFORM_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-platform-configuration';

const url = z.string().url();

/** LTI Dynamic Registration 1.0, `messages`: one message the tool supports, optionally with its own launch URL. */
const toolMessage = z
  .object({
    type: z.string().min(1),
    target_link_uri: url.optional(),
    label: z.string().optional(),
    placements: z.array(z.string()).optional(),
    custom_parameters: z.record(z.string()).optional(),
  })
  .passthrough();

/** LTI Dynamic Registration 1.0, LTI tool configuration: the LTI part of the tool's client metadata. */
const toolConfiguration = z
  .object({
    domain: z.string().min(1),
    secondary_domains: z.array(z.string()).optional(),
    target_link_uri: url,
    custom_parameters: z.record(z.string()).optional(),
    description: z.string().optional(),
    claims: z.array(z.string()).optional(),
    messages: z
      .array(toolMessage)
      .refine((messages) => messages.some((m) => m.type === 'LtiDeepLinkingRequest'), 'messages must offer LtiDeepLinkingRequest'),
  })
  .passthrough();

const includes = (required: string[]) => (values: string[]) => required.every((v) => values.includes(v));

/** LTI Dynamic Registration 1.0, client registration request (OpenID Connect Dynamic Client Registration metadata with LTI constraints). */
export const toolRegistrationRequest = z
  .object({
    application_type: z.literal('web'),
    response_types: z.array(z.string()).refine(includes(['id_token']), 'response_types must contain id_token'),
    grant_types: z
      .array(z.string())
      .refine(includes(['implicit', 'client_credentials']), 'grant_types must contain implicit and client_credentials'),
    initiate_login_uri: url,
    redirect_uris: z.array(url).min(1),
    client_name: z.string().min(1),
    jwks_uri: url,
    logo_uri: url.optional(),
    token_endpoint_auth_method: z.literal('private_key_jwt'),
    scope: z.string().optional(),
    contacts: z.array(z.string()).optional(),
    [LTI_TOOL_CONFIGURATION]: toolConfiguration,
  })
  .passthrough();

export type ToolRegistrationRequest = z.infer<typeof toolRegistrationRequest>;

/** Security Framework, OpenID Connect launch flow: the tool's authentication request (OIDC implicit flow). */
export const authenticationRequest = z.object({
  scope: z.literal('openid'),
  response_type: z.literal('id_token'),
  response_mode: z.literal('form_post'),
  prompt: z.literal('none'),
  client_id: z.string().min(1),
  redirect_uri: url,
  login_hint: z.string().min(1),
  lti_message_hint: z.string().min(1).optional(),
  state: z.string().min(1),
  nonce: z.string().min(1),
});

export type AuthenticationRequest = z.infer<typeof authenticationRequest>;

const LINE_ITEM = z
  .object({
    scoreMaximum: z.number().positive(),
    label: z.string().optional(),
    resourceId: z.string().optional(),
    tag: z.string().optional(),
  })
  .passthrough();

/** Deep Linking 2.0 content item ltiResourceLink; other types are kept as they come so the test can complain about them. */
export const resourceLinkItem = z
  .object({
    type: z.literal('ltiResourceLink'),
    url: url.optional(),
    title: z.string().optional(),
    text: z.string().optional(),
    custom: z.record(z.string()).optional(),
    lineItem: LINE_ITEM.optional(),
  })
  .passthrough();

export type ResourceLinkItem = z.infer<typeof resourceLinkItem>;

/** Deep Linking 2.0 response message with the Security Framework claims every tool-originated message carries. */
export const deepLinkingResponseClaims = z
  .object({
    iss: z.string().min(1),
    aud: z.union([z.string(), z.array(z.string())]),
    iat: z.number(),
    exp: z.number(),
    nonce: z.string().min(1),
    'https://purl.imsglobal.org/spec/lti/claim/message_type': z.literal('LtiDeepLinkingResponse'),
    'https://purl.imsglobal.org/spec/lti/claim/version': z.literal('1.3.0'),
    'https://purl.imsglobal.org/spec/lti/claim/deployment_id': z.string().min(1),
    'https://purl.imsglobal.org/spec/lti-dl/claim/data': z.string().optional(),
    'https://purl.imsglobal.org/spec/lti-dl/claim/content_items': z.array(z.object({ type: z.string() }).passthrough()).optional(),
    'https://purl.imsglobal.org/spec/lti-dl/claim/msg': z.string().optional(),
    'https://purl.imsglobal.org/spec/lti-dl/claim/errormsg': z.string().optional(),
  })
  .passthrough();

export type DeepLinkingResponseClaims = z.infer<typeof deepLinkingResponseClaims>;

/** RFC 7523 client credentials request used by LTI Advantage services (Security Framework, client credentials grant). */
export const tokenRequest = z.object({
  grant_type: z.literal('client_credentials'),
  client_assertion_type: z.literal('urn:ietf:params:oauth:client-assertion-type:jwt-bearer'),
  client_assertion: z.string().min(1),
  scope: z.string().min(1),
});
