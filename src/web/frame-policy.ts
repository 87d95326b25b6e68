import type { RequestHandler } from 'express';
import type { FrameOrigins } from '../lti/frame-origins';

/**
 * Who may frame this response (CSP frame-ancestors), decided per request: the pages of a launch may be
 * framed by that launch's LMS; LTI pages outside a session (the launch POST, refusals) by any registered
 * LMS; the administrator area signed in with a password by CoachLTI itself only (no clickjacking of the
 * most powerful pages). An administrator who launched from an LMS sees the area inside that LMS.
 */
export function framePolicy(origins: FrameOrigins): RequestHandler {
  return (req, res, next) => {
    const launch = req.session?.launch;
    const adminArea = req.path === '/admin' || req.path.startsWith('/admin/');
    const allowed: Promise<string[]> = launch
      ? origins.forPlatform({ issuer: launch.issuer, clientId: launch.clientId })
      : adminArea
        ? Promise.resolve([])
        : origins.forAnyPlatform();
    allowed
      .then((list) => {
        res.locals.frameAncestors = ["'self'", ...list];
        next();
      })
      .catch((error: unknown) => {
        // Without the database the page can still be served, framed by CoachLTI only (fail closed).
        req.log.warn({ err: error }, 'frame origins unavailable; frame-ancestors limited to self');
        res.locals.frameAncestors = ["'self'"];
        next();
      });
  };
}
