import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ServiceUnavailableError } from '../shared/errors';
import { asyncHandler } from '../web/async-handler';
import { registerDynamically, registrationQuerySchema, type DynamicRegistrationDeps } from './dynamic-registration';
import { hasNoLoginParams, LoginInitiationOnlyError, validateLaunchRequest, validateLoginRequest } from './entry-params';
import { LaunchRefusal, LaunchWithoutTokenError } from './launch-errors';
import type { LoginAttempts } from './login-attempts';
import type { LtiProvider } from './ltijs-adapter';
import { BadRequestError } from '../shared/errors';
import { canvasDeveloperKeyJson, type ToolUrls } from './tool-configuration';

export interface LtiRoutesDeps {
  provider: LtiProvider;
  /** OIDC login initiation and id_token launch (oidc.ts). */
  oidc: { login: RequestHandler; launch: RequestHandler };
  registration: DynamicRegistrationDeps;
  urls: ToolUrls;
  /** True once ltijs is connected to the database. */
  isReady(): boolean;
}

/** Turns a refused login or launch into a LaunchRefusal (or a launch without a token) for the error handler. */
export function createRefusalHandler(loginAttempts: LoginAttempts, urls: ToolUrls) {
  return function onRefused(code: string, req: Request, _res: Response, next: NextFunction): void {
    req.log.warn({ code }, 'LTI request refused');
    const state =
      typeof (req.body as { state?: unknown } | undefined)?.state === 'string' ? (req.body as { state: string }).state : undefined;
    if (code === 'NO_LTIK_OR_IDTOKEN_FOUND') {
      next(new LaunchWithoutTokenError(urls.launch));
      return;
    }
    if (code !== 'MISSING_VALIDATION_COOKIE' || !state) {
      next(new LaunchRefusal(code));
      return;
    }
    loginAttempts
      .find(state)
      .then((params) =>
        next(
          new LaunchRefusal(code, params ? `${urls.login}?${new URLSearchParams(params as Record<string, string>).toString()}` : undefined),
        ),
      )
      .catch(() => next(new LaunchRefusal(code)));
  };
}

export function ltiRoutes(deps: LtiRoutesDeps): Router {
  const router = Router();

  router.get('/lti/canvas.json', (_req, res) => {
    res.json(canvasDeveloperKeyJson(deps.urls));
  });

  router.get(
    '/lti/register',
    asyncHandler(async (req, res) => {
      if (!deps.isReady()) throw new ServiceUnavailableError('CoachLTI is starting; try the registration again in a minute.');
      const parsed = registrationQuerySchema.safeParse(req.query);
      if (!parsed.success) {
        throw new BadRequestError(
          'Dynamic Registration needs an openid_configuration URL (and usually a registration_token) from the LMS.',
        );
      }
      const outcome = await registerDynamically(deps.registration, parsed.data);
      res.setHeader('Cache-Control', 'no-store');
      res.render('lti/registered', {
        pageTitle: outcome.kind === 'pending' ? 'CoachLTI registration awaits approval' : 'CoachLTI registered',
        ...outcome,
        pending: outcome.kind === 'pending',
      });
    }),
  );

  router.use('/lti', (req, res, next) => {
    if (!deps.isReady()) {
      next(new ServiceUnavailableError('CoachLTI is starting; try again in a minute.'));
      return;
    }
    // Every body under /lti is checked; express matches paths ignoring case.
    validateLaunchRequest(req, res, (bodyError?: unknown) => {
      if (bodyError) {
        next(bodyError);
        return;
      }
      const path = req.path.toLowerCase().replace(/\/+$/, '');
      if (path === '/login') {
        if (hasNoLoginParams(req)) {
          next(new LoginInitiationOnlyError(deps.urls.login));
          return;
        }
        validateLoginRequest(req, res, (error?: unknown) => {
          if (error) next(error);
          else deps.oidc.login(req, res, next);
        });
        return;
      }
      if (path === '/launch') {
        deps.oidc.launch(req, res, next);
        return;
      }
      if (path === '/keys' && req.method === 'GET') {
        deps.provider
          .keySet()
          .then((keys) => res.json(keys))
          .catch(next);
        return;
      }
      next();
    });
  });
  return router;
}
