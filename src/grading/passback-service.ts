import type { Catalog } from '../curriculum/catalog';
import type { LaunchRecords } from '../courses/launch-records';
import type { PlatformRegistry } from '../lti/platform-registry';
import type { CompetencyScoresChanged } from '../shared/events';
import { formatScore } from '../shared/format';
import type { Logger } from '../shared/logger';
import type { CourseGradingSettings } from './course-settings';
import type { EnqueueInput, Outbox } from './outbox';
import { competencyScoreFields, type ScoreFields } from './score-message';

/**
 * Consumes competencyScoresChanged: writes the newest score per learner and gradebook column into the
 * outbox (one entry per competency touched, plus the module's own column). Nothing is sent here.
 * Only learners of the course are sent; anyone else is recorded as skipped with the reason.
 */
export function createPassbackService(deps: {
  outbox: Outbox;
  settings: CourseGradingSettings;
  records: LaunchRecords;
  registry: PlatformRegistry;
  catalog: Catalog;
  logger: Logger;
  now?: () => Date;
}) {
  const now = deps.now ?? (() => new Date());

  /** Modules that teach each competency: a competency is "Completed" once all of them are done. */
  const modulesByCompetency = new Map<string, string[]>();
  for (const m of deps.catalog.list())
    for (const c of m.competencies) modulesByCompetency.set(c.id, [...(modulesByCompetency.get(c.id) ?? []), m.id]);

  return {
    async onScoresChanged(event: CompetencyScoresChanged, options: { newSubmission?: boolean } = {}): Promise<number> {
      const [course, user, membership, settings, disabled] = await Promise.all([
        deps.records.findCourse(event.context.courseId),
        deps.records.findUser(event.user.userId),
        deps.records.findMembership(event.context.courseId, event.user.userId),
        deps.registry.find(event.platform.issuer, event.platform.clientId),
        deps.settings.disabledCompetencies(event.context.courseId),
      ]);
      if (!course || !user) return 0;
      // Proposed timestamp; the outbox raises it above the last one queued for the column if clocks went back.
      const timestamp = event.computedAt.toISOString();
      const version = event.version;
      const base = {
        issuer: course.issuer,
        clientId: course.clientId,
        productFamily: settings?.productFamily,
        courseId: course.id,
        contextId: course.contextId,
        courseTitle: course.title,
        userId: user.id,
        userSub: user.sub,
        userName: user.name,
        version,
        // Canvas: a resync must not create a new submission attempt.
        newSubmission: options.newSubmission ?? !(event.cause.kind === 'resync' || event.cause.kind === 'backfill'),
      };
      const entries: EnqueueInput[] = event.scores
        .filter((s) => !disabled.has(s.competencyId))
        .map((s) => {
          const teaching = modulesByCompetency.get(s.competencyId) ?? [];
          const score: ScoreFields = {
            ...competencyScoreFields(s),
            activityProgress: teaching.every((m) => s.modules.includes(m)) ? 'Completed' : 'InProgress',
            timestamp,
          };
          return { ...base, target: { kind: 'competency', id: s.competencyId, lineItemUrl: undefined }, score };
        });
      for (const m of event.moduleScores) {
        if (!m.lineItemUrl) continue;
        entries.push({
          ...base,
          target: { kind: 'module', id: m.moduleId, lineItemUrl: m.lineItemUrl },
          score: {
            scoreGiven: m.score,
            activityProgress: 'Completed',
            gradingProgress: m.pendingFacultyRating ? 'PendingManual' : 'FullyGraded',
            comment: `Module ${m.moduleId} · ${formatScore(m.score)}/100`,
            timestamp,
          },
        });
      }
      const at = now();
      if (!membership?.isLearner) {
        for (const e of entries)
          await deps.outbox.recordSkipped(e, 'not a learner in this course (only learners are sent to the gradebook)', at);
        return 0;
      }
      // A resync sends everything again; otherwise a column whose score did not change is left alone.
      const resend = event.cause.kind === 'resync';
      const results = await deps.outbox.enqueueMany(entries, at, { skipUnchanged: !resend });
      return results.filter((r) => r === 'queued').length;
    },
  };
}

export type PassbackService = ReturnType<typeof createPassbackService>;
