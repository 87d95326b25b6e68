import { Router } from 'express';
import { z } from 'zod';
import type { AssessmentService } from '../assessment/assessment-service';
import type { LaunchRecords } from '../courses/launch-records';
import { rubricLevels } from '../curriculum/content-schema';
import { BadRequestError, NotFoundError } from '../shared/errors';
import { asyncHandler } from '../web/async-handler';
import { pageContext } from '../web/page-context';
import { csrfToken, requireLaunch, verifyCsrf } from '../web/session';

const label = { novice: 'Novice', developing: 'Developing', proficient: 'Proficient', expert: 'Expert' } as const;
const params = z.object({ attemptId: z.string().regex(/^[a-f0-9]{24}$/), itemId: z.string().regex(/^M\d{2}\.R\d+$/) });
const body = z.object({
  level: z.enum(['novice', 'developing', 'proficient', 'expert'], { errorMap: () => ({ message: 'Choose a rubric level.' }) }),
});

/** Faculty rate coaches' reflections on the rubric; a rating replaces the self-rating and rescoring follows. */
export function reflectionRoutes(deps: { assessment: AssessmentService; records: LaunchRecords }): Router {
  const router = Router();
  const gate = requireLaunch('instructor', 'admin');

  router.get(
    '/course/reflections',
    gate,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      if (!launch.courseId) throw new NotFoundError('This launch did not come from a course.');
      const [reflections, learners] = await Promise.all([
        deps.assessment.reflectionsForCourse(launch.courseId),
        deps.records.listLearners(launch.courseId),
      ]);
      const names = new Map(learners.map((l) => [l.id, l.name]));
      res.render('faculty/reflections', {
        pageTitle: 'Rate reflections',
        ...pageContext(launch),
        csrf: csrfToken(req),
        awaiting: reflections.filter((r) => !r.facultyLevel).length,
        reflections: reflections.map((r) => ({
          ...r,
          anchor: `r-${r.attemptId}-${r.itemId.replace('.', '-')}`,
          learner: names.get(r.userId) ?? 'A coach',
          selfLabel: r.selfLevel ? label[r.selfLevel] : '—',
          facultyLabel: r.facultyLevel ? label[r.facultyLevel] : undefined,
          levels: rubricLevels.map((level) => ({
            level,
            label: label[level],
            descriptor: r.rubric[level],
            checked: r.facultyLevel === level,
          })),
        })),
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
      const b = body.safeParse(req.body);
      if (!p.success) throw new NotFoundError('There is no such reflection.');
      if (!b.success) throw new BadRequestError(b.error.issues[0]?.message ?? 'Choose a rubric level.');
      await deps.assessment.rateReflection(
        { userId: launch.userId, courseId: launch.courseId },
        p.data.attemptId,
        p.data.itemId,
        b.data.level,
      );
      res.redirect(303, `/course/reflections#r-${p.data.attemptId}-${p.data.itemId.replace('.', '-')}`);
    }),
  );
  return router;
}
