import type { ModuleFile, RubricLevel } from '../curriculum/content-schema';

/**
 * Scoring: item → objective → competency → proficiency level. Pure functions, no IO.
 *
 * Rules (also in the README):
 * - Single-best-answer MCQ: 1 when the correct option alone is chosen, else 0.
 * - Multiple-answer MCQ: (correct options chosen − incorrect options chosen) / correct options, floored
 *   at 0. Choosing every option therefore earns 0, and choosing one more correct option never lowers it.
 * - Reflection: rubric level → novice 0.25, developing 0.5, proficient 0.75, expert 1. A self-rating
 *   counts with weight 0.5 relative to an MCQ; a faculty rating, once given, replaces it with weight 1.
 * - Objective score: weighted mean of the attempted items that assess it.
 * - Competency score (0–100): mean of the attempted objectives' scores, weighted by each objective's
 *   weight for the competency. Objectives with no attempted item do not count (no zeros for work not done).
 */

export const rubricValue: Record<RubricLevel, number> = { novice: 0.25, developing: 0.5, proficient: 0.75, expert: 1 };
export const selfRatingWeight = 0.5;
export const facultyRatingWeight = 1;

export type ProficiencyLevel = 'novice' | 'developing' | 'proficient' | 'expert';

export interface LevelThresholds {
  developing: number;
  proficient: number;
  expert: number;
}

export const defaultThresholds: LevelThresholds = { developing: 40, proficient: 65, expert: 85 };

export function proficiencyLevel(score: number, thresholds: LevelThresholds = defaultThresholds): ProficiencyLevel {
  if (score >= thresholds.expert) return 'expert';
  if (score >= thresholds.proficient) return 'proficient';
  if (score >= thresholds.developing) return 'developing';
  return 'novice';
}

export interface McqAnswer {
  kind: 'mcq';
  itemId: string;
  selected: readonly string[];
}

export interface ReflectionAnswer {
  kind: 'reflection';
  itemId: string;
  selfLevel: RubricLevel;
  facultyLevel?: RubricLevel | undefined;
}

export type Answer = McqAnswer | ReflectionAnswer;

export interface ItemScore {
  itemId: string;
  /** 0–1 */
  score: number;
  /** Relative weight of this evidence. */
  weight: number;
  /** A reflection without a faculty rating yet. */
  pendingFacultyRating: boolean;
}

export function scoreMcq(options: readonly { id: string; correct: boolean }[], multiple: boolean, selected: readonly string[]): number {
  const chosen = new Set(selected);
  if (!multiple) {
    const correct = options.find((o) => o.correct);
    return chosen.size === 1 && correct !== undefined && chosen.has(correct.id) ? 1 : 0;
  }
  const correctCount = options.filter((o) => o.correct).length;
  if (correctCount === 0) return 0;
  let hits = 0;
  let misses = 0;
  for (const option of options) {
    if (!chosen.has(option.id)) continue;
    if (option.correct) hits += 1;
    else misses += 1;
  }
  return Math.max(0, (hits - misses) / correctCount);
}

export function scoreReflection(selfLevel: RubricLevel, facultyLevel: RubricLevel | undefined): Omit<ItemScore, 'itemId'> {
  if (facultyLevel) return { score: rubricValue[facultyLevel], weight: facultyRatingWeight, pendingFacultyRating: false };
  return { score: rubricValue[selfLevel], weight: selfRatingWeight, pendingFacultyRating: true };
}

/** Scores every answer that matches an item of the module (answers to unknown items are ignored). */
export function scoreItems(module: ModuleFile, answers: readonly Answer[]): ItemScore[] {
  const items = new Map(module.items.map((i) => [i.id, i]));
  const scores: ItemScore[] = [];
  for (const answer of answers) {
    const item = items.get(answer.itemId);
    if (!item || item.kind !== answer.kind) continue;
    if (item.kind === 'mcq' && answer.kind === 'mcq') {
      scores.push({
        itemId: item.id,
        score: scoreMcq(item.options, item.multiple, answer.selected),
        weight: 1,
        pendingFacultyRating: false,
      });
    } else if (answer.kind === 'reflection') {
      scores.push({ itemId: item.id, ...scoreReflection(answer.selfLevel, answer.facultyLevel) });
    }
  }
  return scores;
}

export interface ObjectiveScore {
  objectiveId: string;
  score: number;
  weight: number;
}

export function scoreObjectives(module: ModuleFile, itemScores: readonly ItemScore[]): ObjectiveScore[] {
  const byItem = new Map(itemScores.map((s) => [s.itemId, s]));
  const out: ObjectiveScore[] = [];
  for (const objective of module.objectives) {
    let sum = 0;
    let weight = 0;
    for (const item of module.items) {
      const s = byItem.get(item.id);
      if (!s || !item.objectives.includes(objective.id)) continue;
      sum += s.score * s.weight;
      weight += s.weight;
    }
    if (weight > 0) out.push({ objectiveId: objective.id, score: sum / weight, weight });
  }
  return out;
}

/** One piece of evidence for a competency: an attempted objective with its weight for that competency. */
export interface CompetencyEvidence {
  competencyId: string;
  moduleId: string;
  objectiveId: string;
  /** 0–1 */
  score: number;
  weight: number;
  pendingFacultyRating: boolean;
}

export function competencyEvidence(module: ModuleFile, answers: readonly Answer[]): CompetencyEvidence[] {
  const items = scoreItems(module, answers);
  const objectives = new Map(scoreObjectives(module, items).map((o) => [o.objectiveId, o]));
  const pendingItems = new Set(items.filter((i) => i.pendingFacultyRating).map((i) => i.itemId));
  const evidence: CompetencyEvidence[] = [];
  for (const objective of module.objectives) {
    const scored = objectives.get(objective.id);
    if (!scored) continue;
    const pending = module.items.some((i) => pendingItems.has(i.id) && i.objectives.includes(objective.id));
    for (const c of objective.competencies) {
      evidence.push({
        competencyId: c.id,
        moduleId: module.id,
        objectiveId: objective.id,
        score: scored.score,
        weight: c.weight,
        pendingFacultyRating: pending,
      });
    }
  }
  return evidence;
}

export interface CompetencyScore {
  competencyId: string;
  /** 0–100, decimals kept (rounded to 2 places for storage and display). */
  score: number;
  level: ProficiencyLevel;
  modules: string[];
  objectives: number;
  pendingFacultyRating: boolean;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

export function aggregateCompetencies(
  evidence: readonly CompetencyEvidence[],
  thresholds: LevelThresholds = defaultThresholds,
): CompetencyScore[] {
  const groups = new Map<string, CompetencyEvidence[]>();
  for (const e of evidence) groups.set(e.competencyId, [...(groups.get(e.competencyId) ?? []), e]);
  const out: CompetencyScore[] = [];
  for (const [competencyId, list] of groups) {
    const weight = list.reduce((s, e) => s + e.weight, 0);
    if (weight <= 0) continue;
    const score = round2((list.reduce((s, e) => s + e.score * e.weight, 0) / weight) * 100);
    out.push({
      competencyId,
      score,
      level: proficiencyLevel(score, thresholds),
      modules: [...new Set(list.map((e) => e.moduleId))].sort(),
      objectives: list.length,
      pendingFacultyRating: list.some((e) => e.pendingFacultyRating),
    });
  }
  return out.sort((a, b) => a.competencyId.localeCompare(b.competencyId, 'en', { numeric: true }));
}

/** A finished attempt at a module, as the course aggregation needs it. */
export interface CompletedAttempt {
  moduleId: string;
  module: ModuleFile;
  completedAt: Date;
  answers: readonly Answer[];
}

/** Mean item score of an attempt (0–1), used by the "best" retake policy. */
export function attemptScore(attempt: CompletedAttempt): number {
  const items = scoreItems(attempt.module, attempt.answers);
  const weight = items.reduce((s, i) => s + i.weight, 0);
  return weight === 0 ? 0 : items.reduce((s, i) => s + i.score * i.weight, 0) / weight;
}

/**
 * The attempts that count per module under its retake policy: `latest` (default) takes the most
 * recently completed attempt; `best` the highest-scoring one (ties: the later).
 */
export function countingAttempts(attempts: readonly CompletedAttempt[]): CompletedAttempt[] {
  const byModule = new Map<string, CompletedAttempt[]>();
  for (const a of attempts) byModule.set(a.moduleId, [...(byModule.get(a.moduleId) ?? []), a]);
  const chosen: CompletedAttempt[] = [];
  for (const list of byModule.values()) {
    const sorted = [...list].sort((a, b) => a.completedAt.getTime() - b.completedAt.getTime());
    const latest = sorted[sorted.length - 1];
    if (!latest) continue;
    if (latest.module.retakePolicy === 'best') {
      chosen.push(sorted.reduce((best, a) => (attemptScore(a) >= attemptScore(best) ? a : best)));
    } else {
      chosen.push(latest);
    }
  }
  return chosen;
}

/** Per course: every module the coach completed there, each by its retake policy, pooled per competency. */
export function courseCompetencyScores(
  attempts: readonly CompletedAttempt[],
  thresholds: LevelThresholds = defaultThresholds,
): CompetencyScore[] {
  return aggregateCompetencies(
    countingAttempts(attempts).flatMap((a) => competencyEvidence(a.module, a.answers)),
    thresholds,
  );
}
