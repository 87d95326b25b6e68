import { Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../admin/audit-log';
import type { AssessmentService } from '../assessment/assessment-service';
import type { CompetencyRepository } from '../competencies/competency-repository';
import type { Catalog } from '../curriculum/catalog';
import type { LaunchRecords } from '../courses/launch-records';
import type { Outbox } from '../grading/outbox';
import { NotFoundError } from '../shared/errors';
import { asyncHandler } from '../web/async-handler';
import { pageContext } from '../web/page-context';
import { requireLaunch } from '../web/session';
import { cellLabel } from './course-overview';

const params = z.object({ userId: z.string().regex(/^[a-f0-9]{24}$/) });
const levelText = { novice: 'Novice', developing: 'Developing', proficient: 'Proficient', expert: 'Expert' } as const;
const when = (d: Date | undefined) => (d ? `${d.toISOString().replace('T', ' ').slice(0, 16)} UTC` : undefined);
const passbackLabel = {
  pending: 'Pending',
  sending: 'Sending',
  sent: 'Sent',
  failed: 'Failed',
  superseded: 'Replaced by a newer score',
  skipped: 'Not sent',
} as const;
const passbackBadge = {
  pending: 'pending',
  sending: 'pending',
  sent: 'synced',
  failed: 'failed',
  superseded: 'pending',
  skipped: 'none',
} as const;

/** One coach of the faculty member's course: scores with their evidence, work, reflections, history, passback. */
export function coachRoutes(deps: {
  records: Pick<LaunchRecords, 'findCourse' | 'findMembership' | 'findUser'>;
  assessment: Pick<AssessmentService, 'scoresFor' | 'scoreHistory' | 'reflectionsForCourse' | 'courseProgress'>;
  competencies: CompetencyRepository;
  catalog: Catalog;
  outbox: Pick<Outbox, 'list'>;
  audit: Pick<AuditLog, 'record'>;
}): Router {
  const router = Router();

  /** Whether a module item evidences a competency (through the objectives it assesses). */
  function evidences(moduleId: string, itemId: string, competencyId: string): boolean {
    const module = deps.catalog.module(moduleId);
    const item = module?.items.find((i) => i.id === itemId);
    if (!module || !item) return false;
    return module.objectives.some((o) => item.objectives.includes(o.id) && o.competencies.some((c) => c.id === competencyId));
  }

  router.get(
    '/course/coaches/:userId',
    requireLaunch('instructor', 'admin'),
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      const p = params.safeParse(req.params);
      const course = launch.courseId ? await deps.records.findCourse(launch.courseId) : null;
      if (!p.success || !course) throw new NotFoundError('There is no such coach in this course.');
      // A coach of another course (or a colleague) is not found here: faculty see their own course's coaches only.
      const membership = await deps.records.findMembership(course.id, p.data.userId);
      const user = membership?.isLearner ? await deps.records.findUser(p.data.userId) : null;
      if (!user) throw new NotFoundError('There is no such coach in this course.');
      const coach = {
        userId: user.id,
        courseId: course.id,
        issuer: course.issuer,
        clientId: course.clientId,
        deploymentId: course.deploymentId,
        resourceLinkId: undefined,
      };
      const [framework, snapshot, history, allReflections, progress, sent] = await Promise.all([
        deps.competencies.loadFramework(),
        deps.assessment.scoresFor(coach),
        deps.assessment.scoreHistory(coach),
        deps.assessment.reflectionsForCourse(course.id),
        deps.assessment.courseProgress(course.id),
        deps.outbox.list({ courseId: course.id, userId: user.id }),
      ]);
      const reflections = allReflections.filter((r) => r.userId === user.id);
      const attempts = progress.attempts.filter((a) => a.userId === user.id);
      // The latest entry per column tells its passback state.
      const column = new Map<string, (typeof sent)[number]>();
      for (const e of sent) {
        const key = `${e.target.kind}:${e.target.id}`;
        const prev = column.get(key);
        if (!prev || e.version > prev.version || (e.version === prev.version && e.updatedAt > prev.updatedAt)) column.set(key, e);
      }
      const competencies = framework.domains.flatMap((d) =>
        d.competencies.map((c) => {
          const s = snapshot?.scores.find((x) => x.competencyId === c.id);
          const state = !s ? 'not-started' : s.status === 'scored' && s.level ? s.level : 'insufficient';
          const entry = column.get(`competency:${c.id}`);
          const changes = history
            .map((h) => ({ at: h.computedAt, s: h.scores.find((x) => x.competencyId === c.id) }))
            .filter((h) => h.s)
            .map((h) => ({
              at: when(h.at),
              text: h.s!.status === 'scored' && h.s!.level ? `${levelText[h.s!.level]} ${h.s!.score?.toFixed(0)}` : cellLabel.insufficient,
            }))
            .filter((h, i, all) => i === 0 || all[i - 1]!.text !== h.text);
          return {
            id: c.id,
            name: c.name,
            domain: d.name,
            state,
            label: cellLabel[state],
            score: s?.score?.toFixed(0),
            note: s?.missing ?? s?.levelCap,
            evidence: s
              ? `${s.evidence.primaryItems} primary item(s), ${s.evidence.secondaryItems} secondary, ${s.evidence.ratedPerformances} faculty-rated reflection(s)${s.evidence.pending ? `, ${s.evidence.pending} awaiting rating` : ''}; kinds: ${s.evidence.kinds.join(', ') || 'none'}`
              : undefined,
            modules: (s?.modules ?? []).map((m) => deps.catalog.get(m)?.title ?? m),
            ratings: reflections
              .filter((r) => r.first && evidences(r.moduleId, r.itemId, c.id))
              .map((r) => `${r.itemId} rated ${levelText[r.first!.level]} (${when(r.first!.ratedAt)})`),
            history: changes,
            passback: entry
              ? {
                  label: passbackLabel[entry.status],
                  badge: passbackBadge[entry.status],
                  at: when(entry.sentAt ?? entry.updatedAt),
                  reason: entry.reason,
                }
              : { label: 'Nothing sent yet', badge: 'none', at: undefined, reason: undefined },
          };
        }),
      );
      res.render('faculty/coach', {
        pageTitle: `${user.name} · ${course.title}`,
        ...pageContext(launch),
        name: user.name,
        computedAt: when(snapshot?.computedAt),
        competencies,
        attempts: attempts.map((a) => ({
          module: deps.catalog.get(a.moduleId)?.title ?? a.moduleId,
          number: a.number,
          status: a.status === 'completed' ? 'Done' : 'In progress',
          started: when(a.startedAt),
          completed: when(a.completedAt),
          answered: a.answers.length,
        })),
        reflections: reflections.map((r) => ({
          module: r.moduleTitle,
          itemId: r.itemId,
          prompt: r.prompt,
          text: r.text,
          submitted: when(r.submittedAt),
          url: `/course/reflections/${r.attemptId}/${r.itemId}`,
          ratings: [r.first, r.second]
            .filter((x): x is NonNullable<typeof x> => Boolean(x))
            .map((x) => ({ level: levelText[x.level], comment: x.comment, at: when(x.ratedAt) })),
        })),
      });
      if (reflections.length > 0) {
        // Showing reflection text is a read of personal data: the access trail records it, as the rating page does.
        await deps.audit.record({
          actor: `lti:${launch.userId}`,
          action: 'reflection.read',
          courseId: course.id,
          platform: { issuer: launch.issuer, clientId: launch.clientId },
          subjectUserId: user.id,
          detail: `reflections on the coach page in ${course.title}`,
        });
      }
    }),
  );
  return router;
}
