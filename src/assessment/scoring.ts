import { rubricLevels, type McqItem, type ModuleFile, type RubricLevel } from '../curriculum/content-schema';

/**
 * Scoring: answers → evidence → competency score and level. Pure functions, no IO. Rules (also in the README,
 * "What a competency score means"):
 *
 * - Evidence is one item answered in a module, for one competency its objectives map to. Kinds:
 *   `knowledge` (a scenario question, scored by the key) and `reflection` (a written performance rated by faculty).
 *   `observation` is a faculty direct observation of coaching practice, one level per observed competency.
 * - Value of evidence (0–1): single-best 1 or 0; multiple-answer (hits − misses) ÷ keys, floored at 0;
 *   a reflection or observation its faculty level (novice 0, developing ⅓, proficient ⅔, expert 1). An unrated reflection has no
 *   value: it adds nothing until faculty rate it. Self-ratings never enter the score.
 * - Weight: the competency's weight on the item's objectives (the highest, when an item serves several). Weight 1 is
 *   primary; lower weights are secondary and contribute at their weight. An observation is primary at weight 2 (the
 *   strongest evidence), counts as a faculty-rated performance, and each observation is a separate source for Expert.
 * - Score (0–100): weighted mean of the valued evidence.
 * - Sufficient evidence: at least `minItems` valued primary items of at least `minKinds` kinds, at least one a
 *   faculty-rated performance. Otherwise the competency is reported as "insufficient evidence", not as a number.
 * - Level: from the score (thresholds), but never above what the ratings support: Proficient needs a faculty rating
 *   at proficient or above on the competency (primary evidence); Expert needs `expertRatings` faculty ratings at
 *   expert from as many different modules.
 */

export type ProficiencyLevel = 'novice' | 'developing' | 'proficient' | 'expert';
export const proficiencyLevels: readonly ProficiencyLevel[] = ['novice', 'developing', 'proficient', 'expert'];

export interface LevelThresholds {
  developing: number;
  proficient: number;
  expert: number;
}

export const defaultThresholds: LevelThresholds = { developing: 40, proficient: 65, expert: 85 };

export interface EvidenceRules {
  thresholds: LevelThresholds;
  /** Valued primary items needed before a score is reported. */
  minItems: number;
  /** Distinct evidence kinds among them. */
  minKinds: number;
  /** Faculty-rated performances among them. */
  minRatedPerformances: number;
  /** Faculty ratings at expert, from this many different modules, needed for Expert. */
  expertRatings: number;
}

export const defaultRules: EvidenceRules = {
  thresholds: defaultThresholds,
  minItems: 3,
  minKinds: 2,
  minRatedPerformances: 1,
  expertRatings: 2,
};

export function proficiencyLevel(score: number, thresholds: LevelThresholds = defaultThresholds): ProficiencyLevel {
  if (score >= thresholds.expert) return 'expert';
  if (score >= thresholds.proficient) return 'proficient';
  if (score >= thresholds.developing) return 'developing';
  return 'novice';
}

/** Faculty rubric level → value 0–1: the position on the four-level scale. */
export const rubricValue: Record<RubricLevel, number> = { novice: 0, developing: 1 / 3, proficient: 2 / 3, expert: 1 };
const rank = (level: RubricLevel): number => rubricLevels.indexOf(level);

export interface McqAnswer {
  kind: 'mcq';
  itemId: string;
  selected: readonly string[];
  /** The parallel form served (undefined: the item's original form). */
  variantId?: string | undefined;
}

export interface ReflectionAnswer {
  kind: 'reflection';
  itemId: string;
  selfLevel: RubricLevel | undefined;
  /** The rating of record (the first faculty rater's reflection level). */
  facultyLevel?: RubricLevel | undefined;
}

export type Answer = McqAnswer | ReflectionAnswer;

// ---- Evidence -------------------------------------------------------------------------------------------

interface EvidenceBase {
  competencyId: string;
  moduleId: string;
  itemId: string;
  /** The competency's weight on the item's objectives: 1 primary, below 1 secondary. */
  weight: number;
}

/** A scenario question scored by its key. */
export interface KnowledgeEvidence extends EvidenceBase {
  kind: 'knowledge';
  /** 0–1 */
  value: number;
}

/** A written reflection: a performance, valued only once faculty rate it. */
export interface ReflectionEvidence extends EvidenceBase {
  kind: 'reflection';
  facultyLevel: RubricLevel | undefined;
  selfLevel: RubricLevel | undefined;
}

/**
 * A faculty direct observation of coaching practice (live, recorded or simulated), rated on the four-level scale for
 * one competency. The strongest kind: always primary, counted at `observationWeight` (twice a primary item), and a
 * faculty-rated performance for the sufficiency and level rules. `moduleId` is `observation:<id>` so that two
 * observations count as two sources for Expert, as two modules do; `itemId` names the observation.
 */
export interface ObservationEvidence extends EvidenceBase {
  kind: 'observation';
  facultyLevel: RubricLevel;
}

/** Weight of an observed competency: practice seen by faculty outweighs a single item answered in a module. */
export const observationWeight = 2;

/** Observations are scored per competency; their `moduleId` is not a module of the catalogue. */
export const observationSource = (observationId: string): string => `observation:${observationId}`;

/** Every kind of evidence. Add a kind here and to the three functions below. */
export type Evidence = KnowledgeEvidence | ReflectionEvidence | ObservationEvidence;
export type EvidenceKind = Evidence['kind'];

/** The value of a piece of evidence, or undefined while it awaits a faculty rating (then it adds nothing). */
export function evidenceValue(e: Evidence): number | undefined {
  switch (e.kind) {
    case 'knowledge':
      return e.value;
    case 'reflection':
      return e.facultyLevel === undefined ? undefined : rubricValue[e.facultyLevel];
    case 'observation':
      return rubricValue[e.facultyLevel];
  }
}

/** The faculty level of a rated performance (undefined for knowledge checks and unrated performances). */
export function facultyRating(e: Evidence): RubricLevel | undefined {
  switch (e.kind) {
    case 'knowledge':
      return undefined;
    case 'reflection':
    case 'observation':
      return e.facultyLevel;
  }
}

/** The coach's own rating of the same performance, if any: shown beside the score, never in it. */
export function selfRating(e: Evidence): RubricLevel | undefined {
  switch (e.kind) {
    case 'knowledge':
    case 'observation':
      return undefined;
    case 'reflection':
      return e.selfLevel;
  }
}

// ---- Items ----------------------------------------------------------------------------------------------

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

/** The options of the form that was served: the variant's, or the item's own. */
export function servedOptions(item: McqItem, variantId: string | undefined): McqItem['options'] {
  if (!variantId) return item.options;
  return item.variants?.find((v) => v.id === variantId)?.options ?? item.options;
}

/** Evidence from one attempt's answers: one entry per answered item per competency its objectives map to. */
export function attemptEvidence(module: ModuleFile, answers: readonly Answer[]): Evidence[] {
  const items = new Map(module.items.map((i) => [i.id, i]));
  const objectives = new Map(module.objectives.map((o) => [o.id, o]));
  const out: Evidence[] = [];
  for (const answer of answers) {
    const item = items.get(answer.itemId);
    if (!item || item.kind !== answer.kind) continue;
    const weights = new Map<string, number>();
    for (const oid of item.objectives)
      for (const c of objectives.get(oid)?.competencies ?? []) weights.set(c.id, Math.max(weights.get(c.id) ?? 0, c.weight));
    for (const [competencyId, weight] of weights) {
      const base = { competencyId, moduleId: module.id, itemId: item.id, weight };
      if (item.kind === 'mcq' && answer.kind === 'mcq') {
        out.push({ ...base, kind: 'knowledge', value: scoreMcq(servedOptions(item, answer.variantId), item.multiple, answer.selected) });
      } else if (answer.kind === 'reflection') {
        out.push({ ...base, kind: 'reflection', facultyLevel: answer.facultyLevel, selfLevel: answer.selfLevel });
      }
    }
  }
  return out;
}

// ---- Competencies ---------------------------------------------------------------------------------------

export interface EvidenceSummary {
  /** Valued primary items (the sufficiency count). */
  primaryItems: number;
  /** Valued secondary items (contribute at their weight, reported apart). */
  secondaryItems: number;
  kinds: EvidenceKind[];
  ratedPerformances: number;
  /** Performances awaiting a faculty rating (they add nothing yet). */
  pending: number;
}

export interface SelfAssessment {
  /** Mean self-rating on the 0–100 scale, over performances the coach rated. */
  selfScore: number;
  /** Mean (self − faculty) in rubric levels over performances both rated; positive: the coach rates higher. */
  gapLevels?: number;
  compared: number;
}

export type CompetencyStatus = 'scored' | 'insufficient-evidence';

export interface CompetencyScore {
  competencyId: string;
  status: CompetencyStatus;
  /** 0–100, two decimals; absent with insufficient evidence. */
  score?: number;
  /** Absent with insufficient evidence. */
  level?: ProficiencyLevel;
  /** Why the level is lower than the score alone would give (an evidence rule), if it is. */
  levelCap?: string;
  /** What is missing, with insufficient evidence. */
  missing?: string;
  modules: string[];
  evidence: EvidenceSummary;
  selfAssessment?: SelfAssessment;
  pendingFacultyRating: boolean;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;
const order = (l: ProficiencyLevel): number => proficiencyLevels.indexOf(l);

function missingText(s: EvidenceSummary, rules: EvidenceRules): string | undefined {
  const parts: string[] = [];
  if (s.primaryItems < rules.minItems) parts.push(`${s.primaryItems} of ${rules.minItems} items`);
  if (s.kinds.length < rules.minKinds) parts.push(`${s.kinds.length} of ${rules.minKinds} kinds of evidence`);
  if (s.ratedPerformances < rules.minRatedPerformances)
    parts.push(s.pending > 0 ? 'no faculty-rated reflection yet (awaiting rating)' : 'no faculty-rated reflection yet');
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** One competency from its evidence. */
export function scoreCompetency(competencyId: string, evidence: readonly Evidence[], rules: EvidenceRules = defaultRules): CompetencyScore {
  const valued = evidence.filter((e) => evidenceValue(e) !== undefined);
  const primary = valued.filter((e) => e.weight >= 1);
  const primaryRatings = primary.flatMap((e) => {
    const r = facultyRating(e);
    return r ? [{ level: r, moduleId: e.moduleId }] : [];
  });
  const summary: EvidenceSummary = {
    primaryItems: primary.length,
    secondaryItems: valued.length - primary.length,
    kinds: [...new Set(primary.map((e) => e.kind))].sort(),
    ratedPerformances: primaryRatings.length,
    pending: evidence.filter((e) => evidenceValue(e) === undefined).length,
  };
  const selfRated = evidence.flatMap((e) => {
    const s = selfRating(e);
    return s ? [{ self: s, faculty: facultyRating(e) }] : [];
  });
  const compared = selfRated.flatMap((r) => (r.faculty ? [rank(r.self) - rank(r.faculty)] : []));
  const selfAssessment: SelfAssessment | undefined =
    selfRated.length === 0
      ? undefined
      : {
          selfScore: round2((selfRated.reduce((s, r) => s + rubricValue[r.self], 0) / selfRated.length) * 100),
          ...(compared.length === 0 ? {} : { gapLevels: round2(compared.reduce((s, g) => s + g, 0) / compared.length) }),
          compared: compared.length,
        };
  const base = {
    competencyId,
    modules: [...new Set(evidence.filter((e) => e.kind !== 'observation').map((e) => e.moduleId))].sort(),
    evidence: summary,
    ...(selfAssessment ? { selfAssessment } : {}),
    pendingFacultyRating: summary.pending > 0,
  };
  const missing = missingText(summary, rules);
  if (missing) return { ...base, status: 'insufficient-evidence', missing };

  const weight = valued.reduce((s, e) => s + e.weight, 0);
  const score = round2((valued.reduce((s, e) => s + (evidenceValue(e) ?? 0) * e.weight, 0) / weight) * 100);
  const byScore = proficiencyLevel(score, rules.thresholds);
  const atProficient = primaryRatings.filter((r) => rank(r.level) >= rank('proficient'));
  const expertModules = new Set(primaryRatings.filter((r) => r.level === 'expert').map((r) => r.moduleId));
  let level = byScore;
  let levelCap: string | undefined;
  if (order(level) >= order('proficient') && atProficient.length === 0) {
    level = 'developing';
    levelCap = 'Proficient needs a faculty rating at Proficient or above on this competency';
  } else if (level === 'expert' && expertModules.size < rules.expertRatings) {
    level = 'proficient';
    levelCap = `Expert needs faculty ratings at Expert from ${rules.expertRatings} different modules`;
  }
  return { ...base, status: 'scored', score, level, ...(levelCap ? { levelCap } : {}) };
}

export function aggregateCompetencies(evidence: readonly Evidence[], rules: EvidenceRules = defaultRules): CompetencyScore[] {
  const groups = new Map<string, Evidence[]>();
  for (const e of evidence) groups.set(e.competencyId, [...(groups.get(e.competencyId) ?? []), e]);
  return [...groups]
    .map(([id, list]) => scoreCompetency(id, list, rules))
    .sort((a, b) => a.competencyId.localeCompare(b.competencyId, 'en', { numeric: true }));
}

/** Orders outcomes for comparison: insufficient evidence below every level. */
export function levelOrder(s: Pick<CompetencyScore, 'status' | 'level'>): number {
  return s.status === 'scored' && s.level ? order(s.level) : -1;
}

// ---- Attempts and courses -------------------------------------------------------------------------------

/** A finished attempt at a module, as the course aggregation needs it. */
export interface CompletedAttempt {
  moduleId: string;
  module: ModuleFile;
  completedAt: Date;
  answers: readonly Answer[];
}

/** Mean value of an attempt's valued items (0–1), for the module column and the "best" retake policy. */
export function attemptScore(attempt: CompletedAttempt): number {
  const byItem = new Map<string, number>();
  for (const e of attemptEvidence(attempt.module, attempt.answers)) {
    const v = evidenceValue(e);
    if (v !== undefined) byItem.set(e.itemId, v);
  }
  const values = [...byItem.values()];
  return values.length === 0 ? 0 : values.reduce((s, v) => s + v, 0) / values.length;
}

/**
 * The attempts that count per module under its retake policy: `latest` (default) takes the most
 * recently completed attempt; `best` the highest-scoring one (ties: the later).
 */
export function countingAttempts<A extends CompletedAttempt>(attempts: readonly A[]): A[] {
  const byModule = new Map<string, A[]>();
  for (const a of attempts) byModule.set(a.moduleId, [...(byModule.get(a.moduleId) ?? []), a]);
  const chosen: A[] = [];
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

/** A recorded observation as scoring needs it: one faculty level per observed competency. */
export interface ObservedPractice {
  id: string;
  ratings: readonly { competencyId: string; level: RubricLevel }[];
}

export function observationEvidence(observations: readonly ObservedPractice[]): ObservationEvidence[] {
  return observations.flatMap((o) =>
    o.ratings.map((r) => ({
      kind: 'observation' as const,
      competencyId: r.competencyId,
      moduleId: observationSource(o.id),
      itemId: o.id,
      weight: observationWeight,
      facultyLevel: r.level,
    })),
  );
}

/**
 * Per course: every module the coach completed there, each by its retake policy, and every faculty observation
 * of the coach's practice there, pooled per competency.
 */
export function courseCompetencyScores(
  attempts: readonly CompletedAttempt[],
  rules: EvidenceRules = defaultRules,
  observations: readonly ObservedPractice[] = [],
): CompetencyScore[] {
  return aggregateCompetencies(
    [...countingAttempts(attempts).flatMap((a) => attemptEvidence(a.module, a.answers)), ...observationEvidence(observations)],
    rules,
  );
}
