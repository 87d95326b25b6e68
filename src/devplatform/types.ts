import type { MessageType } from './lti';

export const shapes = ['canvas', 'moodle'] as const;
/** Which LMS the platform imitates; each shape is a separate platform with its own issuer and keys. */
export type Shape = (typeof shapes)[number];

export interface LaunchInput {
  shape: Shape;
  /** The platform's user id (the id_token `sub`), see devPlatformDirectory(). */
  userId: string;
  contextId: string;
  messageType?: MessageType;
  /** Resource link launched; defaults to the course's "My training" link. Ignored for deep linking. */
  resourceLinkId?: string;
  /** Extra custom parameters, merged over the registered and link ones. */
  custom?: Record<string, string>;
  /** Forces the AGS `lineitem` claim to this line item (it must belong to the context). */
  lineItemId?: string;
  /** Deep linking only: deep_linking_settings.accept_multiple (default true). */
  acceptMultiple?: boolean;
  /** Deep linking only: deep_linking_settings.accept_types (default ["ltiResourceLink"]). */
  acceptTypes?: string[];
  /** Deep linking only: deep_linking_settings.accept_lineitem (default true; null leaves the claim out). */
  acceptLineItem?: boolean | null;
  /** Deep linking only: deep_linking_settings.accept_presentation_document_targets (default ["iframe", "window"]). */
  acceptTargets?: Array<'iframe' | 'window' | 'embed'>;
  /** Test knob: this launch's privacy level, overriding the registration's ("anonymous" sends no name or email). */
  privacyLevel?: 'public' | 'name_only' | 'email_only' | 'anonymous';
}

export interface LaunchRequest {
  url: string;
  method: 'POST';
  params: Record<string, string>;
}

export const faultTargets = ['scores', 'lineitems', 'token'] as const;
export type FaultTarget = (typeof faultTargets)[number];

export interface FaultPlan {
  seed: number;
  rate500?: number;
  rate429?: number;
  retryAfterSeconds?: number;
  /** Destroy the socket without answering. */
  rateReset?: number;
  /** Never answer: hold the socket for timeoutDelayMs, then destroy it. */
  rateTimeout?: number;
  timeoutDelayMs?: number;
  /** Defaults to all three. */
  appliesTo?: FaultTarget[];
}

export interface StoredLink {
  resourceLinkId: string;
  shape: Shape;
  contextId: string;
  title: string;
  text?: string;
  url?: string;
  custom: Record<string, string>;
  /** Line items bound to this link (created from the content item's lineItem). */
  lineItemIds: string[];
  createdAt: Date;
}

export interface GradebookResult {
  userId: string;
  name: string;
  scoreGiven?: number;
  scoreMaximum?: number;
  activityProgress: string;
  gradingProgress: string;
  timestamp: string;
  comment?: string;
}

export interface GradebookLineItem {
  id: string;
  url: string;
  label: string;
  scoreMaximum: number;
  resourceLinkId?: string;
  resourceId?: string;
  tag?: string;
  /** Number of scores accepted for this line item (every one is kept). */
  scoresReceived: number;
  /** Latest result per user. */
  results: GradebookResult[];
}

export interface GradebookView {
  shape: Shape;
  contextId: string;
  contextTitle: string;
  lineItems: GradebookLineItem[];
}

export interface RegistrationSummary {
  issuer: string;
  clientId: string;
  deploymentId: string;
}
