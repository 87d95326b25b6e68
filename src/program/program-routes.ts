import { Router, type Request } from 'express';
import { z } from 'zod';
import { adminActor, adminHeader, requireAdmin } from '../admin/admin-auth';
import { navFor } from '../admin/admin-routes';
import { describeScope, platformLabel } from '../admin/admin-scope';
import type { Framework } from '../competencies/framework';
import type { ModuleFile } from '../curriculum/content-schema';
import { NotFoundError } from '../shared/errors';
import { toCsv } from '../standards/csv';
import { asyncHandler } from '../web/async-handler';
import { csrfToken } from '../web/session';
import { buildProgramReport } from './program-report';
import type { ProgramRepository } from './program-repository';
import { chartGeometry, presentProgram, programCsv, programTables } from './program-view';

export interface ProgramDeps {
  programs: ProgramRepository;
  framework: Framework;
  modules: readonly ModuleFile[];
}

const noCourse = 'There is no such course.';

/** ?course=<id>&course=<id>: up to 50 course ids; a malformed id is "no such course", as elsewhere in admin. */
const cohortQuery = z.object({
  course: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
    .pipe(z.array(z.string()).max(50)),
});
const objectId = /^[a-f0-9]{24}$/i;

function parseCohort(req: Request): string[] {
  const parsed = cohortQuery.safeParse(req.query);
  if (!parsed.success) throw new NotFoundError(noCourse);
  const ids = [...new Set(parsed.data.course.map((id) => id.toLowerCase()))];
  if (ids.some((id) => !objectId.test(id))) throw new NotFoundError(noCourse);
  return ids;
}

/**
 * The program dashboard (/admin/program): cohort = one or more LMS courses within the administrator's
 * platforms. Aggregates only (no named data), every one suppressed below 5 coaches; CSV per table.
 */
export function programRoutes(deps: ProgramDeps): Router {
  const router = Router();

  async function reportFor(req: Request) {
    const actor = adminActor(req)!;
    const ids = parseCohort(req);
    const [courses, cohort] = await Promise.all([deps.programs.listCourses(actor.scope), deps.programs.loadCohort(actor.scope, ids)]);
    // An id outside the scope is answered exactly like one that does not exist.
    if (cohort.courses.length !== ids.length) throw new NotFoundError(noCourse);
    const report = ids.length > 0 ? buildProgramReport({ framework: deps.framework, modules: deps.modules, cohort }) : undefined;
    return { actor, ids, courses, report };
  }

  router.get(
    '/admin/program',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const { actor, ids, courses, report } = await reportFor(req);
      const query = new URLSearchParams(ids.map((id): [string, string] => ['course', id])).toString();
      res.render('admin/program', {
        ...adminHeader(req),
        csrf: csrfToken(req),
        nav: navFor('/admin/program'),
        passwordAdmin: actor.kind === 'password',
        scopeText: describeScope(actor.scope),
        pageTitle: 'Program dashboard',
        courses: courses.map((c) => ({ id: c.id, title: c.title, platform: platformLabel(c), selected: ids.includes(c.id) })),
        chosen: courses.filter((c) => ids.includes(c.id)).map((c) => c.title),
        report: report ? presentProgram(report) : undefined,
        geometry: chartGeometry,
        csv: Object.fromEntries(programTables.map((t) => [t, `/admin/program/${t}.csv?${query}`])),
      });
    }),
  );

  router.get(
    '/admin/program/:table.csv',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const table = z.enum(programTables).safeParse(req.params.table);
      if (!table.success) throw new NotFoundError('There is no such table.');
      const { report } = await reportFor(req);
      if (!report) throw new NotFoundError('Choose at least one course.');
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="program-${table.data}.csv"`);
      res.send(toCsv(programCsv(report, table.data)));
    }),
  );
  return router;
}
