import { Router } from 'express';
import { z } from 'zod';
import { platformScope } from '../admin/admin-scope';
import type { CompetencyRepository } from '../competencies/competency-repository';
import { allCompetencies } from '../competencies/framework';
import type { LaunchRecords } from '../courses/launch-records';
import type { Catalog } from '../curriculum/catalog';
import type { AuditLog } from '../admin/audit-log';
import type { AssessmentService } from '../assessment/assessment-service';
import type { CourseGradingSettings } from '../grading/course-settings';
import type { LineItemService } from '../grading/line-items';
import type { GradingAdmin } from '../grading/grading-admin';
import type { RosterService } from '../lti/nrps';
import { PlatformRequestError, ScopeNotGrantedError, scopes } from '../lti/platform-client';
import { BadRequestError, NotFoundError } from '../shared/errors';
import { asyncHandler } from '../web/async-handler';
import { pageContext } from '../web/page-context';
import { csrfToken, requireLaunch, verifyCsrf, type LaunchSession } from '../web/session';

const badgeLabel = { synced: 'Synced', pending: 'Pending', failed: 'Failed', none: 'No scores yet' } as const;

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
  assessment: Pick<AssessmentService, 'recompute'>;
  lineItems: Pick<LineItemService, 'known' | 'remove'>;
  audit: Pick<AuditLog, 'record'>;
}): Router {
  const router = Router();
  const gate = requireLaunch('instructor', 'admin');

  async function courseOf(courseId: string | undefined) {
    const course = courseId ? await deps.records.findCourse(courseId) : null;
    if (!course) throw new NotFoundError('This launch did not come from a course.');
    return course;
  }

  router.get(
    '/course',
    gate,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      const course = await courseOf(launch.courseId);
      const [learners, badges, disabled, framework, resync] = await Promise.all([
        deps.records.listLearners(course.id),
        deps.grading.courseBadges(course.id),
        deps.settings.disabledCompetencies(course.id),
        deps.competencies.loadFramework(),
        deps.grading.latestJob(launchScope(launch), 'resync', course.id),
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
        learners: learners
          .map((l) => {
            const badge = badges.get(l.id) ?? { state: 'none' as const, reason: undefined };
            return { name: l.name, state: badge.state, label: badgeLabel[badge.state], reason: badge.reason };
          })
          .sort((a, b) => a.name.localeCompare(b.name)),
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
        notice: typeof req.query.notice === 'string' && /^[\w .,-]{1,120}$/.test(req.query.notice) ? req.query.notice : undefined,
      });
    }),
  );

  router.post(
    '/course/resync',
    gate,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      const course = await courseOf(launch.courseId);
      const requested = await deps.grading.requestJob(launchScope(launch), 'resync', course.id, `lti:${launch.userId}`);
      if (!requested) throw new NotFoundError('This launch did not come from a course.');
      req.log.info({ course: course.id, job: requested.job.id, created: requested.created }, 'course resync requested by faculty');
      const notice = requested.created ? 'Resync queued. Its progress shows below.' : 'A resync of this course is already running.';
      res.redirect(303, `/course?notice=${encodeURIComponent(notice)}`);
    }),
  );

  router.post(
    '/course/grading-settings',
    gate,
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

  router.get(
    '/course/columns/remove',
    gate,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      const course = await courseOf(launch.courseId);
      const asked = z.union([competencyId, z.array(competencyId)]).safeParse(req.query.ids);
      if (!asked.success) throw new BadRequestError('Choose the columns to remove.');
      const ids = Array.isArray(asked.data) ? asked.data : [asked.data];
      const [disabled, known, framework] = await Promise.all([
        deps.settings.disabledCompetencies(course.id),
        deps.lineItems.known(course.id),
        deps.competencies.loadFramework(),
      ]);
      const names = new Map(allCompetencies(framework).map((c) => [c.id, c.name]));
      res.render('faculty/remove-columns', {
        pageTitle: 'Remove gradebook columns?',
        ...pageContext(launch),
        csrf: csrfToken(req),
        columns: ids.filter((id) => disabled.has(id) && known.has(id)).map((id) => ({ id, name: names.get(id) ?? id })),
      });
    }),
  );

  router.post(
    '/course/columns/remove',
    gate,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      const course = await courseOf(launch.courseId);
      const parsed = removeBody.safeParse(req.body);
      if (!parsed.success) throw new BadRequestError('Choose the columns to remove.');
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
      await deps.audit.record({
        actor: `lti:${launch.userId}`,
        action: 'passback.remove-columns',
        count: removed.length,
        courseId: course.id,
        detail: `removed ${removed.join(', ') || 'none'}${problem ? `; ${problem}` : ''}`,
        ip: req.ip,
      });
      const notice = problem
        ? `Columns not removed: ${problem}.`
        : `Removed ${removed.length} column${removed.length === 1 ? '' : 's'} from the gradebook.`;
      res.redirect(303, `/course?notice=${encodeURIComponent(notice.replace(/[^\w .,-]/g, ' ').slice(0, 120))}`);
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
