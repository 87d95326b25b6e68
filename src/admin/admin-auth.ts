import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Router } from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy, type IVerifyOptions } from 'passport-local';
import { z } from 'zod';
import { ForbiddenError, UnauthorizedError } from '../shared/errors';
import { wantsJson } from '../web/error-handler';
import { pageContext } from '../web/page-context';
import { csrfToken, verifyCsrf } from '../web/session';
import type { AdminAccounts, SignInResult } from './admin-accounts';
import { platformScope, readScope, type AdminScope, type PlatformKey } from './admin-scope';
import type { AdminSession } from './admin-session';
import type { AuditLog } from './audit-log';
import { createRateLimiter, rateLimit, type RateLimiter } from './rate-limiter';

/** Who is acting in the admin area: a password administrator or an LTI Administrator launch. */
export interface AdminActor {
  kind: 'password' | 'lti';
  /** For the audit log: the admin's email, or "lti:<user id>". */
  id: string;
  name: string;
  /** What this administrator may see and act on; every admin query carries it. */
  scope: AdminScope;
  /** The platform an LTI administrator launched from (audit entries of their own actions belong to it). */
  platform: PlatformKey | undefined;
}

/**
 * The one place an administrator's scope is derived: a password administrator's from their account
 * (refreshed on each admin request by `refreshAdminAccount`), an LTI Administrator launch's from the
 * platform it came from — its own platform only.
 */
export function adminActor(req: Request): AdminActor | undefined {
  const admin: AdminSession | undefined = req.session.admin;
  if (admin) return { kind: 'password', id: admin.email, name: admin.email, scope: readScope(admin.scope), platform: undefined };
  const launch = req.session.launch;
  if (launch?.view === 'admin') {
    const platform = { issuer: launch.issuer, clientId: launch.clientId };
    return { kind: 'lti', id: `lti:${launch.userId}`, name: launch.userName, scope: platformScope(platform), platform };
  }
  return undefined;
}

/** The header every admin page shows. */
export function adminHeader(req: Request): ReturnType<typeof pageContext> {
  const launch = req.session.launch;
  if (!req.session.admin && launch) return pageContext(launch);
  return { user: { name: req.session.admin?.email ?? '' }, course: undefined, roleLabel: 'Administrator' };
}

/** Only paths inside the admin area may be a post-sign-in destination (no open redirect). */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string') return '/admin';
  if (!/^\/admin(?:[/?]|$)/.test(value) || value.includes('//') || value.includes('\\') || value.length > 1000) return '/admin';
  if (value.startsWith('/admin/login') || value.startsWith('/admin/logout')) return '/admin';
  return value;
}

/**
 * Every admin page: a password administrator or an LTI launch with the admin view. Anyone else is sent
 * to the sign-in page, except an LTI learner or instructor session, which is refused (403).
 */
export const requireAdmin: RequestHandler = (req, res, next) => {
  if (adminActor(req)) {
    next();
    return;
  }
  if (req.session.launch) {
    next(new ForbiddenError('The administration pages are only for administrators.'));
    return;
  }
  if (wantsJson(req)) {
    next(new UnauthorizedError('Sign in as an administrator first.'));
    return;
  }
  if (req.method === 'GET' || req.method === 'HEAD') {
    res.redirect(302, `/admin/login?next=${encodeURIComponent(safeNext(req.originalUrl))}`);
    return;
  }
  res.redirect(303, '/admin/login');
};

/**
 * A password administrator's scope comes from the account on every admin request, so narrowing it
 * (`npm run admin -- scope`) takes effect at once and a removed account is signed out.
 */
export function refreshAdminAccount(accounts: AdminAccounts): RequestHandler {
  return (req, _res, next) => {
    const admin = req.session.admin;
    if (!admin) {
      next();
      return;
    }
    accounts
      .find(admin.email)
      .then((account) => {
        if (!account) delete req.session.admin;
        else if (JSON.stringify(account.scope) !== JSON.stringify(admin.scope))
          req.session.admin = { email: admin.email, scope: account.scope };
        next();
      })
      .catch(next);
  };
}

export const genericSignInError = 'The email address or password is not correct. Check both and try again.';

const loginBodySchema = z.object({ email: z.string().max(1000).optional(), next: z.string().optional() }).passthrough();

function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((error: unknown) => (error ? reject(error) : resolve())));
}

type VerifyInfo = IVerifyOptions & { result: Extract<SignInResult, { ok: false }> | undefined };

export interface AuthDeps {
  accounts: AdminAccounts;
  audit: AuditLog;
  /** 10 sign-in POSTs per IP per 15 minutes unless given. */
  loginLimiter?: RateLimiter;
}

/** GET/POST /admin/login and POST /admin/logout. */
export function adminAuthRoutes(deps: AuthDeps): Router {
  const router = Router();
  const limiter = deps.loginLimiter ?? createRateLimiter({ max: 10, windowMs: 15 * 60_000 });
  router.use('/admin', refreshAdminAccount(deps.accounts));
  // An instance of our own: several servers in one process (tests) must not share strategies.
  const authenticator = new passport.Passport();
  authenticator.use(
    new LocalStrategy({ usernameField: 'email', passwordField: 'password' }, (email, password, done) => {
      deps.accounts.verify(email, password).then(
        (result) => {
          if (result.ok) done(null, { email: result.account.email });
          else {
            const info: VerifyInfo = { message: genericSignInError, result };
            done(null, false, info);
          }
        },
        (error: unknown) => done(error),
      );
    }),
  );

  const renderLogin = (req: Request, res: Response, status: number, extra: Record<string, unknown> = {}): void => {
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).render('admin/login', {
      pageTitle: 'Administrator sign-in',
      csrf: csrfToken(req),
      next: safeNext(req.method === 'GET' ? req.query.next : (req.body as { next?: unknown } | undefined)?.next),
      ...extra,
    });
  };

  router.get('/admin/login', (req, res) => {
    if (adminActor(req)) {
      res.redirect(302, safeNext(req.query.next));
      return;
    }
    renderLogin(req, res, 200, { signedOut: req.query['signed-out'] === '1' });
  });

  router.post(
    '/admin/login',
    rateLimit(limiter, 'Too many sign-in attempts from your network. Wait 15 minutes and try again.'),
    verifyCsrf,
    (req: Request, res: Response, next: NextFunction) => {
      const body = loginBodySchema.safeParse(req.body ?? {});
      const typedEmail = body.success ? (body.data.email ?? '').trim().slice(0, 254) : '';
      const destination = safeNext(body.success ? body.data.next : undefined);
      const ip = req.ip;
      authenticator.authenticate('local', { session: false }, (error: unknown, user: AdminSession | false | undefined, info: unknown) => {
        if (error) {
          next(error);
          return;
        }
        void (async () => {
          if (!user) {
            const result = (info as Partial<VerifyInfo> | undefined)?.result;
            const who = result?.email ?? (typedEmail.toLowerCase() || 'unknown');
            const detail = result ? result.reason.replace('-', ' ') : 'missing email or password';
            await deps.audit.record({ actor: who, action: 'login.failure', detail, ip });
            if (result?.reason === 'locked-now') {
              await deps.audit.record({ actor: who, action: 'login.lockout', detail: 'locked for 15 minutes after 5 failed sign-ins', ip });
              req.log.warn({ admin: who }, 'admin account locked after repeated failed sign-ins');
            }
            renderLogin(req, res, 401, { error: genericSignInError, email: typedEmail });
            return;
          }
          await regenerate(req);
          req.session.admin = { email: user.email, scope: user.scope };
          await deps.audit.record({ actor: user.email, action: 'login.success', ip });
          req.log.info({ admin: user.email }, 'admin signed in');
          res.redirect(303, destination);
        })().catch(next);
      })(req, res, next);
    },
  );

  router.post('/admin/logout', verifyCsrf, (req, res, next) => {
    const actor = adminActor(req);
    void (async () => {
      if (actor) await deps.audit.record({ actor: actor.id, action: 'logout', platform: actor.platform, ip: req.ip });
      await regenerate(req);
      res.redirect(303, '/admin/login?signed-out=1');
    })().catch(next);
  });

  return router;
}
