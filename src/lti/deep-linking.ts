import { randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { ModuleSummary } from '../curriculum/catalog';

/** An `ltiResourceLink` content item (Deep Linking 2.0 §3.4.1) with its gradebook line item. */
export interface ResourceLinkItem {
  type: 'ltiResourceLink';
  title: string;
  text: string;
  url: string;
  custom: Record<string, string>;
  lineItem: { scoreMaximum: number; label: string; resourceId: string; tag: string };
}

export function moduleContentItem(module: ModuleSummary, launchUrl: string): ResourceLinkItem {
  return {
    type: 'ltiResourceLink',
    title: module.title,
    text: module.summary,
    url: launchUrl,
    custom: { module_id: module.id },
    lineItem: { scoreMaximum: 100, label: module.title, resourceId: module.id, tag: 'module' },
  };
}

export interface DeepLinkingResponseInput {
  signing: { kid: string; key: KeyObject };
  platformIssuer: string;
  clientId: string;
  deploymentId: string;
  /** Echoed exactly as the platform sent it in deep_linking_settings. */
  data: string | undefined;
  items: ResourceLinkItem[];
  message?: string;
}

/** The signed LtiDeepLinkingResponse JWT: from the tool (iss = client id) to the platform (aud = issuer). */
export async function signDeepLinkingResponse(input: DeepLinkingResponseInput): Promise<string> {
  const claims: Record<string, unknown> = {
    nonce: randomUUID(),
    'https://purl.imsglobal.org/spec/lti/claim/message_type': 'LtiDeepLinkingResponse',
    'https://purl.imsglobal.org/spec/lti/claim/version': '1.3.0',
    'https://purl.imsglobal.org/spec/lti/claim/deployment_id': input.deploymentId,
    'https://purl.imsglobal.org/spec/lti-dl/claim/content_items': input.items,
  };
  if (input.data !== undefined) claims['https://purl.imsglobal.org/spec/lti-dl/claim/data'] = input.data;
  if (input.message) claims['https://purl.imsglobal.org/spec/lti-dl/claim/msg'] = input.message;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: input.signing.kid, typ: 'JWT' })
    .setIssuer(input.clientId)
    .setAudience(input.platformIssuer)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(input.signing.key);
}
