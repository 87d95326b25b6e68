import { Router, type Request } from 'express';
import { z } from 'zod';
import { adminActor, adminHeader, requireAdmin } from '../admin/admin-auth';
import { navFor } from '../admin/admin-routes';
import { describeScope, platformLabel } from '../admin/admin-scope';
import type { Framework } from '../competencies/framework';
import type { ModuleFile } from '../curriculum/content-schema';
import { BadRequestError, NotFoundError } from '../shared/errors';
import { toCsv } from '../standards/csv';
import { asyncHandler } from '../web/async-handler';
import { csrfToken } from '../web/session';
import { buildProgramReport, compareSections, latestInPeriod, levelSections, type Comparison } from './program-report';
import type { DateSource, ProgramCourse, ProgramRepository } from './program-repository';
import { chartGeometry, presentComparison, presentProgram, programCsv, programTables } from './program-view';
import { PdfUnavailableError, type PdfPrinter } from './report-pdf';

export interface ProgramDeps {
  programs: ProgramRepository;
  framework: Framework;
  modules: readonly ModuleFile[];
  pdf: PdfPrinter;
}

const noCourse = 'There is no such course.';
const objectId = /^[a-f0-9]{24}$/i;
const ids = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
  .pipe(z.array(z.string()).max(50));
/** A calendar date YYYY-MM-DD (UTC); an empty field is "not set". */
const day = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date written YYYY-MM-DD')
    .refine(
      (v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v),
      'is not a calendar date',
    )
    .optional(),
);

/**
 * The dashboard's query: the cohort (course=…), the course list's activity filter (activeFrom/activeTo), and an
 * optional comparison: two periods of the cohort's score history (firstFrom…secondTo) or a second cohort (versus=…).
 */
export const programQuery = z
  .object({
    course: ids,
    activeFrom: day,
    activeTo: day,
    /** A term name as the LMS sent it; empty = every term. */
    term: z.preprocess((v) => (v === '' ? undefined : v), z.string().max(120, 'is too long').optional()),
    compare: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['none', 'periods', 'cohorts']).default('none')),
    firstFrom: day,
    firstTo: day,
    secondFrom: day,
    secondTo: day,
    versus: ids,
  })
  .superRefine((q, ctx) => {
    const order = (from: string | undefined, to: string | undefined, path: string) => {
      if (from && to && from > to) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message: 'ends before it starts' });
    };
    order(q.activeFrom, q.activeTo, 'activeTo');
    if (q.compare === 'periods') {
      for (const key of ['firstFrom', 'firstTo', 'secondFrom', 'secondTo'] as const)
        if (!q[key]) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: 'is needed to compare two periods' });
      order(q.firstFrom, q.firstTo, 'firstTo');
      order(q.secondFrom, q.secondTo, 'secondTo');
    }
    if (q.compare === 'cohorts' && q.versus.length === 0)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['versus'], message: 'choose at least one course to compare with' });
  });
export type ProgramQuery = z.infer<typeof programQuery>;

const fieldNames: Record<string, string> = {
  activeFrom: 'Active from',
  activeTo: 'Active until',
  term: 'Term',
  firstFrom: 'First period from',
  firstTo: 'First period until',
  secondFrom: 'Second period from',
  secondTo: 'Second period until',
  versus: 'Compare with',
  compare: 'Compare',
  course: 'Cohort',
};

function parseQuery(req: Request): ProgramQuery {
  const parsed = programQuery.safeParse(req.query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0] ?? '');
    // A malformed course list reads as "no such course", as elsewhere in admin; a missing comparison cohort is a 400.
    const courseList = field === 'course' || field === 'versus';
    if (courseList && issue.code !== z.ZodIssueCode.custom) throw new NotFoundError(noCourse);
    throw new BadRequestError(`${fieldNames[field] ?? field}: ${issue.message}.`);
  }
  const q = parsed.data;
  const norm = (list: string[]) => {
    const out = [...new Set(list.map((id) => id.toLowerCase()))];
    if (out.some((id) => !objectId.test(id))) throw new NotFoundError(noCourse);
    return out;
  };
  return { ...q, course: norm(q.course), versus: norm(q.versus) };
}

const startOf = (d: string): Date => new Date(`${d}T00:00:00.000Z`);
const endOf = (d: string): Date => new Date(`${d}T23:59:59.999Z`);
const dayOf = (d: Date | undefined): string => (d ? d.toISOString().slice(0, 10) : '?');
const sourceText: Record<DateSource, string> = { term: 'term', course: 'course', activity: 'activity' };

/** "active 2026-01-10 – 2026-06-20" (launches only) or "2026-01-12 – 2026-06-30 (term dates)". */
export function periodText(c: ProgramCourse): string {
  const span = `${dayOf(c.start)} – ${dayOf(c.end)}`;
  if (c.startFrom === 'activity' && c.endFrom === 'activity') return `active ${span}`;
  const from = c.startFrom === c.endFrom ? sourceText[c.startFrom] : `${sourceText[c.startFrom]}/${sourceText[c.endFrom]}`;
  return `${span} (${from} dates)`;
}

/** The query string that reproduces a view (for CSV links, the report and the PDF). */
function queryString(q: ProgramQuery): string {
  const params = new URLSearchParams();
  for (const id of q.course) params.append('course', id);
  for (const key of ['activeFrom', 'activeTo', 'term'] as const) if (q[key]) params.append(key, q[key]);
  if (q.compare !== 'none') params.append('compare', q.compare);
  if (q.compare === 'periods')
    for (const key of ['firstFrom', 'firstTo', 'secondFrom', 'secondTo'] as const) params.append(key, q[key] ?? '');
  if (q.compare === 'cohorts') for (const id of q.versus) params.append('versus', id);
  return params.toString();
}

/**
 * The program dashboard (/admin/program): cohort = one or more LMS courses within the administrator's
 * platforms. Aggregates only (no named data), every one suppressed below 5 coaches; CSV per table, a printable
 * one-page report and its PDF.
 */
export function programRoutes(deps: ProgramDeps): Router {
  const router = Router();

  async function reportFor(req: Request) {
    const actor = adminActor(req)!;
    const query = parseQuery(req);
    const ids = query.course;
    const [courses, cohort, terms] = await Promise.all([
      deps.programs.listCourses(actor.scope, {
        activeFrom: query.activeFrom ? startOf(query.activeFrom) : undefined,
        activeTo: query.activeTo ? endOf(query.activeTo) : undefined,
        term: query.term,
      }),
      deps.programs.loadCohort(actor.scope, ids),
      deps.programs.listTerms(actor.scope),
    ]);
    // An id outside the scope is answered exactly like one that does not exist.
    if (cohort.courses.length !== ids.length) throw new NotFoundError(noCourse);
    const report = ids.length > 0 ? buildProgramReport({ framework: deps.framework, modules: deps.modules, cohort }) : undefined;
    const courseIds = cohort.courses.map((c) => c.id);
    let comparison: Comparison | undefined;
    if (report && query.compare === 'periods') {
      const period = async (from: string, to: string) =>
        levelSections({
          framework: deps.framework,
          courseIds,
          coachCount: report.coachCount,
          snapshots: latestInPeriod(await deps.programs.loadScoreHistory(actor.scope, ids, startOf(from), endOf(to))),
        });
      const [first, second] = await Promise.all([period(query.firstFrom!, query.firstTo!), period(query.secondFrom!, query.secondTo!)]);
      comparison = compareSections(first, second, {
        first: `${query.firstFrom} – ${query.firstTo}`,
        second: `${query.secondFrom} – ${query.secondTo}`,
      });
    }
    if (report && query.compare === 'cohorts') {
      const other = await deps.programs.loadCohort(actor.scope, query.versus);
      if (other.courses.length !== query.versus.length) throw new NotFoundError(noCourse);
      const otherReport = buildProgramReport({ framework: deps.framework, modules: deps.modules, cohort: other });
      comparison = compareSections(report, otherReport, {
        first: cohort.courses.map((c) => c.title).join(' + '),
        second: other.courses.map((c) => c.title).join(' + '),
      });
    }
    return { actor, query, courses, cohort, terms, report, comparison };
  }

  function pageModel(req: Request, data: Awaited<ReturnType<typeof reportFor>>) {
    const { actor, query, courses, cohort, terms, report, comparison } = data;
    const qs = queryString(query);
    const chosenIds = new Set(query.course);
    const versusIds = new Set(query.versus);
    const option = (c: (typeof courses)[number], selected: boolean) => ({
      id: c.id,
      label: `${c.title} (${platformLabel(c)}; ${c.termName ? `${c.termName}; ` : ''}${periodText(c)})`,
      selected,
    });
    // A chosen course stays listed even when the activity filter would hide it, so the form keeps the choice.
    const listed = [...courses, ...cohort.courses.filter((c) => !courses.some((x) => x.id === c.id))];
    return {
      ...adminHeader(req),
      csrf: csrfToken(req),
      nav: navFor('/admin/program'),
      passwordAdmin: actor.kind === 'password',
      scopeText: describeScope(actor.scope),
      pageTitle: 'Program dashboard',
      courses: listed.map((c) => option(c, chosenIds.has(c.id))),
      versusCourses: listed.map((c) => option(c, versusIds.has(c.id))),
      filters: {
        activeFrom: query.activeFrom ?? '',
        activeTo: query.activeTo ?? '',
        term: query.term ?? '',
        firstFrom: query.firstFrom ?? '',
        firstTo: query.firstTo ?? '',
        secondFrom: query.secondFrom ?? '',
        secondTo: query.secondTo ?? '',
        none: query.compare === 'none',
        periods: query.compare === 'periods',
        cohorts: query.compare === 'cohorts',
      },
      // A term no course on the platforms has any more stays offered while it is chosen.
      terms: [...new Set([...terms, ...(query.term ? [query.term] : [])])].map((t) => ({ name: t, selected: t === query.term })),
      chosen: cohort.courses.map((c) => c.title),
      chosenCourses: cohort.courses.map((c) => ({ title: c.title, term: c.termName ?? '', period: periodText(c) })),
      report: report ? presentProgram(report) : undefined,
      comparison: comparison ? presentComparison(comparison) : undefined,
      geometry: chartGeometry,
      csv: Object.fromEntries(programTables.map((t) => [t, `/admin/program/${t}.csv?${qs}`])),
      reportUrl: `/admin/program/report?${qs}`,
      pdfUrl: `/admin/program/report.pdf?${qs}`,
      dashboardUrl: `/admin/program?${qs}`,
      generatedAt: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    };
  }

  router.get(
    '/admin/program',
    requireAdmin,
    asyncHandler(async (req, res) => {
      res.render('admin/program', pageModel(req, await reportFor(req)));
    }),
  );

  async function reportHtml(req: Request): Promise<{ html: string; model: ReturnType<typeof pageModel> }> {
    const data = await reportFor(req);
    if (!data.report) throw new NotFoundError('Choose at least one course.');
    const model = pageModel(req, data);
    const html = await new Promise<string>((resolve, reject) =>
      req.app.render('admin/program-report', { ...model, layout: false }, (error, out) => (error ? reject(error) : resolve(out))),
    );
    return { html, model };
  }

  router.get(
    '/admin/program/report',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const { html } = await reportHtml(req);
      res.type('html').send(html);
    }),
  );

  router.get(
    '/admin/program/report.pdf',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const { html, model } = await reportHtml(req);
      try {
        const pdf = await deps.pdf.print(html);
        res.setHeader('Content-Type', 'application/pdf');
        res.setHeader('Content-Disposition', 'attachment; filename="program-report.pdf"');
        res.send(pdf);
      } catch (error) {
        if (!(error instanceof PdfUnavailableError)) throw error;
        res.status(503).render('admin/program-pdf-unavailable', {
          ...model,
          pageTitle: 'PDF unavailable',
          reason: deps.pdf.executable
            ? 'Chromium could not print the report.'
            : 'No Chromium is installed on this server (set CHROMIUM_PATH).',
        });
      }
    }),
  );

  router.get(
    '/admin/program/:table.csv',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const table = z.enum(programTables).safeParse(req.params.table);
      if (!table.success) throw new NotFoundError('There is no such table.');
      const { report, comparison } = await reportFor(req);
      if (!report) throw new NotFoundError('Choose at least one course.');
      if (table.data === 'comparison' && !comparison) throw new BadRequestError('Compare: choose two periods or a second cohort first.');
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="program-${table.data}.csv"`);
      res.send(toCsv(programCsv(report, table.data, comparison)));
    }),
  );
  return router;
}
