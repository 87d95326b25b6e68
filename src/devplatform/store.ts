import { Schema, type Connection, type Model } from 'mongoose';
import type { JWK } from 'jose';
import type { MessageType } from './lti';
import type { Shape } from './types';

/**
 * The platform's own collections. Everything is named devplatform_* / DevPlatform* so it can never
 * collide with the tool's models on the same connection (ltijs owns platform, idtoken, nonce, state…).
 * Ids are chosen by us (strings in _id) so uniqueness and one-time use need no secondary indexes:
 * the app's connection runs with autoIndex off.
 */

export interface KeyDoc {
  _id: Shape;
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
  createdAt: Date;
}

export interface ToolMessage {
  type: string;
  target_link_uri?: string;
  label?: string;
  custom_parameters?: Record<string, string>;
  placements?: string[];
  roles?: string[];
}

export interface RegistrationDoc {
  /** client_id */
  _id: string;
  shape: Shape;
  deploymentId: string;
  clientName?: string;
  initiateLoginUri: string;
  redirectUris: string[];
  jwksUri: string;
  scopes: string[];
  domain: string;
  secondaryDomains: string[];
  targetLinkUri: string;
  claims: string[];
  messages: ToolMessage[];
  customParameters: Record<string, string>;
  privacyLevel?: string;
  /** The registration JSON as the tool sent it; a string because its keys are URLs full of dots. */
  requestJson: string;
  createdAt: Date;
}

export interface RegistrationTokenDoc {
  /** sha256 of the token */
  _id: string;
  shape: Shape;
  expiresAt: Date;
  usedAt?: Date | null;
}

export interface LaunchDoc {
  /** the lti_message_hint */
  _id: string;
  shape: Shape;
  clientId: string;
  deploymentId: string;
  loginHint: string;
  userId: string;
  contextId: string;
  messageType: MessageType;
  resourceLinkId?: string;
  custom: Record<string, string>;
  lineItemId?: string;
  acceptMultiple: boolean;
  /** Deep linking settings sent (older documents lack them: the defaults apply). */
  acceptTypes?: string[];
  acceptLineItem?: boolean | null;
  acceptTargets?: string[];
  /** Test knob: overrides the registration's privacy level for this launch. */
  privacyLevel?: string;
  targetLinkUri: string;
  /** Deep linking `data`: opaque value the tool must echo in its response. */
  dlData?: string;
  dlUsedAt?: Date | null;
  expiresAt: Date;
  createdAt: Date;
}

export interface AccessTokenDoc {
  /** sha256 of the token */
  _id: string;
  shape: Shape;
  clientId: string;
  scopes: string[];
  expiresAt: Date;
}

export interface UsedOnceDoc {
  /** `<kind>:<client_id>:<value>`: a jti or nonce that has been seen */
  _id: string;
  expiresAt: Date;
}

export interface CourseDoc {
  /** context_id */
  _id: string;
  shape: Shape;
  key: string;
  label: string;
  title: string;
  canvasCourseId?: string;
  /** Canvas: the course's term, dates as Canvas expands them ("2026-01-12 00:00:00 -0700"). */
  termName?: string;
  termStartAt?: string;
  termEndAt?: string;
  /** Moodle: the course start and end dates (ISO 8601), $CourseSection.timeFrame.begin/end. */
  startDate?: string;
  endDate?: string;
}

export interface UserDoc {
  /** `<shape>:<userId>` */
  _id: string;
  shape: Shape;
  userId: string;
  key: string;
  loginHint: string;
  name: string;
  givenName: string;
  familyName: string;
  email: string;
  legacyId?: string;
  siteAdmin: boolean;
}

export type CourseRole = 'instructor' | 'ta' | 'learner';

export interface EnrollmentDoc {
  /** `<contextId>:<userId>` */
  _id: string;
  shape: Shape;
  contextId: string;
  userId: string;
  role: CourseRole;
  status: 'Active' | 'Inactive';
  position: number;
}

export interface LinkDoc {
  /** resource link id */
  _id: string;
  shape: Shape;
  contextId: string;
  title: string;
  text?: string;
  url?: string;
  custom: Record<string, string>;
  createdAt: Date;
}

export interface LineItemDoc {
  /** numeric string, as Canvas and Moodle use */
  _id: string;
  seq: number;
  shape: Shape;
  contextId: string;
  label: string;
  scoreMaximum: number;
  resourceLinkId?: string;
  resourceId?: string;
  tag?: string;
  startDateTime?: string;
  endDateTime?: string;
  gradesReleased?: boolean;
  createdAt: Date;
}

export interface ScoreFields {
  userId: string;
  timestamp: string;
  /** timestamp normalised to UTC with 9 fractional digits: sorts as a string, keeps sub-millisecond order */
  timestampKey: string;
  scoreGiven?: number;
  scoreMaximum?: number;
  comment?: string;
  activityProgress: string;
  gradingProgress: string;
}

export interface ScoreDoc extends ScoreFields {
  _id: string;
  shape: Shape;
  contextId: string;
  lineItemId: string;
  receivedAt: Date;
}

export interface ResultDoc extends ScoreFields {
  /** `<lineItemId>:<userId>` */
  _id: string;
  shape: Shape;
  contextId: string;
  lineItemId: string;
  updatedAt: Date;
}

export interface CounterDoc {
  _id: string;
  value: number;
}

export interface Models {
  keys: Model<KeyDoc>;
  registrations: Model<RegistrationDoc>;
  registrationTokens: Model<RegistrationTokenDoc>;
  launches: Model<LaunchDoc>;
  accessTokens: Model<AccessTokenDoc>;
  usedOnce: Model<UsedOnceDoc>;
  courses: Model<CourseDoc>;
  users: Model<UserDoc>;
  enrollments: Model<EnrollmentDoc>;
  links: Model<LinkDoc>;
  lineItems: Model<LineItemDoc>;
  scores: Model<ScoreDoc>;
  results: Model<ResultDoc>;
  counters: Model<CounterDoc>;
}

const mixed = Schema.Types.Mixed;

function model<T>(connection: Connection, name: string, collection: string, definition: Record<string, unknown>): Model<T> {
  const existing = connection.models[name] as Model<T> | undefined;
  if (existing) return existing;
  // minimize: false keeps empty `custom` objects as {} instead of dropping them.
  return connection.model<T>(name, new Schema<T>(definition, { collection, versionKey: false, minimize: false }));
}

const scoreFields = {
  userId: String,
  timestamp: String,
  timestampKey: String,
  scoreGiven: Number,
  scoreMaximum: Number,
  comment: String,
  activityProgress: String,
  gradingProgress: String,
};

export function createModels(connection: Connection): Models {
  return {
    keys: model<KeyDoc>(connection, 'DevPlatformKey', 'devplatform_keys', {
      _id: String,
      kid: String,
      privateJwk: mixed,
      publicJwk: mixed,
      createdAt: Date,
    }),
    registrations: model<RegistrationDoc>(connection, 'DevPlatformRegistration', 'devplatform_registrations', {
      _id: String,
      shape: String,
      deploymentId: String,
      clientName: String,
      initiateLoginUri: String,
      redirectUris: [String],
      jwksUri: String,
      scopes: [String],
      domain: String,
      secondaryDomains: [String],
      targetLinkUri: String,
      claims: [String],
      messages: mixed,
      customParameters: mixed,
      privacyLevel: String,
      requestJson: String,
      createdAt: Date,
    }),
    registrationTokens: model<RegistrationTokenDoc>(connection, 'DevPlatformRegistrationToken', 'devplatform_registration_tokens', {
      _id: String,
      shape: String,
      expiresAt: Date,
      usedAt: Date,
    }),
    launches: model<LaunchDoc>(connection, 'DevPlatformLaunch', 'devplatform_launches', {
      _id: String,
      shape: String,
      clientId: String,
      deploymentId: String,
      loginHint: String,
      userId: String,
      contextId: String,
      messageType: String,
      resourceLinkId: String,
      custom: mixed,
      lineItemId: String,
      acceptMultiple: Boolean,
      acceptTypes: [String],
      acceptLineItem: { type: Boolean, default: undefined },
      acceptTargets: [String],
      privacyLevel: String,
      targetLinkUri: String,
      dlData: String,
      dlUsedAt: Date,
      expiresAt: Date,
      createdAt: Date,
    }),
    accessTokens: model<AccessTokenDoc>(connection, 'DevPlatformAccessToken', 'devplatform_access_tokens', {
      _id: String,
      shape: String,
      clientId: String,
      scopes: [String],
      expiresAt: Date,
    }),
    usedOnce: model<UsedOnceDoc>(connection, 'DevPlatformUsedOnce', 'devplatform_used_once', { _id: String, expiresAt: Date }),
    courses: model<CourseDoc>(connection, 'DevPlatformCourse', 'devplatform_courses', {
      _id: String,
      shape: String,
      key: String,
      label: String,
      title: String,
      canvasCourseId: String,
      termName: String,
      termStartAt: String,
      termEndAt: String,
      startDate: String,
      endDate: String,
    }),
    users: model<UserDoc>(connection, 'DevPlatformUser', 'devplatform_users', {
      _id: String,
      shape: String,
      userId: String,
      key: String,
      loginHint: String,
      name: String,
      givenName: String,
      familyName: String,
      email: String,
      legacyId: String,
      siteAdmin: Boolean,
    }),
    enrollments: model<EnrollmentDoc>(connection, 'DevPlatformEnrollment', 'devplatform_enrollments', {
      _id: String,
      shape: String,
      contextId: String,
      userId: String,
      role: String,
      status: String,
      position: Number,
    }),
    links: model<LinkDoc>(connection, 'DevPlatformLink', 'devplatform_links', {
      _id: String,
      shape: String,
      contextId: String,
      title: String,
      text: String,
      url: String,
      custom: mixed,
      createdAt: Date,
    }),
    lineItems: model<LineItemDoc>(connection, 'DevPlatformLineItem', 'devplatform_lineitems', {
      _id: String,
      seq: Number,
      shape: String,
      contextId: String,
      label: String,
      scoreMaximum: Number,
      resourceLinkId: String,
      resourceId: String,
      tag: String,
      startDateTime: String,
      endDateTime: String,
      gradesReleased: Boolean,
      createdAt: Date,
    }),
    scores: model<ScoreDoc>(connection, 'DevPlatformScore', 'devplatform_scores', {
      _id: String,
      shape: String,
      contextId: String,
      lineItemId: String,
      receivedAt: Date,
      ...scoreFields,
    }),
    results: model<ResultDoc>(connection, 'DevPlatformResult', 'devplatform_results', {
      _id: String,
      shape: String,
      contextId: String,
      lineItemId: String,
      updatedAt: Date,
      ...scoreFields,
    }),
    counters: model<CounterDoc>(connection, 'DevPlatformCounter', 'devplatform_counters', { _id: String, value: Number }),
  };
}

/** Next value of a named sequence (atomic, so concurrent creators never share an id). */
export async function nextSequence(models: Models, name: string): Promise<number> {
  const doc = await models.counters.findOneAndUpdate({ _id: name }, { $inc: { value: 1 } }, { upsert: true, new: true }).lean<CounterDoc>();
  if (!doc) throw new Error(`sequence ${name} returned nothing`);
  return doc.value;
}

export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

/** Records a one-time value (jti, nonce); false when it was already used. */
export async function useOnce(models: Models, id: string, expiresAt: Date): Promise<boolean> {
  try {
    await models.usedOnce.create({ _id: id, expiresAt });
    return true;
  } catch (error) {
    if (isDuplicateKeyError(error)) return false;
    throw error;
  }
}
