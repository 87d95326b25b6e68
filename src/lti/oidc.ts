import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CookieOptions, NextFunction, Request, RequestHandler, Response } from 'express';
import { loginParamsSchema } from './entry-params';
import { LaunchRefusedError, type IdTokenValidator, type ValidatedLaunch } from './launch-validation';
import type { LoginAttempts } from './login-attempts';

/**
 * The OIDC third-party login and the id_token launch (LTI 1.3 Core §5.1, 1EdTech Security Framework §5.1.1),
 * owned by us instead of ltijs: ltijs ran its own express app per request (signed-cookie parsing, a session
 * validator, an ltik signed per launch, a state record written, read and deleted per launch) and had to be
 * patched at runtime to validate tokens our way. ltijs keeps the platform store and the tool's keys.
 *
 * Login: one write (the login attempt: state, the nonce we send, the parameters) and a state cookie naming
 * the issuer. Launch: the id_token validated (launch-validation.ts), which spends the login in one write.
 */

/** A registered platform as the login needs it. */
export interface LoginPlatform {
  clientId: string;
  active: boolean;
  authUrl: string;
}

export interface OidcDeps {
  /** The platform for an issuer and client id (cached), or null. */
  platform(issuer: string, clientId: string): Promise<LoginPlatform | null>;
  /** The platforms registered for an issuer (a login without client_id; the first one is used). */
  platformsOf(issuer: string): Promise<LoginPlatform[]>;
  loginAttempts: LoginAttempts;
  validate: IdTokenValidator;
  /** LTI_KEY: the state cookie's signing key is derived from it (as the launch tokens' key is). */
  ltiKey: string;
  secureCookies: boolean;
  /** For a launch without the state cookie: the login's issuer when the POST names an origin. */
  issuerWithoutCookie?: (state: string, origin: string | undefined) => Promise<string | undefined>;
  /** A validated launch; `res.locals.cookielessLaunch` is true when it came without the state cookie. */
  onLaunch(launch: ValidatedLaunch, req: Request, res: Response): Promise<void>;
  /** A refused login or launch: a code as in LaunchRefusal (INVALID_CLAIMS followed by its detail). */
  onRefused(code: string, req: Request, res: Response, next: NextFunction): void;
}

/** How long the browser keeps a login's state cookie: the platform answers a login within seconds. */
const stateCookieMaxAgeMs = 10 * 60_000;

const stateCookieName = (state: string): string => `state${state}`;

function sign(secret: Buffer, value: string): string {
  return `${value}.${createHmac('sha256', secret).update(value).digest('base64url')}`;
}

function unsign(secret: Buffer, signed: string | undefined): string | undefined {
  if (!signed) return undefined;
  const dot = signed.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const value = signed.slice(0, dot);
  const expected = Buffer.from(sign(secret, value));
  const given = Buffer.from(signed);
  return expected.length === given.length && timingSafeEqual(expected, given) ? value : undefined;
}

/** One cookie's value from the Cookie header (names here are `state` + hex, values URL-encoded by express). */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The redirect_uri sent to the platform: the target link without its query (as registered in the LMS). */
function redirectUriOf(targetLinkUri: string): string {
  const at = targetLinkUri.indexOf('?');
  return at === -1 ? targetLinkUri : targetLinkUri.slice(0, at);
}

export function createOidcHandlers(deps: OidcDeps): { login: RequestHandler; launch: RequestHandler } {
  const cookieKey = Buffer.from(hkdfSync('sha256', deps.ltiKey, 'coachlti', 'oidc-state-cookie v1', 32));
  const cookieOptions = (): CookieOptions => ({
    httpOnly: true,
    path: '/',
    secure: deps.secureCookies,
    // Inside the LMS iframe the cookie is third-party: SameSite=None and partitioned (CHIPS) when on https.
    sameSite: deps.secureCookies ? 'none' : 'lax',
    ...(deps.secureCookies ? { partitioned: true } : {}),
  });

  const login: RequestHandler = (req, res, next) => {
    const parsed = loginParamsSchema.safeParse({
      ...(req.query as Record<string, unknown>),
      ...((req.body as Record<string, unknown> | undefined) ?? {}),
    });
    // validateLoginRequest answered malformed logins before this handler.
    if (!parsed.success) {
      next(new Error('login parameters reached the login handler unchecked'));
      return;
    }
    const params = parsed.data;
    (async () => {
      const platform = params.client_id
        ? await deps.platform(params.iss, params.client_id)
        : ((await deps.platformsOf(params.iss))[0] ?? null);
      if (!platform) {
        deps.onRefused('UNREGISTERED_PLATFORM', req, res, next);
        return;
      }
      if (!platform.active) {
        deps.onRefused('PLATFORM_NOT_ACTIVATED', req, res, next);
        return;
      }
      const state = randomBytes(25).toString('hex');
      const nonce = randomBytes(24).toString('base64url');
      await deps.loginAttempts.record(state, nonce, params);
      const target = new URL(platform.authUrl);
      const query: Record<string, string | undefined> = {
        response_type: 'id_token',
        response_mode: 'form_post',
        id_token_signed_response_alg: 'RS256',
        scope: 'openid',
        client_id: params.client_id ?? platform.clientId,
        redirect_uri: redirectUriOf(params.target_link_uri),
        login_hint: params.login_hint,
        nonce,
        prompt: 'none',
        state,
        lti_message_hint: params.lti_message_hint,
        lti_deployment_id: params.lti_deployment_id,
      };
      for (const [name, value] of Object.entries(query)) if (value !== undefined) target.searchParams.set(name, value);
      res.cookie(stateCookieName(state), sign(cookieKey, params.iss), { ...cookieOptions(), maxAge: stateCookieMaxAgeMs });
      res.redirect(target.toString());
    })().catch(next);
  };

  const launch: RequestHandler = (req, res, next) => {
    const body = (req.body as { id_token?: string; state?: string } | undefined) ?? {};
    const state = body.state;
    if (state) res.clearCookie(stateCookieName(state), cookieOptions());
    if (!body.id_token) {
      deps.onRefused('NO_LTIK_OR_IDTOKEN_FOUND', req, res, next);
      return;
    }
    const idToken = body.id_token;
    (async () => {
      let issuer = state ? unsign(cookieKey, cookieValue(req.headers.cookie, stateCookieName(state))) : undefined;
      let cookieless = false;
      if (!issuer && state && deps.issuerWithoutCookie) {
        issuer = await deps.issuerWithoutCookie(state, req.get('origin'));
        cookieless = issuer !== undefined;
      }
      let validated: ValidatedLaunch;
      try {
        validated = await deps.validate(idToken, issuer, state);
      } catch (error) {
        if (error instanceof LaunchRefusedError) {
          deps.onRefused(error.message, req, res, next);
          return;
        }
        throw error;
      }
      if (cookieless) res.locals.cookielessLaunch = true;
      await deps.onLaunch(validated, req, res);
    })().catch(next);
  };

  return { login, launch };
}
