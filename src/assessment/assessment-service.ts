import { randomUUID } from 'node:crypto';
import type { Catalog } from '../curriculum/catalog';
import {
  mixedResponseRule,
  reflectionLevelFromCriteria,
  type ModuleFile,
  type PromptPart,
  type Rubric,
  type RubricLevel,
} from '../curriculum/content-schema';
import { chooseForm, displayOrder, formOf } from '../curriculum/presentation';
import type { ModuleStore } from '../curriculum/module-store';
import type { LaunchRecords } from '../courses/launch-records';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../shared/errors';
import type { EventBus, ScoreCause } from '../shared/events';
import type { Logger } from '../shared/logger';
import { noFaultPoint, type FaultPoint } from '../shared/fault-points';
import type {
  Attempt,
  AttemptRepository,
  CriterionRating,
  FacultyRating,
  OwedMark,
  ServedFormRecord,
  StoredAnswer,
} from './attempt-repository';
import type { ScoreRepository, ScoreSnapshot } from './score-repository';
import type { NewObservation, Observation, ObservationRepository } from '../faculty/observation-repository';
import { attemptScore, countingAttempts, courseCompetencyScores, type Answer, type CompletedAttempt } from './scoring';

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
  /** Test-only crash points (COACHLTI_FAULT_POINT). */
  fault?: FaultPoint;
  /** Faculty observations of practice (evidence kind `observation`); without it no observation counts. */
  observations?: ObservationRepository;
}

function toScoringAnswers(answers: readonly StoredAnswer[]): Answer[] {
  return answers.map((a) =>
    a.kind === 'mcq'
      ? { kind: 'mcq', itemId: a.itemId, selected: a.selected, variantId: a.variantId }
      : { kind: 'reflection', itemId: a.itemId, selfLevel: a.selfLevel, facultyLevel: a.facultyLevel },
  );
}

/** The form an attempt serves for an item (undefined: the original). */
export function servedVariant(attempt: Pick<Attempt, 'forms'>, itemId: string): string | undefined {
  return attempt.forms.find((f) => f.itemId === itemId)?.variantId ?? undefined;
}

/** A faculty rating as entered: a level per rubric criterion (or one level for rubrics without criteria) and a comment. */
export interface RatingInput {
  criteria: CriterionRating[];
  /** Only for module versions whose rubric has no criteria. */
  level?: RubricLevel | undefined;
  comment: string;
}

export interface CourseReflection {
  attemptId: string;
  userId: string;
  moduleId: string;
  moduleTitle: string;
  itemId: string;
  prompt: string;
  promptParts: PromptPart[];
  rubric: Rubric;
  mixedResponseRule: string;
  text: string;
  /** The coach's self-rating: pages show it to a rater only after they have rated (blind rating). */
  selfLevel: RubricLevel | undefined;
  first: FacultyRating | undefined;
  second: FacultyRating | undefined;
  /** When the coach submitted it: the rating queue shows the oldest first. */
  submittedAt: Date;
}

/** Use cases of the coach's work: start, answer, move on, finish, and the scores that follow. */
export function createAssessmentService(deps: AssessmentDeps) {
  const now = deps.now ?? (() => new Date());
  const fault = deps.fault ?? noFaultPoint;

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

  type Cause = ScoreCause;

  /**
   * Recomputes a learner's course scores and publishes them (the passback handler writes the outbox).
   * The version is taken from the database before the attempts are read, so a later version always saw
   * at least the data an earlier one saw, whatever the clocks say.
   */
  async function computeAndPublish(userId: string, courseId: string | null, cause: Cause, causeAttempt?: Attempt): Promise<ScoreSnapshot> {
    const version = await deps.scores.nextVersion(userId, courseId);
    const completed = await deps.attempts.listCompletedForUser(userId, courseId);
    const scoring: (CompletedAttempt & { attempt: Attempt })[] = [];
    for (const attempt of completed) {
      scoring.push({
        moduleId: attempt.moduleId,
        module: await moduleOf(attempt),
        completedAt: attempt.completedAt ?? attempt.startedAt,
        answers: toScoringAnswers(attempt.answers),
        attempt,
      });
    }
    const observed = deps.observations && courseId ? await deps.observations.listFor(userId, courseId) : [];
    const computedAt = now();
    const snapshot: ScoreSnapshot = {
      userId,
      courseId,
      scores: courseCompetencyScores(scoring, undefined, observed),
      computedAt,
      version,
    };
    await deps.scores.save(snapshot);
    fault('after-score-save');

    const [user, course] = await Promise.all([deps.records.findUser(userId), courseId ? deps.records.findCourse(courseId) : null]);
    if (!user || !course) return snapshot; // No LMS course: nothing to send anywhere.
    const counting = countingAttempts(scoring) as (CompletedAttempt & { attempt: Attempt })[];
    const moduleScores = [];
    for (const link of await deps.records.listModuleLinks(course.id)) {
      const counted = counting.find((c) => c.moduleId === link.moduleId);
      if (!counted || !link.moduleId) continue;
      moduleScores.push({
        moduleId: link.moduleId,
        resourceLinkId: link.resourceLinkId,
        lineItemUrl: link.lineItemUrl,
        score: Math.round(attemptScore(counted) * 10000) / 100,
        pendingFacultyRating: counted.attempt.answers.some((a) => a.kind === 'reflection' && !a.facultyLevel),
      });
    }
    const event = {
      type: 'competencyScoresChanged' as const,
      platform: { issuer: course.issuer, clientId: course.clientId, deploymentId: course.deploymentId },
      context: { courseId: course.id, contextId: course.contextId },
      user: { userId: user.id, sub: user.sub },
      cause: { kind: cause, moduleId: causeAttempt?.moduleId, attemptId: causeAttempt?.id },
      scores: snapshot.scores.map((s) => ({
        competencyId: s.competencyId,
        status: s.status,
        ...(s.score !== undefined ? { score: s.score } : {}),
        ...(s.level !== undefined ? { level: s.level } : {}),
        ...(s.missing !== undefined ? { missing: s.missing } : {}),
        modules: s.modules,
        pendingFacultyRating: s.pendingFacultyRating,
      })),
      moduleScores,
      computedAt,
      version,
    };
    await deps.scores.recordEvent(event);
    await deps.events.publish(event);
    fault('after-enqueue');
    return snapshot;
  }

  /**
   * Pays what is owed for one learner × course: reads the marks first, recomputes and publishes, then
   * clears each mark only if it was not renewed meanwhile (a renewed mark means newer data: owed again).
   */
  async function settle(userId: string, courseId: string | null, causeAttempt?: Attempt): Promise<ScoreSnapshot | null> {
    const [owed, request, observedOwed] = await Promise.all([
      deps.attempts.listOwedFor(userId, courseId),
      courseId ? deps.scores.findRequest(userId, courseId) : null,
      deps.observations && courseId ? deps.observations.listOwedFor(userId, courseId) : [],
    ]);
    if (owed.length === 0 && !request && observedOwed.length === 0) return null;
    // Canvas: only a resync alone is sent as "not a new submission".
    const cause: Cause = owed.some((o) => o.mark.kind === 'module-completed')
      ? 'module-completed'
      : owed.length > 0 || observedOwed.length > 0
        ? 'faculty-rating'
        : (request?.kind ?? 'resync');
    const snapshot = await computeAndPublish(userId, courseId, cause, causeAttempt);
    for (const o of owed) await deps.attempts.clearOwed(o.attemptId, o.mark.token);
    if (request && courseId) await deps.scores.clearRequest(userId, courseId, request.token);
    for (const o of observedOwed) await deps.observations!.clearOwed(o.id, o.token);
    return snapshot;
  }

  /** Settles right away when it can; on failure the mark stays and the sweeper retries. */
  async function settleNow(userId: string, courseId: string | null, causeAttempt?: Attempt): Promise<void> {
    try {
      await settle(userId, courseId, causeAttempt);
    } catch (error) {
      deps.logger.error({ err: error, userId, courseId }, 'score recompute failed; the sweeper will retry');
    }
  }

  const owedMark = (kind: OwedMark['kind']): OwedMark => ({ token: randomUUID(), at: now(), kind });

  /** Asks for a recompute (resync, a column switched on): one durable write, then settles it. */
  async function recompute(
    coach: Pick<Coach, 'userId' | 'courseId'> & Partial<Coach>,
    cause: { kind: 'resync' | 'backfill' },
  ): Promise<ScoreSnapshot | null> {
    if (!coach.courseId) return null;
    await deps.scores.requestRecompute(coach.userId, coach.courseId, { token: randomUUID(), at: now(), kind: cause.kind });
    return settle(coach.userId, coach.courseId);
  }

  return {
    currentModule,
    moduleOf,
    ownAttempt,

    async startOrResume(coach: Coach, moduleId: string, startKey: string): Promise<Attempt> {
      const module = await currentModule(moduleId);
      // The form's key is only unique per person: another coach's key must never lead to their attempt.
      const scopedKey = `${coach.userId}:${coach.courseId ?? '-'}:${startKey}`;
      // Parallel forms: each question is served in a form this coach has not seen before (in any course), so the
      // feedback of one attempt never hands over the key of the next.
      const previous = await deps.attempts.listForUserModule(coach.userId, moduleId);
      const forms: ServedFormRecord[] = module.items.flatMap((item) =>
        item.kind === 'mcq'
          ? [
              {
                itemId: item.id,
                variantId:
                  chooseForm(
                    item,
                    previous.map((a) => servedVariant(a, item.id)),
                  ) ?? null,
              },
            ]
          : [],
      );
      return deps.attempts.open({
        userId: coach.userId,
        courseId: coach.courseId,
        moduleId,
        moduleVersion: module.version,
        startKey: scopedKey,
        forms,
      });
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
        const form = formOf(item, servedVariant(attempt, item.id));
        const valid = new Set(form.options.map((o) => o.id));
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
          ...(form.variantId ? { variantId: form.variantId } : {}),
          displayedOrder: displayOrder(
            attempt.id,
            item.id,
            form.variantId,
            form.options.map((o) => o.id),
          ),
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
      if (attempt.status === 'completed') {
        // Finish pressed again (e.g. after a crash): pay anything still owed right away.
        await settleNow(coach.userId, coach.courseId);
        return attempt;
      }
      const module = await moduleOf(attempt);
      const missing = module.items.filter((i) => !attempt.answers.some((a) => a.itemId === i.id));
      if (missing.length > 0) throw new BadRequestError(`Answer every question before finishing (${missing.length} left).`);
      // Completion and "scores owed" in one write: a crash after it leaves work for the sweeper, never a loss.
      const completed = await deps.attempts.complete(attempt.id, now(), owedMark('module-completed'));
      fault('after-complete');
      const finished = (await deps.attempts.findById(attempt.id)) ?? attempt;
      if (completed) await settleNow(coach.userId, coach.courseId, finished);
      return finished;
    },

    /**
     * Rates a reflection per rubric criterion; the level follows the module's mixed-response rule. The first faculty
     * member's rating counts (a re-rating by them replaces it and rescoring follows); another faculty member's
     * rating is kept as the second rating, shown with the agreement, and does not change the score.
     */
    async rateReflection(
      rater: { userId: string; courseId: string },
      attemptId: string,
      itemId: string,
      given: RatingInput | RubricLevel,
    ): Promise<{ role: 'first' | 'second'; level: RubricLevel }> {
      const attempt = await deps.attempts.findById(attemptId);
      if (!attempt || attempt.courseId !== rater.courseId || attempt.status !== 'completed')
        throw new NotFoundError('There is no such reflection in this course.');
      if (attempt.userId === rater.userId) throw new ForbiddenError('You cannot rate your own reflection.');
      const course = await deps.records.findCourse(rater.courseId);
      if (!course) throw new ForbiddenError('The course is unknown.');
      const module = await moduleOf(attempt);
      const item = module.items.find((i) => i.id === itemId);
      const answer = attempt.answers.find((a) => a.itemId === itemId);
      if (!item || item.kind !== 'reflection' || !answer) throw new NotFoundError('There is no such reflection.');
      const criteria = item.rubric.criteria ?? [];
      // A bare level (scripts, tests) rates every criterion at that level.
      const input: RatingInput =
        typeof given === 'string'
          ? { criteria: criteria.map((c) => ({ criterionId: c.id, level: given })), level: given, comment: '' }
          : given;
      let level: RubricLevel;
      if (criteria.length > 0) {
        const given = new Map(input.criteria.map((c) => [c.criterionId, c.level]));
        const missing = criteria.filter((c) => !given.has(c.id));
        if (missing.length > 0) throw new BadRequestError(`Rate every criterion (${missing.map((c) => c.name).join(', ')} not rated).`);
        if (input.criteria.some((c) => !criteria.some((k) => k.id === c.criterionId)))
          throw new BadRequestError('A rated criterion is not part of this rubric.');
        level = reflectionLevelFromCriteria(criteria.map((c) => given.get(c.id)!));
      } else {
        if (!input.level) throw new BadRequestError('Choose a rubric level.');
        level = input.level;
      }
      const rating: FacultyRating = {
        raterId: rater.userId,
        criteria:
          criteria.length > 0
            ? criteria.map((c) => ({ criterionId: c.id, level: input.criteria.find((x) => x.criterionId === c.id)!.level }))
            : [],
        level,
        comment: input.comment,
        ratedAt: now(),
      };
      if (answer.facultyLevel && answer.facultyRatedBy && answer.facultyRatedBy !== rater.userId) {
        if (answer.secondRating && answer.secondRating.raterId !== rater.userId)
          throw new ConflictError('Two faculty members have rated this reflection already.');
        if (!(await deps.attempts.addSecondRating(attemptId, itemId, rating))) throw new NotFoundError('There is no such reflection.');
        return { role: 'second', level };
      }
      if (!(await deps.attempts.rateReflection(attemptId, itemId, rating, owedMark('faculty-rating'))))
        throw new NotFoundError('There is no such reflection.');
      await settleNow(attempt.userId, attempt.courseId);
      return { role: 'first', level };
    },

    recompute,
    settle,

    /** Records a faculty observation (scores owed in the same write), then recomputes and publishes like a rating. */
    async recordObservation(input: NewObservation): Promise<Observation> {
      if (!deps.observations) throw new NotFoundError('Observations are not available.');
      const observation = await deps.observations.add(input, now());
      await settleNow(input.userId, input.courseId);
      return observation;
    },

    observationsFor(userId: string, courseId: string): Promise<Observation[]> {
      return deps.observations ? deps.observations.listFor(userId, courseId) : Promise.resolve([]);
    },

    /** One sweep: settles every mark older than `graceMs` (0 at start-up). Returns how many learners were settled. */
    async sweepOwed(graceMs: number, limit = 200): Promise<number> {
      const before = new Date(now().getTime() - graceMs);
      const [owed, requests, observed] = await Promise.all([
        deps.attempts.listOwed(before, limit),
        deps.scores.listRequests(before, limit),
        deps.observations ? deps.observations.listOwed(before, limit) : [],
      ]);
      const learners = new Map<string, { userId: string; courseId: string | null }>();
      for (const o of [...owed, ...requests, ...observed])
        learners.set(`${o.userId}|${o.courseId ?? '-'}`, { userId: o.userId, courseId: o.courseId });
      let settled = 0;
      for (const l of learners.values()) {
        try {
          if (await settle(l.userId, l.courseId)) settled += 1;
        } catch (error) {
          deps.logger.error({ err: error, userId: l.userId, courseId: l.courseId }, 'owed scores could not be settled; retrying later');
        }
      }
      return settled;
    },

    /** Reflections in a course's completed attempts, for faculty to rate (unrated first). */
    /** With `userId`, only that person's (a coach's own page reads these, not the whole class's). */
    async reflectionsForCourse(courseId: string, userId?: string): Promise<CourseReflection[]> {
      const out: CourseReflection[] = [];
      const attempts = userId
        ? await deps.attempts.listCompletedForUser(userId, courseId)
        : await deps.attempts.listCompletedForCourse(courseId);
      for (const attempt of attempts) {
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
            promptParts: item.promptParts ?? [],
            rubric: item.rubric,
            mixedResponseRule: module.mixedResponseRule ?? mixedResponseRule,
            text: answer.text ?? '',
            selfLevel: answer.selfLevel,
            first:
              answer.facultyLevel && answer.facultyRatedBy
                ? {
                    raterId: answer.facultyRatedBy,
                    level: answer.facultyLevel,
                    criteria: answer.facultyCriteria ?? [],
                    comment: answer.facultyComment ?? '',
                    ratedAt: answer.facultyRatedAt ?? attempt.completedAt ?? attempt.startedAt,
                  }
                : undefined,
            second: answer.secondRating,
            submittedAt: answer.submittedAt ?? attempt.completedAt ?? attempt.startedAt,
          });
        }
      }
      // Awaiting a rating first, oldest first within each group (the rating queue's order).
      return out.sort((a, b) => Number(Boolean(a.first)) - Number(Boolean(b.first)) || a.submittedAt.getTime() - b.submittedAt.getTime());
    },

    /** Every attempt in a course and every coach's latest scores there (the faculty overview). */
    async courseProgress(courseId: string): Promise<{ attempts: Attempt[]; snapshots: ScoreSnapshot[] }> {
      const [attempts, snapshots] = await Promise.all([deps.attempts.listForCourse(courseId), deps.scores.listForCourse(courseId)]);
      return { attempts, snapshots };
    },

    /** Every stored snapshot of the coach's scores in this course, oldest first. */
    scoreHistory(coach: Coach): Promise<ScoreSnapshot[]> {
      return deps.scores.history(coach.userId, coach.courseId);
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
