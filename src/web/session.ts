import { randomBytes, timingSafeEqual } from 'node:crypto';
import MongoStore from 'connect-mongo';
import type { Request, RequestHandler, Response } from 'express';
import session, { type Store } from 'express-session';
import type { MongoClient } from 'mongodb';
import type { LaunchSession } from '../lti/launch-token';
import type { ToolRole } from '../lti/roles';
import { ForbiddenError, UnauthorizedError } from '../shared/errors';

/** What a launch leaves for its pages; several live side by side, see launch-context.ts. */
export type { LaunchSession };

declare module 'express-session' {
  interface SessionData {
    /** The launch context selected for this request (launch-context.ts); never stored under this name. */
    launch: LaunchSession;
    csrfToken: string;
  }
}

export function sessionMiddleware(options: {
  secret: string;
  secureCookies: boolean;
  clientPromise: Promise<MongoClient>;
  dbName: string | undefined;
  /** Tests wrap the store (e.g. to slow it down); production uses connect-mongo as is. */
  wrapStore?: (store: Store) => Store;
}): RequestHandler[] {
  const mongoStore = MongoStore.create({
    clientPromise: options.clientPromise,
    dbName: options.dbName,
    collectionName: 'sessions',
    ttl: 8 * 3600,
    // Rolling expiry without a write per request: the stored expiry is pushed on at most every 15 minutes.
    touchAfter: sessionTouchAfterSeconds,
  });
  // connect-mongo deletes `lastModified` from the object it saves; a copy keeps express-session's
  // "already saved" hash true after an explicit save, so the session is not written twice.
  const set = mongoStore.set.bind(mongoStore);
  mongoStore.set = (sid, data, callback) => set(sid, { ...data }, callback);
  const store = (options.wrapStore ? options.wrapStore(mongoStore) : mongoStore) as Store & { generate(req: Request): void };
  const middleware = session({
    name: 'coachlti.sid',
    secret: options.secret,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    store,
    cookie: {
      httpOnly: true,
      // Inside an LMS iframe the cookie is third-party: it must be SameSite=None; Secure over https.
      sameSite: options.secureCookies ? 'none' : 'lax',
      secure: options.secureCookies,
      // CHIPS: a cookie partitioned by the LMS's site keeps working where third-party cookies are blocked.
      partitioned: options.secureCookies,
      maxAge: 8 * 3600 * 1000,
    },
  });
  // express-session installs `generate` on the store: remember the sessions it made in this request.
  const generate = store.generate.bind(store);
  store.generate = (req: Request) => {
    generate(req);
    freshSessions.add(req.session);
  };
  return [middleware, saveSessionBeforeRedirect];
}

export const sessionTouchAfterSeconds = 15 * 60;

const freshSessions = new WeakSet<object>();

/**
 * True when this request's session was created in this request (no cookie, or an unknown id): it has an
 * id nobody else knows, so regenerating it (a store delete that finds nothing) protects nothing.
 */
export function isFreshSession(req: Request): boolean {
  return req.session !== undefined && freshSessions.has(req.session);
}

/** The session's data as express-session hashes it: everything but the cookie. */
function sessionContent(value: object): string {
  return JSON.stringify(value, function (this: unknown, key, val: unknown) {
    return this === value && key === 'cookie' ? undefined : val;
  });
}

/**
 * express-session saves a changed session when the response ends, but it sends the headers first, so a
 * browser can follow a redirect (Location and the new session cookie) before the store has the session:
 * the next page then finds no session ("Your session has ended"). Every redirect therefore waits until a
 * changed session is stored. Unchanged sessions are not written (anonymous redirects create nothing).
 */
export const saveSessionBeforeRedirect: RequestHandler = (req, res, next) => {
  if (!req.session) {
    next();
    return;
  }
  const before = { id: req.sessionID, content: sessionContent(req.session) };
  const redirect = res.redirect;
  const guarded = function (this: Response, ...args: unknown[]): void {
    const current = req.session;
    const changed = current !== undefined && (req.sessionID !== before.id || sessionContent(current) !== before.content);
    const empty = current === undefined || sessionContent(current) === '{}';
    if (!changed || empty) {
      (redirect as (...a: unknown[]) => void).apply(res, args);
      return;
    }
    current.save((error: unknown) => {
      if (error) next(error);
      else (redirect as (...a: unknown[]) => void).apply(res, args);
    });
  };
  res.redirect = guarded as Response['redirect'];
  next();
};

/** The launch this request belongs to, or a 401 page telling the user to launch from the LMS. */
export function requireLaunch(...views: ToolRole[]): RequestHandler {
  return (req, _res, next) => {
    const launch = req.session.launch;
    if (!launch) {
      next(new UnauthorizedError('Your CoachLTI session has ended or never started. Go back to your course and open CoachLTI from there.'));
      return;
    }
    if (views.length > 0 && !views.includes(launch.view)) {
      next(new ForbiddenError('This page is not available in your role.'));
      return;
    }
    next();
  };
}

/**
 * Synchronizer-token CSRF protection (cookies are SameSite=None inside LMS iframes): a launch context's own
 * secret (works without any cookie), otherwise the session's (the password admin area).
 */
export function csrfToken(req: { session: { csrfToken?: string }; launchContext?: { csrf: string } }): string {
  if (req.launchContext) return req.launchContext.csrf;
  req.session.csrfToken ??= randomBytes(24).toString('base64url');
  return req.session.csrfToken;
}

export const verifyCsrf: RequestHandler = (req, _res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD') {
    next();
    return;
  }
  const expected = req.launchContext ? req.launchContext.csrf : req.session.csrfToken;
  const body: unknown = req.body;
  const field = typeof body === 'object' && body !== null && '_csrf' in body ? (body as { _csrf: unknown })._csrf : undefined;
  const sent = typeof field === 'string' ? field : '';
  const ok = expected !== undefined && sent.length === expected.length && timingSafeEqual(Buffer.from(sent), Buffer.from(expected));
  next(ok ? undefined : new ForbiddenError('This form has expired. Reload the page and try again.'));
};
