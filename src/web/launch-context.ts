import type { Request, RequestHandler, Response } from 'express';
import { launchLifetimeSeconds, type LaunchSession, type LaunchTicket, type LaunchTokens } from '../lti/launch-token';
import { ForbiddenError, UnauthorizedError } from '../shared/errors';

/**
 * Launch contexts side by side. Every LTI launch gets its own context, named by a sealed launch token
 * (`launch` query parameter or form field, see src/lti/launch-token.ts). This middleware selects the request's context
 * once, in one place:
 *  - a request carrying a token uses that token's context (the session's copy when this browser's session
 *    knows it; the token alone when no cookie arrives — third-party cookies blocked);
 *  - a request without one falls back to the session's most recent launch (bookmarks, older pages);
 * and then carries the token on: every same-origin link and form of a rendered page and every redirect
 * gets it, so views and routes do nothing by hand. `req.session.launch` is the selected context for this
 * request only (never stored as such); CSRF secrets are per context.
 */

/** A context as kept in a browser's session, by launch id (the token is sealed again when needed: it is long). */
export interface StoredLaunch {
  csrf: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
  context: LaunchSession;
}

declare module 'express-session' {
  interface SessionData {
    /** This browser's launch contexts by launch id (several courses and roles side by side). */
    launches: Record<string, StoredLaunch>;
    /** Launch id of the most recent launch: the context of requests that carry no launch token. */
    currentLaunch: string;
  }
}

/** The context selected for this request. */
export interface SelectedLaunch {
  lid: string;
  token: string;
  csrf: string;
  exp: number;
  context: LaunchSession;
  /** Kept in this browser's session (false: the token alone, e.g. no cookie arrived). */
  inSession: boolean;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by `launchContexts` when the request belongs to a launch. */
    launchContext?: SelectedLaunch;
  }
}

/** Query parameter (and header `X-CoachLTI-Launch`) that names the launch context. */
export const launchParam = 'launch';

/** Contexts a session keeps at most; the oldest is dropped first. */
const maxContextsPerSession = 12;

/** Paths that are not pages of a launch: the LTI entry points, the test platform, static files. */
const outsideContexts = /^\/(?:lti|dev\/platform|static)(?:\/|$)/;

/** Adds the launch token to a same-origin path (`amp` is `&amp;` inside HTML attributes). */
export function withLaunchToken(url: string, token: string, amp = '&'): string {
  if (!url.startsWith('/') || url.startsWith('//') || outsideContexts.test(url)) return url;
  const hashAt = url.indexOf('#');
  const path = hashAt >= 0 ? url.slice(0, hashAt) : url;
  const fragment = hashAt >= 0 ? url.slice(hashAt) : '';
  if (new RegExp(`[?&;]${launchParam}=`).test(path)) return url;
  return `${path}${path.includes('?') ? amp : '?'}${launchParam}=${token}${fragment}`;
}

const linkAttribute = /(\shref=")(\/[^"]*)"/g;
const formTag = /<form\b[^>]*>/gi;

/**
 * Carries the token in a rendered page: same-origin links get the parameter, same-origin forms a hidden
 * field (their actions stay as written; GET forms would drop a query in the action anyway). Handlebars
 * escapes every `"` in values, so an attribute ends at the first quote.
 */
export function carryLaunchToken(html: string, token: string): string {
  return html
    .replace(linkAttribute, (_m, before: string, url: string) => `${before}${withLaunchToken(url, token, '&amp;')}"`)
    .replace(formTag, (tag) => {
      const action = /\saction="([^"]*)"/i.exec(tag)?.[1] ?? '/';
      if (!action.startsWith('/') || action.startsWith('//') || outsideContexts.test(action)) return tag;
      return `${tag}<input type="hidden" name="${launchParam}" value="${token}">`;
    });
}

/** The token named by the query, a form field (taken out of the body, routes never see it) or the header. */
function tokenSent(req: Request): string | undefined | null {
  const query = (req.query as Record<string, unknown>)[launchParam];
  const body = req.body as Record<string, unknown> | undefined;
  const field = body && typeof body === 'object' ? body[launchParam] : undefined;
  if (field !== undefined) delete body![launchParam];
  const header = req.get('x-coachlti-launch');
  const value = query ?? field ?? header;
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : null;
}

function ownerOf(context: LaunchSession): string {
  return `${context.issuer}\n${context.userId}`;
}

/** A new launch joins this browser's session and becomes its most recent one. */
export function rememberLaunch(req: Request, ticket: LaunchTicket): void {
  const launches = { ...(req.session.launches ?? {}) };
  const now = Date.now() / 1000;
  for (const [lid, stored] of Object.entries(launches)) if (stored.exp <= now) delete launches[lid];
  launches[ticket.lid] = { csrf: ticket.csrf, exp: ticket.exp, context: ticket.context };
  const ids = Object.keys(launches).sort((a, b) => (launches[a]?.exp ?? 0) - (launches[b]?.exp ?? 0));
  for (const lid of ids.slice(0, Math.max(0, ids.length - maxContextsPerSession))) delete launches[lid];
  req.session.launches = launches;
  req.session.currentLaunch = ticket.lid;
}

/** Context selection, `req.session.launch`, and the token carried in pages and redirects. */
export function launchContexts(tokens: LaunchTokens): RequestHandler {
  return (req, res, next) => {
    if (!req.session || outsideContexts.test(req.path)) {
      next();
      return;
    }
    const now = Date.now() / 1000;
    const launches = req.session.launches ?? {};
    const sent = tokenSent(req);
    let selected: SelectedLaunch | undefined;
    if (sent === null) {
      next(new UnauthorizedError('This CoachLTI link is not valid. Go back to your course and open CoachLTI again.'));
      return;
    }
    if (sent !== undefined) {
      const opened = tokens.open(sent, now);
      if (!opened.ok) {
        next(
          new UnauthorizedError(
            opened.reason === 'expired'
              ? 'This CoachLTI page has expired. Go back to your course and open CoachLTI again.'
              : 'This CoachLTI link is not valid. Go back to your course and open CoachLTI again.',
          ),
        );
        return;
      }
      const { ticket } = opened;
      const stored = launches[ticket.lid];
      const owners = new Set(Object.values(launches).map((l) => ownerOf(l.context)));
      // A browser whose session knows only other people must not act as this one (a forwarded link).
      if (!stored && owners.size > 0 && !owners.has(ownerOf(ticket.context))) {
        next(new ForbiddenError('This CoachLTI link belongs to someone else. Go back to your course and open CoachLTI from there.'));
        return;
      }
      selected = stored
        ? { lid: ticket.lid, ...stored, token: sent, inSession: true }
        : { lid: ticket.lid, token: sent, csrf: ticket.csrf, exp: ticket.exp, context: ticket.context, inSession: false };
    } else {
      const lid = req.session.currentLaunch;
      const stored = lid ? launches[lid] : undefined;
      if (lid && stored && stored.exp > now) selected = { lid, ...stored, token: tokens.seal({ lid, ...stored }), inSession: true };
    }

    if (selected && selected.exp - now < launchLifetimeSeconds / 2) renew(selected, now);
    defineSessionLaunch(req, selected);
    if (selected) {
      req.launchContext = selected;
      carryOn(res, selected);
    }
    next();

    function renew(launch: SelectedLaunch, at: number): void {
      launch.exp = Math.floor(at) + launchLifetimeSeconds;
      launch.token = tokens.seal({ lid: launch.lid, csrf: launch.csrf, exp: launch.exp, context: launch.context });
      if (launch.inSession) store(launch);
    }
    function store(launch: SelectedLaunch): void {
      req.session.launches = {
        ...(req.session.launches ?? {}),
        [launch.lid]: { csrf: launch.csrf, exp: launch.exp, context: launch.context },
      };
    }
    function defineSessionLaunch(request: Request, launch: SelectedLaunch | undefined): void {
      Object.defineProperty(request.session, 'launch', {
        configurable: true,
        enumerable: false,
        get: () => launch?.context,
        set: (value: LaunchSession) => {
          if (!launch) return;
          launch.context = value;
          launch.token = tokens.seal({ lid: launch.lid, csrf: launch.csrf, exp: launch.exp, context: value });
          if (launch.inSession) store(launch);
        },
      });
    }
  };
}

function carryOn(res: Response, launch: SelectedLaunch): void {
  res.locals.launchToken = launch.token;
  const redirect = res.redirect.bind(res) as (...args: unknown[]) => void;
  res.redirect = ((...args: unknown[]) => {
    const at = typeof args[0] === 'string' ? 0 : 1;
    const url = args[at];
    if (typeof url === 'string') args[at] = withLaunchToken(url, launch.token);
    redirect(...args);
  }) as Response['redirect'];
  const render = res.render.bind(res) as (view: string, options: object, callback: (error: Error | null, html?: string) => void) => void;
  res.render = ((
    view: string,
    options?: object | ((e: Error | null, h?: string) => void),
    callback?: (e: Error | null, h?: string) => void,
  ) => {
    const done = typeof options === 'function' ? options : callback;
    render(view, typeof options === 'object' ? options : {}, (error, html) => {
      const out = error || html === undefined ? html : carryLaunchToken(html, launch.token);
      if (done) done(error, out);
      else if (error) res.req.next?.(error);
      else res.send(out);
    });
  }) as Response['render'];
}
