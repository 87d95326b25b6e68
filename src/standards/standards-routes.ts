import { Router } from 'express';
import { z } from 'zod';
import type { FrameworkData } from '../competencies/framework-schema';
import { NotFoundError } from '../shared/errors';
import { buildCasePackage, caseCollections, casePathPrefix, indexCasePackage } from './case-package';
import { exportFramework } from './framework-export';
import type { FrameworkVersions } from './framework-versions';

const caseObjectParams = z.object({ collection: z.enum(caseCollections), id: z.string().uuid() });

/**
 * The framework in standard formats: the CASE 1.1 package, every CASE object at its own URI (the URIs
 * inside the package resolve here), Canvas and Moodle CSVs, and the version crosswalk. Public, like
 * /api/competencies: the framework is not personal data.
 */
export function standardsRoutes(deps: { framework: FrameworkData; versions: FrameworkVersions; baseUrl: string }): Router {
  const router = Router();
  const casePackage = buildCasePackage(deps);
  const caseIndex = indexCasePackage(casePackage);

  router.get('/api/framework/case', (_req, res) => {
    res.json(casePackage);
  });
  router.get(`${casePathPrefix}/:collection/:id`, (req, res) => {
    const params = caseObjectParams.safeParse(req.params);
    const found = params.success ? caseIndex.get(`${params.data.collection}/${params.data.id.toLowerCase()}`) : undefined;
    if (found === undefined) throw new NotFoundError(`There is no CASE object at ${req.path}.`);
    res.json(found);
  });
  for (const format of ['canvas', 'moodle'] as const) {
    router.get(`/api/framework/${format}.csv`, (_req, res) => {
      const file = exportFramework(deps, format);
      res.type(file.contentType).attachment(file.filename).send(file.body);
    });
  }
  router.get('/api/framework/versions', (_req, res) => {
    res.json(deps.versions);
  });
  return router;
}
