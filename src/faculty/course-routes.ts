import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { platformScope } from '../admin/admin-scope';
import type { CompetencyRepository } from '../competencies/competency-repository';
import { allCompetencies, type Framework } from '../competencies/framework';
import type { CourseRecord } from '../courses/launch-records';
import { effectiveAssignments, type AssignmentStore, type ModuleAssignment } from './assignments';
import {
  badgeLabel as overviewBadgeLabel,
  buildOverview,
  overviewCsv,
  overviewQuery,
  progressLabel,
  selectRows,
  type OverviewQuery,
} from './course-overview';
import type { LaunchRecords } from '../courses/launch-records';
import type { Catalog } from '../curriculum/catalog';
import type { AuditLog } from '../admin/audit-log';
import type { AssessmentService } from '../assessment/assessment-service';
import type { CourseGradingSettings } from '../grading/course-settings';
import type { LineItemService } from '../grading/line-items';
import type { GradingAdmin } from '../grading/grading-admin';
import type { RosterService } from '../lti/nrps';
import { PlatformRequestError, ScopeNotGrantedError, scopes } from '../lti/platform-client';
import { BadRequestError, ForbiddenError, NotFoundError } from '../shared/errors';
import { asyncHandler } from '../web/async-handler';
import { pageContext } from '../web/page-context';
import { messagesByField, type FieldError } from '../web/form-errors';
import { formatScore } from '../shared/format';
import { csrfToken, requireLaunch, verifyCsrf, type LaunchSession } from '../web/session';

const dateText = (d: Date | undefined) => (d ? d.toISOString().slice(0, 10) : undefined);

/** Query string for a link that changes some of the current sort/filter values. */
function linkWith(q: OverviewQuery, change: Partial<Record<keyof OverviewQuery, string | undefined>>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...q, ...change })) if (v !== undefined && v !== '') params.set(k, String(v));
  return params.toString();
}

/** View model of the heatmap: plain strings and flags only. */
function presentOverview(
  framework: Framework,
  overview: { rows: ReturnType<typeof buildOverview>; problem: string | undefined; awaiting: number },
  q: OverviewQuery,
) {
  const rows = selectRows(overview.rows, q);
  const sortLink = (key: string) => `/course?${linkWith(q, { sort: key, dir: q.sort === key && q.dir === 'asc' ? 'desc' : 'asc' })}`;
  const ariaSort = (key: string) => (q.sort === key ? (q.dir === 'asc' ? 'ascending' : 'descending') : undefined);
  return {
    query: q,
    csvUrl: `/course/overview.csv?${linkWith(q, {})}`,
    rosterProblem: overview.problem,
    awaiting: overview.awaiting,
    total: overview.rows.length,
    shown: rows.length,
    filtered: rows.length !== overview.rows.length,
    sorts: {
      name: { url: sortLink('name'), aria: ariaSort('name') },
      activity: { url: sortLink('activity'), aria: ariaSort('activity') },
      waiting: { url: sortLink('waiting'), aria: ariaSort('waiting') },
      progress: { url: sortLink('progress'), aria: ariaSort('progress') },
    },
    domains: framework.domains.map((d) => ({
      id: d.id,
      name: d.name,
      span: d.competencies.length + 1,
      competencies: d.competencies.map((c) => ({ id: c.id, name: c.name, sortUrl: sortLink(c.id), aria: ariaSort(c.id) })),
    })),
    competencyOptions: allCompetencies(framework).map((c) => ({ id: c.id, name: c.name, selected: q.competency === c.id })),
    levelOptions: (['novice', 'developing', 'proficient', 'expert', 'insufficient', 'not-started'] as const).map((l) => ({
      value: l,
      label: {
        novice: 'Novice',
        developing: 'Developing',
        proficient: 'Proficient',
        expert: 'Expert',
        insufficient: 'Insufficient evidence',
        'not-started': 'Not started',
      }[l],
      selected: q.level === l,
    })),
    progressOptions: (['not-started', 'in-progress', 'done'] as const).map((p) => ({
      value: p,
      label: progressLabel[p],
      selected: q.progress === p,
    })),
    rows: rows.map((r) => ({
      name: r.name,
      url: r.userId ? `/course/coaches/${r.userId}` : undefined,
      launched: r.launched,
      inactive: r.rosterStatus === 'Inactive',
      badge: r.badge,
      badgeLabel: overviewBadgeLabel[r.badge],
      badgeReason: r.badgeReason,
      progress: progressLabel[r.progress],
      modulesDone: r.modulesDone,
      modulesInProgress: r.modulesInProgress,
      overdue: r.overdue.length,
      overdueTitles: r.overdue.join(', '),
      moduleCount: r.modules.length,
      modules: r.modules.map((m) => ({
        title: m.title,
        state: progressLabel[m.state],
        started: dateText(m.startedAt),
        completed: dateText(m.completedAt),
        due: dateText(m.dueAt),
        overdue: m.overdue,
      })),
      lastActivity: dateText(r.lastActivity),
      lastActivityIso: r.lastActivity?.toISOString(),
      waiting: r.ratingsWaiting,
      groups: framework.domains.map((d, i) => ({
        cells: r.cells
          .filter((c) => d.competencies.some((k) => k.id === c.competencyId))
          .map((c) => ({
            id: c.competencyId,
            state: c.state,
            label: c.label,
            score: c.score === undefined ? undefined : formatScore(c.score),
            note: c.note,
          })),
        summary: { ...r.domains[i]!, mean: r.domains[i]!.mean === undefined ? undefined : formatScore(r.domains[i]!.mean!) },
      })),
    })),
  };
}

/** Faculty act within their own platform and course only. */
const launchScope = (launch: LaunchSession) => platformScope({ issuer: launch.issuer, clientId: launch.clientId });
const competencyId = z.string().regex(/^C\d+\.\d+$/);
const removeBody = z.object({
  remove: z.union([competencyId, z.array(competencyId)]).transform((v) => (Array.isArray(v) ? v : [v])),
});

const settingsBody = z.object({
  sync: z
    .union([z.string().regex(/^C\d+\.\d+$/), z.array(z.string().regex(/^C\d+\.\d+$/))])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
});

/** The faculty course dashboard: learners with their passback badge, resync, columns to sync, roster (NRPS). */
export function courseRoutes(deps: {
  records: LaunchRecords;
  roster: RosterService;
  catalog: Catalog;
  grading: GradingAdmin;
  settings: CourseGradingSettings;
  competencies: CompetencyRepository;
  /** Backfill of a column switched on (recompute per learner, only what the LMS lacks is queued). */
  assessment: Pick<AssessmentService, 'recompute' | 'courseProgress' | 'reflectionsForCourse'>;
  lineItems: Pick<LineItemService, 'known' | 'remove'>;
  audit: Pick<AuditLog, 'record'>;
  assignments: AssignmentStore;
}): Router {
  const router = Router();
  const gate = requireLaunch('instructor', 'admin');
  /** Settings (resync, columns) are the instructors' and administrators': teaching assistants rate and observe only. */
  const manage = [
    gate,
    (req: Request, _res: Response, next: NextFunction) =>
      next(
        req.session.launch?.teachingAssistant
          ? new ForbiddenError('Teaching assistants can rate and observe, but course settings are changed by an instructor.')
          : undefined,
      ),
  ];
  async function auditFaculty(
    req: Request,
    action: 'passback.resync' | 'faculty.grading-settings' | 'passback.remove-columns' | 'faculty.assignments',
    course: CourseRecord,
    detail: string,
    count?: number,
  ) {
    const launch = req.session.launch!;
    await deps.audit.record({
      actor: `lti:${launch.userId}`,
      action,
      count,
      courseId: course.id,
      platform: { issuer: launch.issuer, clientId: launch.clientId },
      detail: `${launch.userName} in ${course.title}: ${detail}`,
      ip: req.ip,
    });
  }

  async function courseOf(courseId: string | undefined) {
    const course = courseId ? await deps.records.findCourse(courseId) : null;
    if (!course) throw new NotFoundError('This launch did not come from a course.');
    return course;
  }

  /** Every input of the overview, gathered in parallel; the roster failing leaves the coaches who launched. */
  async function overviewOf(course: CourseRecord, framework: Framework) {
    const rosterRead = deps.roster.roster(course).then(
      (members) => ({ members: members.filter((m) => m.roles.includes('Learner')), problem: undefined }),
      (error: unknown) => {
        if (!(error instanceof PlatformRequestError || error instanceof ScopeNotGrantedError)) throw error;
        return {
          members: undefined,
          problem: `The LMS did not return the roster (${error.message}); coaches who never opened CoachLTI are missing.`,
        };
      },
    );
    const [roster, learners, badges, progress, links, stored] = await Promise.all([
      course.membershipsUrl ? rosterRead : Promise.resolve({ members: undefined, problem: undefined }),
      deps.records.listLearners(course.id),
      deps.grading.courseBadges(course.id),
      deps.assessment.courseProgress(course.id),
      deps.records.listModuleLinks(course.id),
      deps.assignments.find(course.id),
    ]);
    // Ratings waiting come from the attempts already read (no second read of every reflection text).
    const waitingByUser = new Map<string, number>();
    for (const a of progress.attempts)
      if (a.status === 'completed')
        for (const x of a.answers)
          if (x.kind === 'reflection' && !(x.facultyLevel && x.facultyRatedBy))
            waitingByUser.set(a.userId, (waitingByUser.get(a.userId) ?? 0) + 1);
    const awaiting = [...waitingByUser.values()].reduce((t, n) => t + n, 0);
    // The course counts its required modules (deep-linked ones unless faculty chose otherwise); without any, the catalog.
    const linked = new Set(links.map((l) => l.moduleId).filter((id): id is string => Boolean(id)));
    const assigned = effectiveAssignments(
      deps.catalog.list().map((m) => m.id),
      linked,
      stored,
    );
    const required = new Map(assigned.filter((a) => a.required).map((a) => [a.moduleId, a]));
    const modules = deps.catalog
      .list()
      .filter((m) => required.size === 0 || required.has(m.id))
      .map((m) => ({ id: m.id, title: m.title, dueAt: required.get(m.id)?.dueAt }));
    const rows = buildOverview({
      framework,
      roster: roster.members,
      learners,
      snapshots: progress.snapshots,
      attempts: progress.attempts,
      modules,
      waitingByUser,
      badges,
    });
    return { rows, problem: roster.problem, awaiting, modules };
  }

  router.get(
    '/course/overview.csv',
    gate,
    asyncHandler(async (req, res) => {
      const course = await courseOf(req.session.launch!.courseId);
      const framework = await deps.competencies.loadFramework();
      const { rows } = await overviewOf(course, framework);
      const q = overviewQuery.parse(req.query);
      res.set('Content-Type', 'text/csv; charset=utf-8');
      res.set('Content-Disposition', 'attachment; filename="course-overview.csv"');
      res.set('Cache-Control', 'no-store');
      res.send(overviewCsv(framework, selectRows(rows, q)));
    }),
  );

  router.get(
    '/course',
    gate,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      const course = await courseOf(launch.courseId);
      const q = overviewQuery.parse(req.query);
      const framework = await deps.competencies.loadFramework();
      // Every read of the page at once (the overview's own reads are parallel inside it).
      const [disabled, resync, overview] = await Promise.all([
        deps.settings.disabledCompetencies(course.id),
        deps.grading.latestJob(launchScope(launch), 'resync', course.id),
        overviewOf(course, framework),
      ]);
      res.render('faculty/course', {
        pageTitle: course.title,
        ...pageContext(launch),
        courseInfo: {
          title: course.title,
          label: course.label,
          hasRoster: Boolean(course.membershipsUrl),
          hasGradebook: Boolean(course.lineItemsUrl),
          // Without the lineitem scope no competency column can be created: say so, and what to change.
          noColumnCreation: Boolean(course.lineItemsUrl) && !course.agsScopes.includes(scopes.lineItem),
        },
        ...presentOverview(framework, overview, q),
        competencies: allCompetencies(framework).map((c) => ({ id: c.id, name: c.name, sync: !disabled.has(c.id) })),
        modules: deps.catalog.list(),
        resync: resync
          ? {
              active: resync.state === 'queued' || resync.state === 'running',
              waiting: resync.state === 'queued' && resync.progress.total === 0,
              state: resync.state,
              label: { queued: 'Queued', running: 'Running', done: 'Finished', failed: 'Failed' }[resync.state],
              badge: { queued: 'pending', running: 'pending', done: 'synced', failed: 'failed' }[resync.state],
              done: resync.progress.done + resync.progress.failed,
              total: resync.progress.total,
              failed: resync.progress.failed,
              at: (resync.finishedAt ?? resync.createdAt).toISOString(),
              atText: `${(resync.finishedAt ?? resync.createdAt).toISOString().replace('T', ' ').slice(0, 16)} UTC`,
            }
          : undefined,
        csrf: csrfToken(req),
        canManage: !launch.teachingAssistant,
        notice: typeof req.query.notice === 'string' && /^[\w .,-]{1,120}$/.test(req.query.notice) ? req.query.notice : undefined,
      });
    }),
  );

  router.post(
    '/course/resync',
    ...manage,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      const course = await courseOf(launch.courseId);
      const requested = await deps.grading.requestJob(launchScope(launch), 'resync', course.id, `lti:${launch.userId}`);
      if (!requested) throw new NotFoundError('This launch did not come from a course.');
      req.log.info({ course: course.id, job: requested.job.id, created: requested.created }, 'course resync requested by faculty');
      await auditFaculty(req, 'passback.resync', course, requested.created ? 'queued a resync' : 'asked for a resync already running');
      const notice = requested.created ? 'Resync queued. Its progress shows below.' : 'A resync of this course is already running.';
      res.redirect(303, `/course?notice=${encodeURIComponent(notice)}`);
    }),
  );

  router.post(
    '/course/grading-settings',
    ...manage,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const course = await courseOf(req.session.launch!.courseId);
      const parsed = settingsBody.safeParse(req.body);
      if (!parsed.success) throw new BadRequestError('The competency selection could not be read.');
      const framework = await deps.competencies.loadFramework();
      const all = allCompetencies(framework).map((c) => c.id);
      const keep = new Set(parsed.data.sync);
      if ([...keep].some((id) => !all.includes(id))) throw new BadRequestError('Unknown competency.');
      const before = await deps.settings.disabledCompetencies(course.id);
      const disabled = all.filter((id) => !keep.has(id));
      await deps.settings.setDisabled(course.id, disabled, req.session.launch!.userId);
      await auditFaculty(req, 'faculty.grading-settings', course, `columns off: ${disabled.join(', ') || 'none'}`);
      // Switched on: queue each learner's current score for the column (only what the LMS lacks is sent).
      const switchedOn = all.filter((id) => before.has(id) && keep.has(id));
      if (switchedOn.length > 0) {
        for (const learner of await deps.records.listLearners(course.id))
          await deps.assessment.recompute({ userId: learner.id, courseId: course.id }, { kind: 'backfill' });
      }
      // Switched off: nothing more is sent; offer to remove the columns that exist in the LMS.
      const known = await deps.lineItems.known(course.id);
      const removable = disabled.filter((id) => !before.has(id) && known.has(id));
      if (removable.length > 0) {
        res.redirect(303, `/course/columns/remove?${removable.map((id) => `ids=${encodeURIComponent(id)}`).join('&')}`);
        return;
      }
      res.redirect(303, `/course?notice=${encodeURIComponent('Gradebook columns saved.')}`);
    }),
  );

  /** The confirmation page; after a refusal, again with the message and the columns unticked as sent. */
  async function renderRemove(req: Request, res: Response, status: number, ids: readonly string[] | undefined, error?: string) {
    const launch = req.session.launch!;
    const course = await courseOf(launch.courseId);
    const [disabled, known, framework] = await Promise.all([
      deps.settings.disabledCompetencies(course.id),
      deps.lineItems.known(course.id),
      deps.competencies.loadFramework(),
    ]);
    const names = new Map(allCompetencies(framework).map((c) => [c.id, c.name]));
    const shown = (ids ?? [...disabled]).filter((id) => disabled.has(id) && known.has(id));
    res.status(status).render('faculty/remove-columns', {
      pageTitle: 'Remove gradebook columns?',
      ...pageContext(launch),
      csrf: csrfToken(req),
      error,
      errors: error && shown[0] ? [{ field: `remove-${shown[0]}`, message: error }] : [],
      columns: shown.map((id) => ({ id, name: names.get(id) ?? id, checked: !error })),
    });
  }

  router.get(
    '/course/columns/remove',
    ...manage,
    asyncHandler(async (req, res) => {
      const asked = z.union([competencyId, z.array(competencyId)]).safeParse(req.query.ids);
      if (!asked.success) throw new BadRequestError('Choose the columns to remove.');
      await renderRemove(req, res, 200, Array.isArray(asked.data) ? asked.data : [asked.data]);
    }),
  );

  router.post(
    '/course/columns/remove',
    ...manage,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      const course = await courseOf(launch.courseId);
      const parsed = removeBody.safeParse(req.body);
      // Nothing ticked: the same page, with the message; nothing is removed.
      if (!parsed.success) return renderRemove(req, res, 400, undefined, 'Choose at least one column to remove, or keep the columns.');
      const disabled = await deps.settings.disabledCompetencies(course.id);
      // Only columns that are switched off can be removed.
      const ids = parsed.data.remove.filter((id) => disabled.has(id));
      let removed: string[] = [];
      let problem: string | undefined;
      try {
        removed = await deps.lineItems.remove(course, ids);
      } catch (error) {
        if (!(error instanceof PlatformRequestError || error instanceof ScopeNotGrantedError)) throw error;
        problem = error instanceof ScopeNotGrantedError ? 'the LMS did not grant column management (lineitem scope)' : error.message;
      }
      await auditFaculty(
        req,
        'passback.remove-columns',
        course,
        `removed ${removed.join(', ') || 'none'}${problem ? `; ${problem}` : ''}`,
        removed.length,
      );
      const notice = problem
        ? `Columns not removed: ${problem}.`
        : `Removed ${removed.length} column${removed.length === 1 ? '' : 's'} from the gradebook.`;
      res.redirect(303, `/course?notice=${encodeURIComponent(notice.replace(/[^\w .,-]/g, ' ').slice(0, 120))}`);
    }),
  );

  /** The assignments form: stored choices, or after a refusal what the instructor entered, with the messages. */
  async function renderAssignments(
    req: Request,
    res: Response,
    status: number,
    entered?: { values: Record<string, string>; errors: FieldError[] },
  ): Promise<void> {
    const launch = req.session.launch!;
    const course = await courseOf(launch.courseId);
    const [links, stored] = await Promise.all([deps.records.listModuleLinks(course.id), deps.assignments.find(course.id)]);
    const linked = new Set(links.map((l) => l.moduleId).filter((id): id is string => Boolean(id)));
    const assigned = effectiveAssignments(
      deps.catalog.list().map((m) => m.id),
      linked,
      stored,
    );
    const messages = messagesByField(entered?.errors ?? []);
    res.status(status).render('faculty/assignments', {
      pageTitle: `Assign modules · ${course.title}`,
      ...pageContext(launch),
      csrf: csrfToken(req),
      errors: entered?.errors ?? [],
      modules: deps.catalog.list().map((m) => {
        const a = assigned.find((x) => x.moduleId === m.id)!;
        const required = entered ? entered.values[`assign-${m.id}`] !== 'optional' : a.required;
        return {
          id: m.id,
          title: m.title,
          required,
          linked: linked.has(m.id),
          due: entered ? (entered.values[`due-${m.id}`] ?? '') : (dateText(a.dueAt) ?? ''),
          assignError: messages.get(`assign-${m.id}`),
          dueError: messages.get(`due-${m.id}`),
        };
      }),
    });
  }

  router.get(
    '/course/assignments',
    ...manage,
    asyncHandler(async (req, res) => renderAssignments(req, res, 200)),
  );

  router.post(
    '/course/assignments',
    ...manage,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const course = await courseOf(req.session.launch!.courseId);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const values: Record<string, string> = {};
      for (const [k, v] of Object.entries(body)) if (typeof v === 'string') values[k] = v;
      const modules: ModuleAssignment[] = [];
      const errors: FieldError[] = [];
      for (const m of deps.catalog.list()) {
        const required = z.enum(['required', 'optional']).safeParse(body[`assign-${m.id}`]);
        if (!required.success) errors.push({ field: `assign-${m.id}`, message: `Choose required or optional for ${m.id}.` });
        const due = z
          .union([z.literal(''), z.string().regex(/^\d{4}-\d{2}-\d{2}$/)])
          .optional()
          .safeParse(body[`due-${m.id}`]);
        const dueAt = due.success && due.data ? new Date(`${due.data}T23:59:59Z`) : undefined;
        if (!due.success || (dueAt && Number.isNaN(dueAt.getTime())))
          errors.push({ field: `due-${m.id}`, message: `The due date of ${m.id} is not a date: write it as YYYY-MM-DD, e.g. 2026-12-31.` });
        else if (required.success) modules.push({ moduleId: m.id, required: required.data === 'required', dueAt });
      }
      // Nothing is saved unless every row is right; the form comes back with the entries kept.
      if (errors.length > 0) return renderAssignments(req, res, 400, { values, errors });
      await deps.assignments.save(course.id, modules, req.session.launch!.userId, new Date());
      const summary = modules.filter((m) => m.required).map((m) => `${m.moduleId}${m.dueAt ? ` due ${dateText(m.dueAt)}` : ''}`);
      await auditFaculty(req, 'faculty.assignments', course, `required: ${summary.join(', ') || 'none'}`);
      res.redirect(303, `/course?notice=${encodeURIComponent('Module assignments saved.')}`);
    }),
  );

  router.get(
    '/course/roster',
    gate,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      const course = await courseOf(launch.courseId);
      let members: Awaited<ReturnType<RosterService['roster']>> = [];
      let problem: string | undefined;
      try {
        members = await deps.roster.roster(course);
      } catch (error) {
        if (!(error instanceof PlatformRequestError)) throw error;
        req.log.warn({ err: error, status: error.status }, 'roster request failed');
        problem = `The LMS did not return the roster (${error.message}).`;
      }
      res.render('faculty/roster', {
        pageTitle: `Roster · ${course.title}`,
        ...pageContext(launch),
        members: members.map((m) => ({ ...m, roles: m.roles.join(', ') })),
        count: members.length,
        available: Boolean(course.membershipsUrl),
        problem,
      });
    }),
  );
  return router;
}
