import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { CourseReflection, AssessmentService, RatingInput } from '../assessment/assessment-service';
import type { FacultyRating } from '../assessment/attempt-repository';
import type { AuditLog } from '../admin/audit-log';
import type { LaunchRecords } from '../courses/launch-records';
import { rubricLevels, type RubricLevel } from '../curriculum/content-schema';
import { AppError, NotFoundError } from '../shared/errors';
import { asyncHandler } from '../web/async-handler';
import type { FieldError } from '../web/form-errors';
import { pageContext } from '../web/page-context';
import { csrfToken, requireLaunch, verifyCsrf } from '../web/session';

const label: Record<RubricLevel, string> = { novice: 'Novice', developing: 'Developing', proficient: 'Proficient', expert: 'Expert' };
const params = z.object({ attemptId: z.string().regex(/^[a-f0-9]{24}$/), itemId: z.string().regex(/^M\d{2}\.R\d+$/) });
const levelField = z.enum(['novice', 'developing', 'proficient', 'expert']);
const commentField = z
  .string({ required_error: 'Write a comment for the coach.', invalid_type_error: 'Write a comment for the coach.' })
  .trim()
  .min(1, 'Write a comment for the coach.')
  .max(2000, 'Keep the comment under 2,000 characters.');
/** Criterion fields are named `criterion-<id>`; anything else in the body is ignored. */
const criterionPrefix = 'criterion-';

type Viewer = { userId: string; courseId: string };

/** Where the viewer stands with one reflection: blind until they have rated it themselves. */
function standing(r: CourseReflection, viewer: Viewer): { mine: FacultyRating | undefined; role: 'first' | 'second' | 'closed' } {
  if (r.first?.raterId === viewer.userId) return { mine: r.first, role: 'first' };
  if (r.second?.raterId === viewer.userId) return { mine: r.second, role: 'second' };
  if (!r.first) return { mine: undefined, role: 'first' };
  if (!r.second) return { mine: undefined, role: 'second' };
  return { mine: undefined, role: 'closed' };
}

/** Criterion-level agreement of two ratings: exact and within one level. */
function agreement(
  r: CourseReflection,
): { text: string; rows: { name: string; first: string; second: string; same: boolean }[] } | undefined {
  if (!r.first || !r.second) return undefined;
  const criteria = r.rubric.criteria ?? [];
  const rows = criteria.map((c) => {
    const a = r.first!.criteria.find((x) => x.criterionId === c.id)?.level;
    const b = r.second!.criteria.find((x) => x.criterionId === c.id)?.level;
    return { name: c.name, first: a ? label[a] : '—', second: b ? label[b] : '—', a, b, same: a !== undefined && a === b };
  });
  const exact = rows.filter((x) => x.same).length;
  const within = rows.filter((x) => x.a && x.b && Math.abs(rubricLevels.indexOf(x.a) - rubricLevels.indexOf(x.b)) <= 1).length;
  const overall =
    r.first.level === r.second.level
      ? 'the same reflection level'
      : `reflection levels ${label[r.first.level]} and ${label[r.second.level]}`;
  return {
    text:
      rows.length > 0
        ? `${exact} of ${rows.length} criteria rated the same, ${within} of ${rows.length} within one level; ${overall}.`
        : `${overall.charAt(0).toUpperCase()}${overall.slice(1)}.`,
    rows: rows.map(({ name, first, second, same }) => ({ name, first, second, same })),
  };
}

function ratingView(rating: FacultyRating, r: CourseReflection) {
  return {
    level: label[rating.level],
    comment: rating.comment,
    criteria: rating.criteria.map((c) => ({
      name: r.rubric.criteria?.find((k) => k.id === c.criterionId)?.name ?? c.criterionId,
      level: label[c.level],
    })),
  };
}

/** Faculty rate coaches' reflections per rubric criterion, blind to the coach's self-rating; rescoring follows. */
export function reflectionRoutes(deps: { assessment: AssessmentService; records: LaunchRecords; audit: Pick<AuditLog, 'record'> }): Router {
  const router = Router();
  const gate = requireLaunch('instructor', 'admin');

  async function find(courseId: string, attemptId: string, itemId: string): Promise<CourseReflection> {
    const found = (await deps.assessment.reflectionsForCourse(courseId)).find((r) => r.attemptId === attemptId && r.itemId === itemId);
    if (!found) throw new NotFoundError('There is no such reflection in this course.');
    return found;
  }

  async function renderRating(
    req: Request,
    res: Response,
    r: CourseReflection,
    form: { status: number; error?: FieldError; values?: Record<string, string>; saved?: boolean },
  ): Promise<void> {
    const launch = req.session.launch!;
    const viewer = { userId: launch.userId, courseId: launch.courseId! };
    const { mine, role } = standing(r, viewer);
    const learners = await deps.records.listLearners(viewer.courseId);
    // Access trail: this page shows the coach's text, so every showing is a read the coach can see (profile).
    await deps.audit.record({
      actor: `lti:${launch.userId}`,
      action: 'reflection.read',
      courseId: viewer.courseId,
      platform: { issuer: launch.issuer, clientId: launch.clientId },
      subjectUserId: r.userId,
      detail: `reflection ${r.itemId} (${r.moduleTitle}) on the faculty rating page of ${launch.courseTitle ?? 'a course'}`,
    });
    const values = form.values ?? {};
    const criteria = (r.rubric.criteria ?? []).map((c) => ({
      id: c.id,
      name: c.name,
      assesses: r.promptParts.find((p) => p.id === c.assesses)?.text,
      field: `${criterionPrefix}${c.id}`,
      levels: rubricLevels.map((level) => ({
        level,
        label: label[level],
        anchor: c.anchors[level],
        inputId: `c-${c.id}-${level}`,
        invalid: form.error?.field === `c-${c.id}-${rubricLevels[0]}`,
        checked: (values[`${criterionPrefix}${c.id}`] ?? mine?.criteria.find((x) => x.criterionId === c.id)?.level) === level,
      })),
    }));
    res.status(form.status).render('faculty/reflection', {
      pageTitle: `Rate reflection · ${r.itemId}`,
      ...pageContext(launch),
      csrf: csrfToken(req),
      action: `/course/reflections/${r.attemptId}/${r.itemId}`,
      error: form.error?.message,
      errors: form.error ? [form.error] : [],
      errorField: form.error?.field,
      saved: form.saved,
      learner: learners.find((l) => l.id === r.userId)?.name ?? 'A coach',
      r: { moduleTitle: r.moduleTitle, itemId: r.itemId, prompt: r.prompt, text: r.text, mixedResponseRule: r.mixedResponseRule },
      promptParts: r.promptParts,
      criteria,
      summaryLevels:
        criteria.length === 0
          ? rubricLevels.map((level) => ({
              level,
              label: label[level],
              descriptor: r.rubric[level],
              checked: (values.level ?? mine?.level) === level,
            }))
          : undefined,
      exemplars: r.rubric.exemplars ? rubricLevels.map((level) => ({ label: label[level], text: r.rubric.exemplars![level] })) : undefined,
      comment: values.comment ?? mine?.comment ?? '',
      role,
      isSecond: role === 'second',
      closed: role === 'closed',
      // Blind rating: the self-rating and the other rater's rating appear only once this rater has rated.
      revealed: mine
        ? {
            self: r.selfLevel ? label[r.selfLevel] : '—',
            mine: ratingView(mine, r),
            other: role === 'first' ? (r.second ? ratingView(r.second, r) : undefined) : r.first ? ratingView(r.first, r) : undefined,
            agreement: agreement(r),
          }
        : undefined,
    });
  }

  router.get(
    '/course/reflections',
    gate,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      if (!launch.courseId) throw new NotFoundError('This launch did not come from a course.');
      const viewer = { userId: launch.userId, courseId: launch.courseId };
      const [reflections, learners] = await Promise.all([
        deps.assessment.reflectionsForCourse(launch.courseId),
        deps.records.listLearners(launch.courseId),
      ]);
      const names = new Map(learners.map((l) => [l.id, l.name]));
      res.render('faculty/reflections', {
        pageTitle: 'Rate reflections',
        ...pageContext(launch),
        awaiting: reflections.filter((r) => !r.first).length,
        reflections: reflections.map((r) => {
          const { mine, role } = standing(r, viewer);
          const status = !r.first
            ? 'Awaiting a rating'
            : mine
              ? r.second
                ? `Rated twice · ${agreement(r)?.text ?? ''}`
                : 'Rated by you'
              : role === 'second'
                ? 'Rated by a colleague · a second rating is welcome'
                : 'Rated twice';
          return {
            url: `/course/reflections/${r.attemptId}/${r.itemId}`,
            learner: names.get(r.userId) ?? 'A coach',
            moduleTitle: r.moduleTitle,
            itemId: r.itemId,
            status,
          };
        }),
      });
    }),
  );

  router.get(
    '/course/reflections/:attemptId/:itemId',
    gate,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      if (!launch.courseId) throw new NotFoundError('This launch did not come from a course.');
      const p = params.safeParse(req.params);
      if (!p.success) throw new NotFoundError('There is no such reflection.');
      await renderRating(req, res, await find(launch.courseId, p.data.attemptId, p.data.itemId), {
        status: 200,
        saved: req.query.saved === '1',
      });
    }),
  );

  router.post(
    '/course/reflections/:attemptId/:itemId',
    gate,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      if (!launch.courseId) throw new NotFoundError('This launch did not come from a course.');
      const p = params.safeParse(req.params);
      if (!p.success) throw new NotFoundError('There is no such reflection.');
      const reflection = await find(launch.courseId, p.data.attemptId, p.data.itemId);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const values: Record<string, string> = {};
      for (const [k, v] of Object.entries(body)) if (typeof v === 'string') values[k] = v;
      const fail = (message: string, field: string) =>
        renderRating(req, res, reflection, { status: 400, error: { field, message }, values });

      const criteria = reflection.rubric.criteria ?? [];
      const rated: RatingInput['criteria'] = [];
      for (const c of criteria) {
        const level = levelField.safeParse(body[`${criterionPrefix}${c.id}`]);
        if (!level.success) return fail(`Rate the criterion "${c.name}".`, `c-${c.id}-${rubricLevels[0]}`);
        rated.push({ criterionId: c.id, level: level.data });
      }
      const level = criteria.length === 0 ? levelField.safeParse(body.level) : undefined;
      if (level && !level.success) return fail('Choose a rubric level.', `lvl-${rubricLevels[0]}`);
      const comment = commentField.safeParse(body.comment);
      if (!comment.success) return fail(comment.error.issues[0]?.message ?? 'Write a comment for the coach.', 'rate-comment');
      try {
        await deps.assessment.rateReflection({ userId: launch.userId, courseId: launch.courseId }, p.data.attemptId, p.data.itemId, {
          criteria: rated,
          level: level?.success ? level.data : undefined,
          comment: comment.data,
        });
      } catch (error) {
        // A refusal the rater can act on is shown on the same page; anything else goes to the error handler.
        if (error instanceof AppError && error.status >= 400 && error.status < 500 && !(error instanceof NotFoundError))
          return renderRating(req, res, reflection, {
            status: error.status,
            error: { field: criteria[0] ? `c-${criteria[0].id}-${rubricLevels[0]}` : 'rate-comment', message: error.message },
            values,
          });
        throw error;
      }
      await deps.audit.record({
        actor: `lti:${launch.userId}`,
        action: 'faculty.rate',
        courseId: launch.courseId,
        platform: { issuer: launch.issuer, clientId: launch.clientId },
        subjectUserId: reflection.userId,
        detail: `${launch.userName} in ${launch.courseTitle ?? 'a course'}: rated ${p.data.itemId}`,
        ip: req.ip,
      });
      res.redirect(303, `/course/reflections/${p.data.attemptId}/${p.data.itemId}?saved=1`);
    }),
  );
  return router;
}
