import { Router } from 'express';
import { coachFromSession, type AssessmentService } from '../assessment/assessment-service';
import { presentProfile } from '../assessment/profile-presenter';
import type { CompetencyRepository } from '../competencies/competency-repository';
import { allCompetencies } from '../competencies/framework';
import { formatDate, formatDateTime } from '../shared/format';
import { asyncHandler } from '../web/async-handler';
import { pageContext } from '../web/page-context';
import { requireLaunch } from '../web/session';
import type { Catalog } from './catalog';
import type { ModuleFile } from './content-schema';
import { suggestNextModule } from './suggestion';
import type { CoachFeedback, CoachFeedbackService } from '../faculty/coach-feedback';
import type { ModuleAssignment } from '../faculty/assignments';

const statusLabel = { not_started: 'Not started', in_progress: 'In progress', completed: 'Completed' } as const;

/** The coach's "My training" (modules with status and a suggestion) and "My competency profile". */
function presentFeedbackView(f: CoachFeedback) {
  return {
    summary: f.summary,
    items: f.items.map((i) => ({ ...i, at: formatDate(i.at), atIso: i.at.toISOString(), isObservation: i.kind === 'observation' })),
  };
}

export function trainingRoutes(deps: {
  catalog: Catalog;
  assessment: AssessmentService;
  competencies: CompetencyRepository;
  /** Faculty feedback (ratings, comments, observations) and what is new since the coach's last look. */
  feedback?: CoachFeedbackService;
  /** The course's required/optional modules and due dates (faculty assignments). */
  assignments?: (courseId: string) => Promise<ModuleAssignment[]>;
}): Router {
  const router = Router();

  router.get(
    '/training',
    requireLaunch(),
    asyncHandler(async (req, res) => {
      const coach = coachFromSession(req.session.launch!);
      // Every read at once: the page waits for the slowest, not for their sum.
      const [statuses, snapshot, framework, assigned, feedback] = await Promise.all([
        deps.assessment.moduleStatuses(coach),
        deps.assessment.scoresFor(coach),
        deps.competencies.loadFramework(),
        deps.assignments && coach.courseId ? deps.assignments(coach.courseId) : Promise.resolve([]),
        deps.feedback && coach.courseId ? deps.feedback.peek(coach.userId, coach.courseId) : Promise.resolve(undefined),
      ]);
      const files = deps.catalog.list().flatMap((m) => {
        const file = deps.catalog.module(m.id);
        return file ? [file] : [];
      });
      const scores = new Map((snapshot?.scores ?? []).flatMap((s) => (s.score === undefined ? [] : [[s.competencyId, s.score] as const])));
      const next: ModuleFile | undefined = suggestNextModule(
        files,
        allCompetencies(framework).map((c) => c.id),
        statuses,
        scores,
      );
      res.render('curriculum/training', {
        pageTitle: 'My training',
        ...pageContext(req.session.launch!),
        modules: deps.catalog.list().map((m) => {
          const status = statuses.get(m.id) ?? 'not_started';
          const a = assigned.find((x) => x.moduleId === m.id);
          return {
            ...m,
            status,
            statusLabel: statusLabel[status],
            suggested: m.id === next?.id,
            required: a?.required ?? false,
            due: a?.dueAt?.toISOString().slice(0, 10),
            overdue: Boolean(a?.required && a.dueAt && a.dueAt < new Date() && status !== 'completed'),
          };
        }),
        next: next ? deps.catalog.get(next.id) : undefined,
        completedCount: [...statuses.values()].filter((s) => s === 'completed').length,
        newFeedback: feedback?.summary,
        total: deps.catalog.list().length,
      });
    }),
  );

  router.get(
    '/profile',
    requireLaunch(),
    asyncHandler(async (req, res) => {
      const coach = coachFromSession(req.session.launch!);
      const [snapshot, framework, history] = await Promise.all([
        deps.assessment.scoresFor(coach),
        deps.competencies.loadFramework(),
        deps.assessment.scoreHistory(coach),
      ]);
      res.render('assessment/profile', {
        pageTitle: 'My competency profile',
        ...pageContext(req.session.launch!),
        profile: presentProfile(framework, snapshot?.scores ?? [], history),
        feedback:
          deps.feedback && coach.courseId ? presentFeedbackView(await deps.feedback.visit(coach.userId, coach.courseId)) : undefined,
        computedAt: snapshot ? { iso: snapshot.computedAt.toISOString(), text: formatDateTime(snapshot.computedAt) } : undefined,
      });
    }),
  );
  return router;
}
