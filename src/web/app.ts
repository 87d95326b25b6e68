import { randomUUID } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import express, { type Express, type RequestHandler, type Router } from 'express';
import { create } from 'express-handlebars';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { Config } from '../config/config';
import type { Logger } from '../shared/logger';
import { redactUrl } from '../shared/logger';
import { fromRoot } from '../shared/paths';
import { UnsupportedMediaTypeError } from '../shared/errors';
import { errorHandler, notFoundHandler } from './error-handler';
import { frontDoor } from './front-door';
import { healthRoutes, type Readiness } from './health-routes';
import { viewHelpers } from './view-helpers';

export interface AppDeps {
  config: Config;
  logger: Logger;
  readiness: Readiness;
  /** Run for every page and LTI request after health checks and static files (e.g. the session). */
  middleware?: RequestHandler[];
  /** Feature routers, mounted in order after the basics. */
  routers: Router[];
}

/** Launch messages and forms are small; anything larger is refused with 413 before any work. */
export const bodyLimit = '100kb';

const requestIdPattern = /^[A-Za-z0-9._-]{1,100}$/;

const formType = 'application/x-www-form-urlencoded';

const refuseUnsupportedBodies: RequestHandler = (req, _res, next) => {
  if (req.path.startsWith('/dev/platform/')) {
    next();
    return;
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') {
    next(new UnsupportedMediaTypeError(`Compressed request bodies (${encoding.slice(0, 40)}) are not accepted.`));
    return;
  }
  if (!hasBody(req)) {
    next();
    return;
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== formType) {
    next(
      new UnsupportedMediaTypeError(
        `CoachLTI accepts form submissions (${formType}) here, not ${type ? type.slice(0, 60) : 'a body without a type'}.`,
      ),
    );
    return;
  }
  next();
};

function hasBody(req: { headers: Record<string, string | string[] | undefined> }): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
  );
}

/** Cache resets of every app of this process, run when a template changes (development only). */
const viewCacheResets = new Set<() => void>();
let viewWatcher: FSWatcher | undefined;

function resetViewCachesOnEdit(reset: () => void): void {
  viewCacheResets.add(reset);
  if (viewWatcher) return;
  try {
    viewWatcher = watch(fromRoot('views'), { recursive: true, persistent: false }, () => {
      for (const r of viewCacheResets) r();
    });
  } catch {
    // No file watching here: templates stay cached until a restart.
  }
}

/** Builds the express app. Does not listen and does not connect: main and tests do that. */
export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Query values are strings or lists of strings, never objects: `iss[$regex]=.` stays a key named so.
  app.set('query parser', 'simple');
  // Behind a TLS-terminating proxy in production; needed for secure cookies and req.protocol.
  app.set('trust proxy', deps.config.isProduction ? 1 : false);

  const handlebars = create({
    extname: '.hbs',
    defaultLayout: 'main',
    layoutsDir: fromRoot('views', 'layouts'),
    partialsDir: fromRoot('views', 'partials'),
    helpers: viewHelpers,
  });
  app.engine('hbs', handlebars.engine);
  app.set('view engine', 'hbs');
  app.set('views', fromRoot('views'));
  // Express caches views only in production; without it every render re-reads, re-globs and recompiles the
  // templates (≈ 14 % of a launch's CPU). In development an edited template clears the caches.
  app.enable('view cache');
  if (deps.config.env === 'development') {
    resetViewCachesOnEdit(() => {
      handlebars.resetCache();
      handlebars.compiled = {};
      handlebars.precompiled = {};
      (app as unknown as { cache: Record<string, unknown> }).cache = {};
    });
  }

  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: redactUrl(req.url) }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    }),
  );

  app.use(
    helmet({
      // The tool lives inside LMS iframes: framing is governed by CSP frame-ancestors (below), not X-Frame-Options.
      frameguard: false,
      crossOriginOpenerPolicy: false,
      contentSecurityPolicy: false,
      hsts: deps.config.secureCookies,
    }),
  );

  const contentSecurity = helmet.contentSecurityPolicy({
    directives: {
      // Set per request by the frame policy (the LMS origins of this launch); 'self' until then.
      'frame-ancestors': [
        (_req, res) => ((res as unknown as { locals: { frameAncestors?: string[] } }).locals.frameAncestors ?? ["'self'"]).join(' '),
      ],
      'form-action': ["'self'", 'https:', 'http:'],
      'img-src': ["'self'", 'data:'],
      'upgrade-insecure-requests': deps.config.secureCookies ? [] : null,
    },
  });
  app.use(contentSecurity);
  // Browsers ask for /favicon.ico whatever the page links: answer with the SVG instead of a 404.
  app.get('/favicon.ico', (_req, res) => {
    res.type('image/svg+xml').setHeader('Cache-Control', 'public, max-age=86400');
    res.sendFile(fromRoot('src', 'web', 'public', 'favicon.svg'));
  });
  app.use('/static', express.static(fromRoot('src', 'web', 'public'), { maxAge: deps.config.isProduction ? '1h' : 0 }));
  app.use(healthRoutes(deps.readiness));
  // The tool's own routes take HTML forms only (LTI messages are form posts too); the test platform under
  // /dev/platform parses its own bodies. Anything else is refused before any work.
  app.use(refuseUnsupportedBodies);
  app.use(express.urlencoded({ extended: false, limit: bodyLimit, parameterLimit: 200 }));
  for (const middleware of deps.middleware ?? []) app.use(middleware);
  // Again once the session is known: the frame policy may have widened frame-ancestors to this launch's LMS.
  app.use(contentSecurity);
  app.get('/', (_req, res) => {
    res.render('home', frontDoor(deps.config));
  });
  for (const router of deps.routers) app.use(router);

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
