import type { Request, Response } from 'express';
import type { Catalog } from '../curriculum/catalog';
import type { LaunchRecords } from '../courses/launch-records';
import type { FrameOrigins } from './frame-origins';
import { ForbiddenError } from '../shared/errors';
import { rememberLaunch, withLaunchToken } from '../web/launch-context';
import { isFreshSession, type LaunchSession } from '../web/session';
import { frameOriginOf } from './frame-origins';
import { LaunchRefusal } from './launch-errors';
import type { LaunchTokens } from './launch-token';
import { toLaunchContext } from './claims';
import type { ValidatedLaunch } from './launch-validation';
import { summarizeRoles } from './roles';

/** Where a launch lands, by message type and role. */
export function landingPath(session: LaunchSession): string {
  if (session.deepLinking) return '/deep-linking';
  if (session.view === 'admin') return '/admin';
  if (session.view === 'instructor') return '/course';
  return session.moduleId ? `/modules/${encodeURIComponent(session.moduleId)}` : '/training';
}

/** A new session id per launch (no fixation), keeping this browser's other launch contexts. */
function regenerate(req: Request): Promise<void> {
  const { launches, currentLaunch } = req.session;
  return new Promise((resolve, reject) =>
    req.session.regenerate((error: unknown) => {
      if (error) {
        reject(error);
        return;
      }
      if (launches) req.session.launches = launches;
      if (currentLaunch) req.session.currentLaunch = currentLaunch;
      resolve();
    }),
  );
}

/**
 * A launch that arrived without the login's state cookie (third-party cookies blocked) was accepted by
 * its state alone; it must also have been posted by a page of that platform (the Origin header browsers
 * set on every form POST), so another site cannot post a stolen id_token into someone's browser.
 */
export function postedByPlatform(origin: string | undefined, signedUrls: (string | undefined)[]): boolean {
  const from = frameOriginOf(origin);
  return from !== undefined && signedUrls.some((url) => frameOriginOf(url) === from);
}

/**
 * Turns a validated launch into our records and a fresh session, then redirects to the page for the
 * user's role. A new session id per launch prevents fixation; the id_token itself is not kept.
 */
export function createLaunchHandler(deps: { records: LaunchRecords; catalog: Catalog; frameOrigins: FrameOrigins; tokens: LaunchTokens }) {
  return async function onLaunch(launch: ValidatedLaunch, req: Request, res: Response): Promise<void> {
    const ctx = toLaunchContext(launch.claims, launch.clientId);
    const roles = summarizeRoles(ctx.roles);
    if (ctx.messageType === 'LtiDeepLinkingRequest' && !(roles.isInstructor || roles.isAdmin)) {
      throw new ForbiddenError('Only instructors can add CoachLTI modules to a course.');
    }
    if (
      res.locals.cookielessLaunch === true &&
      !postedByPlatform(req.get('origin'), [ctx.platform.issuer, ctx.returnUrl, ctx.deepLinking?.returnUrl])
    ) {
      throw new LaunchRefusal('MISSING_VALIDATION_COOKIE');
    }
    const requested = ctx.custom.module_id;
    const moduleId = requested && deps.catalog.get(requested) ? requested : undefined;
    const recorded = await deps.records.recordLaunch(ctx, moduleId);
    // Where this LMS's pages live, so they (and only they) may frame ours.
    await deps.frameOrigins.learn({ issuer: ctx.platform.issuer, clientId: ctx.platform.clientId }, [
      req.get('origin'),
      ctx.returnUrl,
      ctx.deepLinking?.returnUrl,
    ]);

    // A session made in this very request already has an id nobody else knows (no fixation possible).
    if (!isFreshSession(req)) await regenerate(req);
    const session: LaunchSession = {
      userId: recorded.user.id,
      userName: recorded.user.name,
      issuer: ctx.platform.issuer,
      clientId: ctx.platform.clientId,
      deploymentId: ctx.platform.deploymentId,
      view: roles.view,
      isLearner: roles.isLearner,
      teachingAssistant: roles.isAssistant,
      courseId: recorded.course?.id,
      courseTitle: recorded.course?.title,
      resourceLinkId: recorded.resourceLink?.id,
      moduleId: moduleId ?? recorded.resourceLink?.moduleId,
      deepLinking: ctx.deepLinking
        ? {
            returnUrl: ctx.deepLinking.returnUrl,
            data: ctx.deepLinking.data,
            acceptMultiple: ctx.deepLinking.acceptMultiple,
            title: ctx.deepLinking.title,
            acceptTypes: ctx.deepLinking.acceptTypes,
            acceptLineItem: ctx.deepLinking.acceptLineItem,
            presentationTargets: ctx.deepLinking.presentationTargets,
          }
        : undefined,
    };
    const { ticket, token } = deps.tokens.issue(session);
    rememberLaunch(req, ticket);
    req.log.info({ view: session.view, messageType: ctx.messageType, course: session.courseId }, 'launch accepted');
    res.redirect(303, withLaunchToken(landingPath(session), token));
  };
}
