import { Router } from 'express';
import type express from 'express';
import type mongoose from 'mongoose';
import type pino from 'pino';
import { agsRoutes } from './ags';
import { createCore } from './core';
import { deepLinkingRoutes } from './deep-linking';
import { loadDeepLinks, loadGradebook } from './gradebook';
import { errorFormat, errorHandler, PlatformError } from './http';
import { authRoutes, startLaunch } from './oidc';
import { nrpsRoutes } from './nrps';
import { pageRoutes, returnRoutes } from './pages';
import { createRegistrar, registrationRoutes } from './registration';
import { directory } from './seed';
import { tokenRoutes } from './token';
import { shapes, type FaultPlan, type GradebookView, type LaunchInput, type LaunchRequest, type Shape, type StoredLink } from './types';

export type { FaultPlan, FaultTarget, GradebookView, LaunchInput, Shape, StoredLink } from './types';
export type { Directory } from './seed';
/** Stable seed ids (courses, users) for tests and benchmarks; needs no database. */
export const devPlatformDirectory = directory;

export interface DevPlatformDeps {
  /** The app's connection; the platform only uses devplatform_* collections and DevPlatform* models. */
  connection: mongoose.Connection;
  /** Tool base URL, e.g. http://localhost:3000 */
  toolUrl: string;
  /** Where this router is reachable from outside, e.g. http://localhost:3000/dev/platform */
  platformUrl: string;
  logger: pino.Logger;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
}

export interface DevPlatform {
  router: express.Router;
  /** Registers both platform shapes with the tool through Dynamic Registration if not yet registered (idempotent). */
  registerWithTool(): Promise<void>;
  stats: { jwksRequests(): number; tokenRequests(): Record<string, number>; reset(): void };
  faults: { set(plan: FaultPlan): void; clear(): void };
  /** Test knobs: AGS scopes a course grants (undefined: what the registration grants), page size cap. */
  knobs: { grantScopes(contextId: string, scopes: string[] | undefined): void; pageSize(max: number | undefined): void };
  startLaunch(input: LaunchInput): Promise<LaunchRequest>;
  signIdToken(shape: Shape, claims: Record<string, unknown>, opts?: { alg?: string; kid?: string; wrongKey?: boolean }): Promise<string>;
  registration(shape: Shape): Promise<{ issuer: string; clientId: string; deploymentId: string } | null>;
  gradebook(contextId: string): Promise<GradebookView>;
  deepLinks(contextId: string): Promise<StoredLink[]>;
}

/**
 * A real LTI 1.3 platform (two of them: Canvas-shaped and Moodle-shaped) for local trials, integration
 * tests and benchmarks. It talks to the tool only over HTTP, like an LMS would.
 */
export function createDevPlatform(deps: DevPlatformDeps): DevPlatform {
  // Launch-as-anyone with keys in the database: this must never be reachable in production.
  if (process.env.NODE_ENV === 'production') throw new Error('the development LTI platform must not run in production');
  const core = createCore(deps);
  const registerWithTool = createRegistrar(core);

  const router = Router();
  router.use((req, res, next) => {
    // Pages link to each other relative to wherever the host mounted us.
    res.locals.devplatformBase = req.baseUrl;
    next();
  });
  router.use(pageRoutes(core, registerWithTool));
  for (const shape of shapes) {
    const shapeRouter = Router();
    shapeRouter.get('/jwks', errorFormat('service'), (_req, res, next) => {
      core.stats.jwks += 1;
      core.keys
        .jwks(shape)
        .then((jwks) => res.set('Cache-Control', 'public, max-age=300').json(jwks))
        .catch(next);
    });
    shapeRouter.use(registrationRoutes(core, shape));
    shapeRouter.use(authRoutes(core, shape));
    shapeRouter.use(tokenRoutes(core, shape));
    shapeRouter.use(agsRoutes(core, shape));
    shapeRouter.use(nrpsRoutes(core, shape));
    shapeRouter.use(deepLinkingRoutes(core, shape));
    shapeRouter.use(returnRoutes(core, shape));
    shapeRouter.use(errorFormat('service'), (req, _res, next) => {
      next(new PlatformError(404, 'not_found', `There is nothing at ${req.method} ${req.baseUrl}${req.path}.`));
    });
    router.use(`/${shape}`, shapeRouter);
  }
  router.use(errorHandler(core.log));

  return {
    router,
    registerWithTool,
    stats: {
      jwksRequests: () => core.stats.jwks,
      tokenRequests: () => Object.fromEntries(core.stats.tokens),
      reset() {
        core.stats.jwks = 0;
        core.stats.tokens.clear();
      },
    },
    faults: { set: (plan) => core.faults.set(plan), clear: () => core.faults.clear() },
    knobs: {
      grantScopes(contextId, scopes) {
        if (scopes) core.knobs.grants.set(contextId, [...scopes]);
        else core.knobs.grants.delete(contextId);
      },
      pageSize(max) {
        core.knobs.maxPageSize = max;
      },
    },
    startLaunch: (input) => startLaunch(core, input),
    signIdToken: (shape, claims, opts) => core.keys.sign(shape, claims, opts),
    async registration(shape) {
      const registration = await core.registration(shape);
      return registration ? { issuer: core.urls.issuer(shape), clientId: registration._id, deploymentId: registration.deploymentId } : null;
    },
    gradebook: (contextId) => loadGradebook(core, contextId),
    deepLinks: (contextId) => loadDeepLinks(core, contextId),
  };
}
