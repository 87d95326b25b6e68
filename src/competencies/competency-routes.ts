import { Router } from 'express';
import { asyncHandler } from '../web/async-handler';
import type { CompetencyRepository } from './competency-repository';
import { presentFramework } from './competency-presenter';

export function competencyRoutes(deps: { competencies: CompetencyRepository }): Router {
  const router = Router();
  router.get(
    '/api/competencies',
    asyncHandler(async (_req, res) => {
      const framework = await deps.competencies.loadFramework();
      res.json(presentFramework(framework));
    }),
  );
  // The same framework as a page people can read (the home page links it).
  router.get(
    '/framework',
    asyncHandler(async (_req, res) => {
      const framework = presentFramework(await deps.competencies.loadFramework());
      res.render('framework', { pageTitle: 'The 13 coaching competencies', domains: framework.domains });
    }),
  );
  return router;
}
