import { randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { ModuleSummary } from '../curriculum/catalog';

/** An `ltiResourceLink` content item (Deep Linking 2.0 §3.4.1), with its gradebook line item when the platform takes one. */
export interface ResourceLinkItem {
  type: 'ltiResourceLink';
  title: string;
  text: string;
  url: string;
  custom: Record<string, string>;
  lineItem?: { scoreMaximum: number; label: string; resourceId: string; tag: string };
  iframe?: { height: number };
  window?: { targetName: string };
}

/** What the platform said it accepts back (deep_linking_settings). */
export interface DeepLinkingOffer {
  acceptTypes: string[];
  /** undefined: not stated, so a line item is offered (a platform that does not support it ignores it). */
  acceptLineItem: boolean | undefined;
  /** accept_presentation_document_targets; empty when not stated. */
  presentationTargets: string[];
}

/**
 * Every CoachLTI module needs an LTI launch (sign-in, attempts, grade passback), so only `ltiResourceLink`
 * items make sense. A placement that accepts only plain `link`s (or files, HTML…) gets no items and a
 * plain explanation instead of items the platform would reject.
 */
export function canOfferModules(offer: DeepLinkingOffer): boolean {
  return offer.acceptTypes.includes('ltiResourceLink');
}

export function moduleContentItem(module: ModuleSummary, launchUrl: string, offer: DeepLinkingOffer): ResourceLinkItem {
  const item: ResourceLinkItem = {
    type: 'ltiResourceLink',
    title: module.title,
    text: module.summary,
    url: launchUrl,
    custom: { module_id: module.id },
  };
  if (offer.acceptLineItem !== false) {
    item.lineItem = { scoreMaximum: 100, label: module.title, resourceId: module.id, tag: 'module' };
  }
  // A resource link opens in an iframe or a window (embed is for plain links and HTML); ask only for a target
  // the platform offered, preferring the iframe the pages are designed for.
  if (offer.presentationTargets.includes('iframe')) item.iframe = { height: 800 };
  else if (offer.presentationTargets.includes('window')) item.window = { targetName: 'coachlti' };
  return item;
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
  /** Shown by the platform as an error (lti_errormsg), e.g. when nothing the platform accepts can be offered. */
  errorMessage?: string;
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
  if (input.errorMessage) claims['https://purl.imsglobal.org/spec/lti-dl/claim/errormsg'] = input.errorMessage;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: input.signing.kid, typ: 'JWT' })
    .setIssuer(input.clientId)
    .setAudience(input.platformIssuer)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(input.signing.key);
}
