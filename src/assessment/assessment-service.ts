import type { Catalog } from '../curriculum/catalog';
import type { ModuleFile, RubricLevel } from '../curriculum/content-schema';
import type { ModuleStore } from '../curriculum/module-store';
import type { LaunchRecords } from '../courses/launch-records';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../shared/errors';
import type { EventBus } from '../shared/events';
import type { Logger } from '../shared/logger';
import type { Attempt, AttemptRepository, StoredAnswer } from './attempt-repository';
import type { ScoreRepository, ScoreSnapshot } from './score-repository';
import { attemptScore, courseCompetencyScores, type Answer, type CompletedAttempt } from './scoring';

/** Who is working, from the launch session. */
export interface Coach {
  userId: string;
  courseId: string | null;
  issuer: string;
  clientId: string;
  deploymentId: string;
  /** Our resource link id when the coach came through a module link (its gradebook column). */
  resourceLinkId: string | undefined;
}

export type AnswerInput = { kind: 'mcq'; selected: string[] } | { kind: 'reflection'; text: string; selfLevel: RubricLevel };

export type ModuleStatus = 'not_started' | 'in_progress' | 'completed';

export interface AssessmentDeps {
  attempts: AttemptRepository;
  scores: ScoreRepository;
  modules: ModuleStore;
  catalog: Catalog;
  records: LaunchRecords;
  events: EventBus;
  logger: Logger;
  now?: () => Date;
}

function toScoringAnswers(answers: readonly StoredAnswer[]): Answer[] {
  return answers.map((a) =>
    a.kind === 'mcq'
      ? { kind: 'mcq', itemId: a.itemId, selected: a.selected }
      : { kind: 'reflection', itemId: a.itemId, selfLevel: a.selfLevel ?? 'novice', facultyLevel: a.facultyLevel },
  );
}

/** Use cases of the coach's work: start, answer, move on, finish, and the scores that follow. */
export function createAssessmentService(deps: AssessmentDeps) {
  const now = deps.now ?? (() => new Date());

  async function moduleOf(attempt: Attempt): Promise<ModuleFile> {
    const module = await deps.modules.get(attempt.moduleId, attempt.moduleVersion);
    if (!module) throw new NotFoundError(`Module ${attempt.moduleId} version ${attempt.moduleVersion} is missing.`);
    return module;
  }

  async function ownAttempt(coach: Coach, attemptId: string): Promise<Attempt> {
    const attempt = await deps.attempts.findById(attemptId);
    if (!attempt || attempt.userId !== coach.userId || attempt.courseId !== coach.courseId)
      throw new NotFoundError('There is no such attempt.');
    return attempt;
  }

  async function currentModule(moduleId: string): Promise<ModuleFile> {
    const summary = deps.catalog.get(moduleId);
    if (!summary) throw new NotFoundError('There is no such module.');
    const module = await deps.modules.get(moduleId, summary.version);
    if (!module) throw new NotFoundError(`Module ${moduleId} is not available yet.`);
    return module;
  }

  /** Recomputes the coach's course scores from every completed attempt, stores them and publishes the event. */
  async function recompute(
    coach: Coach,
    cause: { kind: 'module-completed' | 'faculty-rating' | 'resync'; attempt?: Attempt },
  ): Promise<ScoreSnapshot> {
    const completed = await deps.attempts.listCompletedForUser(coach.userId, coach.courseId);
    const scoring: CompletedAttempt[] = [];
    for (const attempt of completed) {
      scoring.push({
        moduleId: attempt.moduleId,
        module: await moduleOf(attempt),
        completedAt: attempt.completedAt ?? attempt.startedAt,
        answers: toScoringAnswers(attempt.answers),
      });
    }
    const computedAt = now();
    const snapshot: ScoreSnapshot = { userId: coach.userId, courseId: coach.courseId, scores: courseCompetencyScores(scoring), computedAt };
    await deps.scores.save(snapshot);

    const [user, course] = await Promise.all([
      deps.records.findUser(coach.userId),
      coach.courseId ? deps.records.findCourse(coach.courseId) : null,
    ]);
    if (!user || !course) return snapshot; // No LMS course: nothing to send anywhere.
    let moduleScore;
    if (cause.attempt) {
      const link = coach.resourceLinkId ? await deps.records.findResourceLink(coach.resourceLinkId) : null;
      const counted = scoring.find(
        (s) => s.moduleId === cause.attempt?.moduleId && s.completedAt.getTime() === cause.attempt.completedAt?.getTime(),
      );
      if (counted && link?.moduleId === cause.attempt.moduleId) {
        moduleScore = {
          moduleId: cause.attempt.moduleId,
          resourceLinkId: link.resourceLinkId,
          lineItemUrl: link.lineItemUrl,
          score: Math.round(attemptScore(counted) * 10000) / 100,
          pendingFacultyRating: cause.attempt.answers.some((a) => a.kind === 'reflection' && !a.facultyLevel),
        };
      }
    }
    const event = {
      type: 'competencyScoresChanged' as const,
      platform: { issuer: course.issuer, clientId: course.clientId, deploymentId: course.deploymentId },
      context: { courseId: course.id, contextId: course.contextId },
      user: { userId: user.id, sub: user.sub },
      cause: { kind: cause.kind, moduleId: cause.attempt?.moduleId, attemptId: cause.attempt?.id },
      scores: snapshot.scores.map((s) => ({
        competencyId: s.competencyId,
        score: s.score,
        level: s.level,
        modules: s.modules,
        pendingFacultyRating: s.pendingFacultyRating,
      })),
      moduleScore,
      computedAt,
    };
    await deps.scores.recordEvent(event);
    await deps.events.publish(event);
    return snapshot;
  }

  return {
    currentModule,
    moduleOf,
    ownAttempt,

    async startOrResume(coach: Coach, moduleId: string, startKey: string): Promise<Attempt> {
      const module = await currentModule(moduleId);
      return deps.attempts.open({ userId: coach.userId, courseId: coach.courseId, moduleId, moduleVersion: module.version, startKey });
    },

    findOpen(coach: Coach, moduleId: string): Promise<Attempt | null> {
      return deps.attempts.findOpen(coach.userId, coach.courseId, moduleId);
    },

    async latestAttempt(coach: Coach, moduleId: string): Promise<Attempt | null> {
      const all = (await deps.attempts.listForUser(coach.userId, coach.courseId)).filter((a) => a.moduleId === moduleId);
      return all[all.length - 1] ?? null;
    },

    /** Records an answer once; a repeated submission (double click, reload) changes nothing. */
    async answer(coach: Coach, attemptId: string, itemId: string, input: AnswerInput): Promise<{ recorded: boolean; attempt: Attempt }> {
      const attempt = await ownAttempt(coach, attemptId);
      const module = await moduleOf(attempt);
      const item = module.items.find((i) => i.id === itemId);
      if (!item) throw new NotFoundError('There is no such question in this module.');
      if (item.kind !== input.kind) throw new BadRequestError('The answer does not fit the question.');
      if (attempt.answers.some((a) => a.itemId === itemId)) return { recorded: false, attempt };
      if (attempt.status !== 'in_progress') throw new ConflictError('This attempt is finished; start a new attempt to answer again.');
      let stored: StoredAnswer;
      if (item.kind === 'mcq' && input.kind === 'mcq') {
        const valid = new Set(item.options.map((o) => o.id));
        const selected = [...new Set(input.selected)];
        if (selected.length === 0) throw new BadRequestError('Choose an answer before submitting.');
        if (selected.some((s) => !valid.has(s))) throw new BadRequestError('That option is not part of the question.');
        if (!item.multiple && selected.length !== 1) throw new BadRequestError('Choose one answer.');
        stored = {
          itemId,
          kind: 'mcq',
          selected: selected.sort(),
          text: undefined,
          selfLevel: undefined,
          facultyLevel: undefined,
          facultyRatedBy: undefined,
          submittedAt: now(),
        };
      } else if (input.kind === 'reflection') {
        stored = {
          itemId,
          kind: 'reflection',
          selected: [],
          text: input.text,
          selfLevel: input.selfLevel,
          facultyLevel: undefined,
          facultyRatedBy: undefined,
          submittedAt: now(),
        };
      } else {
        throw new BadRequestError('The answer does not fit the question.');
      }
      const recorded = await deps.attempts.addAnswer(attempt.id, stored);
      return { recorded, attempt: (await deps.attempts.findById(attempt.id)) ?? attempt };
    },

    async visit(attempt: Attempt, sectionIndex: number): Promise<void> {
      if (attempt.status === 'in_progress' && sectionIndex > attempt.furthestSection)
        await deps.attempts.visitSection(attempt.id, sectionIndex);
    },

    /** Finishes the attempt (all items answered) and recomputes scores; finishing twice changes nothing. */
    async complete(coach: Coach, attemptId: string): Promise<Attempt> {
      const attempt = await ownAttempt(coach, attemptId);
      if (attempt.status === 'completed') return attempt;
      const module = await moduleOf(attempt);
      const missing = module.items.filter((i) => !attempt.answers.some((a) => a.itemId === i.id));
      if (missing.length > 0) throw new BadRequestError(`Answer every question before finishing (${missing.length} left).`);
      const completed = await deps.attempts.complete(attempt.id, now());
      const finished = (await deps.attempts.findById(attempt.id)) ?? attempt;
      if (completed) await recompute(coach, { kind: 'module-completed', attempt: finished });
      return finished;
    },

    async rateReflection(
      rater: { userId: string; courseId: string },
      attemptId: string,
      itemId: string,
      level: RubricLevel,
    ): Promise<void> {
      const attempt = await deps.attempts.findById(attemptId);
      if (!attempt || attempt.courseId !== rater.courseId) throw new NotFoundError('There is no such reflection in this course.');
      if (!(await deps.attempts.rateReflection(attemptId, itemId, level, rater.userId)))
        throw new NotFoundError('There is no such reflection.');
      const course = await deps.records.findCourse(rater.courseId);
      if (!course) throw new ForbiddenError('The course is unknown.');
      if (attempt.status === 'completed') {
        await recompute(
          {
            userId: attempt.userId,
            courseId: attempt.courseId,
            issuer: course.issuer,
            clientId: course.clientId,
            deploymentId: course.deploymentId,
            resourceLinkId: undefined,
          },
          { kind: 'faculty-rating' },
        );
      }
    },

    recompute,

    /** Reflections in a course's completed attempts, for faculty to rate (unrated first). */
    async reflectionsForCourse(courseId: string): Promise<
      {
        attemptId: string;
        userId: string;
        moduleId: string;
        moduleTitle: string;
        itemId: string;
        prompt: string;
        rubric: Record<RubricLevel, string>;
        text: string;
        selfLevel: RubricLevel | undefined;
        facultyLevel: RubricLevel | undefined;
      }[]
    > {
      const out = [];
      for (const attempt of await deps.attempts.listCompletedForCourse(courseId)) {
        const module = await moduleOf(attempt);
        for (const answer of attempt.answers) {
          const item = module.items.find((i) => i.id === answer.itemId);
          if (!item || item.kind !== 'reflection') continue;
          out.push({
            attemptId: attempt.id,
            userId: attempt.userId,
            moduleId: module.id,
            moduleTitle: module.title,
            itemId: item.id,
            prompt: item.prompt,
            rubric: item.rubric,
            text: answer.text ?? '',
            selfLevel: answer.selfLevel,
            facultyLevel: answer.facultyLevel,
          });
        }
      }
      return out.sort((a, b) => Number(Boolean(a.facultyLevel)) - Number(Boolean(b.facultyLevel)));
    },

    async moduleStatuses(coach: Coach): Promise<Map<string, ModuleStatus>> {
      const statuses = new Map<string, ModuleStatus>();
      for (const attempt of await deps.attempts.listForUser(coach.userId, coach.courseId)) {
        const current = statuses.get(attempt.moduleId);
        if (attempt.status === 'completed') statuses.set(attempt.moduleId, 'completed');
        else if (current !== 'completed') statuses.set(attempt.moduleId, 'in_progress');
      }
      return statuses;
    },

    scoresFor(coach: Coach): Promise<ScoreSnapshot | null> {
      return deps.scores.find(coach.userId, coach.courseId);
    },
  };
}

export type AssessmentService = ReturnType<typeof createAssessmentService>;

export function coachFromSession(launch: {
  userId: string;
  courseId: string | undefined;
  issuer: string;
  clientId: string;
  deploymentId: string;
  resourceLinkId: string | undefined;
}): Coach {
  return {
    userId: launch.userId,
    courseId: launch.courseId ?? null,
    issuer: launch.issuer,
    clientId: launch.clientId,
    deploymentId: launch.deploymentId,
    resourceLinkId: launch.resourceLinkId,
  };
}
