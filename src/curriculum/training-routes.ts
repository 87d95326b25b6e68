import { Router } from 'express';
import { z } from 'zod';
import { NotFoundError } from '../shared/errors';
import { pageContext } from '../web/page-context';
import { requireLaunch } from '../web/session';
import type { Catalog } from './catalog';

const moduleParamsSchema = z.object({ moduleId: z.string().regex(/^M\d{2}$/) });

/** The coach's pages: "My training" and a module's overview. */
export function trainingRoutes(deps: { catalog: Catalog }): Router {
  const router = Router();
  router.get('/training', requireLaunch(), (req, res) => {
    const launch = req.session.launch!;
    res.render('curriculum/training', { pageTitle: 'My training', ...pageContext(launch), modules: deps.catalog.list() });
  });
  router.get('/modules/:moduleId', requireLaunch(), (req, res, next) => {
    const parsed = moduleParamsSchema.safeParse(req.params);
    const module = parsed.success ? deps.catalog.module(parsed.data.moduleId) : undefined;
    const summary = parsed.success ? deps.catalog.get(parsed.data.moduleId) : undefined;
    if (!module || !summary) {
      next(new NotFoundError('There is no such module.'));
      return;
    }
    res.render('curriculum/module-overview', {
      pageTitle: module.title,
      ...pageContext(req.session.launch!),
      module: { ...summary, objectives: module.objectives.map((o) => o.text), sections: module.sections.map((s) => s.title) },
    });
  });
  return router;
}
