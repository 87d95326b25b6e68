import { Router, type Request, type Response } from 'express';
import { ServiceUnavailableError } from '../shared/errors';
import { asyncHandler } from '../web/async-handler';
import { wantsJson } from '../web/error-handler';
import { registerDynamically, registrationQuerySchema, type DynamicRegistrationDeps } from './dynamic-registration';
import { refusalView } from './launch-errors';
import type { LoginAttempts } from './login-attempts';
import type { LtiProvider } from './ltijs-adapter';
import { BadRequestError } from '../shared/errors';
import { canvasDeveloperKeyJson, type ToolUrls } from './tool-configuration';

export interface LtiRoutesDeps {
  provider: LtiProvider;
  loginAttempts: LoginAttempts;
  registration: DynamicRegistrationDeps;
  urls: ToolUrls;
  /** True once ltijs is connected to the database. */
  isReady(): boolean;
}

/** Renders a refused launch or login: status and text per reason, "open in a new window" for cookies. */
export function createRefusalRenderer(loginAttempts: LoginAttempts, urls: ToolUrls) {
  return function renderRefusal(code: string, req: Request, res: Response): void {
    const view = refusalView(code);
    req.log.warn({ code, status: view.status }, 'LTI request refused');
    const respond = (newWindowUrl?: string): void => {
      res.status(view.status);
      if (wantsJson(req)) {
        res.json({ error: { code, message: view.message } });
        return;
      }
      res.render('error', { pageTitle: view.title, title: view.title, message: view.message, code, status: view.status, newWindowUrl });
    };
    const state = typeof (req.body as { state?: unknown } | undefined)?.state === 'string' ? (req.body as { state: string }).state : undefined;
    if (code !== 'MISSING_VALIDATION_COOKIE' || !state) {
      respond();
      return;
    }
    loginAttempts
      .find(state)
      .then((params) => respond(params ? `${urls.login}?${new URLSearchParams(params as Record<string, string>).toString()}` : undefined))
      .catch(() => respond());
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
        throw new BadRequestError('Dynamic Registration needs an openid_configuration URL (and usually a registration_token) from the LMS.');
      }
      const outcome = await registerDynamically(deps.registration, parsed.data);
      res.render('lti/registered', { pageTitle: 'CoachLTI registered', ...outcome });
    }),
  );

  router.use('/lti', (req, res, next) => {
    if (!deps.isReady()) {
      next(new ServiceUnavailableError('CoachLTI is starting; try again in a minute.'));
      return;
    }
    if (req.path === '/login') {
      deps.loginAttempts.capture(req, res, () => deps.provider.app(req, res, next));
      return;
    }
    deps.provider.app(req, res, next);
  });
  return router;
}
