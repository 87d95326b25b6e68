import { randomBytes } from 'node:crypto';
import express, { Router, type Response } from 'express';
import { z } from 'zod';
import { buildIdTokenClaims } from './claims';
import type { Core } from './core';
import { errorFormat, handle, notFound, parse, PlatformError, singleString } from './http';
import { messageTypes } from './lti';
import { myTrainingLinkId } from './seed';
import type { CourseDoc, EnrollmentDoc, LaunchDoc, LineItemDoc, LinkDoc, UserDoc } from './store';
import { shapes, type LaunchInput, type LaunchRequest, type Shape } from './types';

/** How long the tool has to come back to the auth endpoint after login initiation. */
const launchTtlMs = 10 * 60_000;
/** How long an instructor may spend in the tool's deep-linking UI before returning. */
export const deepLinkTtlMs = 60 * 60_000;

const launchInputSchema = z
  .object({
    shape: z.enum(shapes),
    userId: z.string().min(1),
    contextId: z.string().min(1),
    messageType: z.enum(messageTypes).default('LtiResourceLinkRequest'),
    resourceLinkId: z.string().min(1).optional(),
    custom: z.record(z.string()).optional(),
    lineItemId: z.string().min(1).optional(),
    acceptMultiple: z.boolean().optional(),
    acceptTypes: z.array(z.string().min(1)).min(1).optional(),
    acceptLineItem: z.boolean().nullable().optional(),
    acceptTargets: z.array(z.enum(['iframe', 'window', 'embed'])).optional(),
    privacyLevel: z.enum(['public', 'name_only', 'email_only', 'anonymous']).optional(),
  })
  .strict();

interface ResolvedLink {
  id: string;
  title: string;
  text?: string;
  url?: string;
  custom: Record<string, string>;
  kind: 'my-training' | 'stored' | 'ad-hoc';
}

async function resolveLink(core: Core, shape: Shape, contextId: string, resourceLinkId: string): Promise<ResolvedLink> {
  if (resourceLinkId === myTrainingLinkId(shape, contextId))
    return { id: resourceLinkId, title: 'My training', custom: {}, kind: 'my-training' };
  const stored = await core.models.links.findOne({ _id: resourceLinkId, shape, contextId }).lean<LinkDoc>();
  if (stored) {
    return {
      id: stored._id,
      title: stored.title,
      custom: stored.custom,
      kind: 'stored',
      ...(stored.text ? { text: stored.text } : {}),
      ...(stored.url ? { url: stored.url } : {}),
    };
  }
  // Tests may launch any id: an LMS link the platform has no record of (e.g. created before a reset).
  return { id: resourceLinkId, title: 'Resource link', custom: {}, kind: 'ad-hoc' };
}

/**
 * Step 1 of the LTI launch (Security Framework §5.1.1.1, third-party initiated login): records what
 * will be launched under a fresh lti_message_hint and returns the login initiation request.
 */
export async function startLaunch(core: Core, rawInput: LaunchInput): Promise<LaunchRequest> {
  const input = parse(launchInputSchema, rawInput, 'launch input');
  const { shape, userId, contextId } = input;
  await core.ensureSeed();
  const registration = await core.registration(shape);
  if (!registration) {
    throw new PlatformError(
      409,
      'not_registered',
      `The ${shape} platform is not registered with the tool yet: run the registration first.`,
    );
  }
  const user = await core.models.users.findById(`${shape}:${userId}`).lean<UserDoc>();
  if (!user) throw notFound(`No ${shape} user ${userId}.`);
  const course = await core.models.courses.findOne({ _id: contextId, shape }).lean<CourseDoc>();
  if (!course) throw notFound(`No ${shape} course ${contextId}.`);
  const enrollment = await core.models.enrollments.findById(`${contextId}:${userId}`).lean<EnrollmentDoc>();
  if (!enrollment && !user.siteAdmin) throw new PlatformError(403, 'not_enrolled', `${user.name} is not enrolled in ${course.title}.`);

  const message = registration.messages.find((m) => m.type === input.messageType);
  let resourceLinkId: string | undefined;
  let targetLinkUri = message?.target_link_uri ?? registration.targetLinkUri;
  if (input.messageType === 'LtiDeepLinkingRequest') {
    if (!message) throw new PlatformError(400, 'not_supported', 'The tool did not register LtiDeepLinkingRequest.');
  } else {
    resourceLinkId = input.resourceLinkId ?? myTrainingLinkId(shape, contextId);
    const link = await resolveLink(core, shape, contextId, resourceLinkId);
    targetLinkUri = link.url ?? targetLinkUri;
  }
  if (input.lineItemId) {
    const item = await core.models.lineItems.exists({ _id: input.lineItemId, shape, contextId });
    if (!item) throw notFound(`No line item ${input.lineItemId} in ${course.title}.`);
  }

  const messageHint = randomBytes(24).toString('base64url');
  const now = Date.now();
  const launch: LaunchDoc = {
    _id: messageHint,
    shape,
    clientId: registration._id,
    deploymentId: registration.deploymentId,
    loginHint: user.loginHint,
    userId,
    contextId,
    messageType: input.messageType,
    ...(resourceLinkId ? { resourceLinkId } : {}),
    custom: input.custom ?? {},
    ...(input.lineItemId ? { lineItemId: input.lineItemId } : {}),
    acceptMultiple: input.acceptMultiple ?? true,
    acceptTypes: input.acceptTypes ?? ['ltiResourceLink'],
    acceptLineItem: input.acceptLineItem === undefined ? true : input.acceptLineItem,
    acceptTargets: input.acceptTargets ?? ['iframe', 'window'],
    ...(input.privacyLevel ? { privacyLevel: input.privacyLevel } : {}),
    targetLinkUri,
    ...(input.messageType === 'LtiDeepLinkingRequest' ? { dlData: randomBytes(24).toString('base64url'), dlUsedAt: null } : {}),
    expiresAt: new Date(now + launchTtlMs),
    createdAt: new Date(now),
  };
  await core.models.launches.create(launch);
  core.log.info({ shape, userId, contextId, messageType: input.messageType, resourceLinkId }, 'devplatform: launch started');
  return {
    url: registration.initiateLoginUri,
    method: 'POST',
    params: {
      iss: core.urls.issuer(shape),
      login_hint: user.loginHint,
      target_link_uri: targetLinkUri,
      lti_message_hint: messageHint,
      client_id: registration._id,
      lti_deployment_id: registration.deploymentId,
      // Canvas tells tools they may use its postMessage storage instead of cookies.
      ...(shape === 'canvas' ? { lti_storage_target: '_parent' } : {}),
    },
  };
}

/** An HTML page whose form posts itself (JS) or on a click (no JS). */
export function renderAutoPost(
  res: Response,
  options: { title: string; action: string; fields: Record<string, string>; explanation: string },
): void {
  res.set('Cache-Control', 'no-store');
  res.render('devplatform/autopost', {
    layout: false,
    pageTitle: options.title,
    action: options.action,
    fields: Object.entries(options.fields).map(([name, value]) => ({ name, value })),
    explanation: options.explanation,
    base: res.locals.devplatformBase as string,
  });
}

const authSchema = z
  .object({
    scope: singleString.optional(),
    response_type: singleString.optional(),
    response_mode: singleString.optional(),
    prompt: singleString.optional(),
    client_id: singleString.optional(),
    redirect_uri: singleString.optional(),
    login_hint: singleString.optional(),
    lti_message_hint: singleString.optional(),
    state: singleString.optional(),
    nonce: singleString.optional(),
  })
  .passthrough();

async function lineItemClaim(core: Core, launch: LaunchDoc): Promise<string | undefined> {
  const { shape, contextId } = launch;
  if (launch.lineItemId) return core.urls.lineItem(shape, contextId, launch.lineItemId);
  if (launch.messageType !== 'LtiResourceLinkRequest' || !launch.resourceLinkId) return undefined;
  const items = await core.models.lineItems
    .find({ shape, contextId, resourceLinkId: launch.resourceLinkId })
    .sort({ seq: 1 })
    .limit(2)
    .lean<LineItemDoc[]>();
  // Canvas sends the link's (assignment's) line item; Moodle only when the link has exactly one.
  const chosen = shape === 'canvas' || items.length === 1 ? items[0] : undefined;
  return chosen ? core.urls.lineItem(shape, contextId, chosen._id) : undefined;
}

/** OIDC authorization endpoint (Security Framework §5.1.1.2–5.1.1.5). */
export function authRoutes(core: Core, shape: Shape): Router {
  const router = Router();
  router.all(
    '/auth',
    errorFormat('page'),
    express.urlencoded({ extended: false, limit: '20kb' }),
    handle(async (req, res) => {
      if (req.method !== 'GET' && req.method !== 'POST') throw new PlatformError(405, 'method_not_allowed', 'Use GET or POST.');
      const params = parse(authSchema, req.method === 'GET' ? req.query : req.body, 'authentication request');
      // Without a registered client and redirect_uri there is nowhere safe to send an error: show it here.
      const registration = params.client_id ? await core.registrationByClientId(shape, params.client_id) : null;
      if (!registration) throw new PlatformError(400, 'unauthorized_client', 'client_id is missing or not registered with this platform.');
      const redirectUri = params.redirect_uri;
      if (!redirectUri || !registration.redirectUris.includes(redirectUri)) {
        throw new PlatformError(400, 'invalid_request', 'redirect_uri is missing or not one of the redirect_uris the tool registered.');
      }
      const state = params.state;
      const fail = (error: string, description: string): void => {
        core.log.info({ shape, error, description }, 'devplatform: authentication request refused');
        renderAutoPost(res, {
          title: 'Returning an error to the tool',
          action: redirectUri,
          fields: { error, error_description: description, ...(state !== undefined ? { state } : {}) },
          explanation: `The platform refused the authentication request: ${description}`,
        });
      };
      if (params.response_type !== 'id_token') return fail('unsupported_response_type', 'response_type must be id_token');
      if (!(params.scope ?? '').split(' ').includes('openid')) return fail('invalid_scope', 'scope must be openid');
      if (params.response_mode !== 'form_post') return fail('invalid_request', 'response_mode must be form_post');
      if (params.prompt !== 'none') return fail('invalid_request', 'prompt must be none');
      if (!params.nonce) return fail('invalid_request', 'nonce is required');
      if (!params.login_hint) return fail('invalid_request', 'login_hint is required');
      if (!params.lti_message_hint) return fail('invalid_request', 'lti_message_hint is required');

      const launch = await core.models.launches.findById(params.lti_message_hint).lean<LaunchDoc>();
      if (!launch || launch.shape !== shape || launch.expiresAt.getTime() < Date.now()) {
        return fail('invalid_request', 'lti_message_hint is unknown or expired: start the launch again');
      }
      if (launch.clientId !== registration._id) return fail('unauthorized_client', 'this launch was not issued to this client_id');
      if (launch.loginHint !== params.login_hint) return fail('login_required', 'login_hint does not match the user of this launch');

      const [user, course, enrollment] = await Promise.all([
        core.models.users.findById(`${shape}:${launch.userId}`).lean<UserDoc>(),
        core.models.courses.findById(launch.contextId).lean<CourseDoc>(),
        core.models.enrollments.findById(`${launch.contextId}:${launch.userId}`).lean<EnrollmentDoc>(),
      ]);
      if (!user || !course) return fail('login_required', 'the user or course of this launch no longer exists');
      const link = launch.resourceLinkId ? await resolveLink(core, shape, launch.contextId, launch.resourceLinkId) : undefined;
      const lineItemUrl = await lineItemClaim(core, launch);
      const claims = buildIdTokenClaims({
        registration,
        launch,
        user,
        course,
        enrollment,
        ...(link ? { link } : {}),
        ...(lineItemUrl ? { lineItemUrl } : {}),
        placement: link?.kind === 'my-training' || link?.kind === 'ad-hoc' ? 'course_navigation' : 'link_selection',
        nonce: params.nonce,
        urls: core.urls,
        courseGrants: core.knobs.grants.get(course._id),
      });
      const idToken = await core.keys.sign(shape, claims);
      core.log.info({ shape, userId: launch.userId, messageType: launch.messageType }, 'devplatform: id_token issued');
      renderAutoPost(res, {
        title: 'Launching the tool',
        action: redirectUri,
        fields: {
          id_token: idToken,
          ...(state !== undefined ? { state } : {}),
          ...(shape === 'canvas' ? { lti_storage_target: '_parent' } : {}),
        },
        explanation: `Signing ${user.name} in to the tool for ${course.title}.`,
      });
    }),
  );
  return router;
}
