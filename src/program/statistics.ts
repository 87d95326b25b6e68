import type { ProficiencyLevel } from '../assessment/scoring';

/**
 * Program statistics: pure functions, no IO. Conventions (also in the README):
 * - Variances are population variances (divide by N) throughout, so KR-20 equals Cronbach's alpha on 0/1 data.
 * - A statistic that is undefined (zero variance, too few items, no data) is null, never NaN.
 * - Quantiles use linear interpolation between order statistics (Hyndman & Fan type 7, R's default).
 * - Any aggregate over fewer than 5 coaches is suppressed: a typed value shown as "n < 5".
 */

export const minimumCohortSize = 5;
export const suppressedLabel = 'n < 5';

export type Aggregate<T> = { readonly kind: 'value'; readonly n: number; readonly value: T } | { readonly kind: 'suppressed' };

/** Computes the aggregate only when n reaches the minimum; otherwise returns the suppressed marker. */
export function aggregate<T>(n: number, compute: () => T): Aggregate<T> {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a whole number ≥ 0 (got ${n})`);
  return n < minimumCohortSize ? { kind: 'suppressed' } : { kind: 'value', n, value: compute() };
}

/** How an aggregate is shown in pages and CSV: the formatted value, or "n < 5". */
export function showAggregate<T>(agg: Aggregate<T>, format: (value: T) => string): string {
  return agg.kind === 'suppressed' ? suppressedLabel : format(agg.value);
}

export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** Population variance (divide by N). */
export function variance(values: readonly number[]): number | null {
  const m = mean(values);
  if (m === null) return null;
  return values.reduce((s, v) => s + (v - m) ** 2, 0) / values.length;
}

/** Pearson correlation; null when either side has no variance or the lengths differ. */
export function pearson(x: readonly number[], y: readonly number[]): number | null {
  if (x.length !== y.length || x.length < 2) return null;
  const mx = mean(x) as number;
  const my = mean(y) as number;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i += 1) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return clamp(sxy / Math.sqrt(sxx * syy), -1, 1);
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** A score matrix: one row per coach, one column per question, each score in [0, 1]. */
export type ScoreMatrix = readonly (readonly number[])[];

function column(matrix: ScoreMatrix, j: number): number[] {
  return matrix.map((row) => row[j] as number);
}

function totals(matrix: ScoreMatrix): number[] {
  return matrix.map((row) => row.reduce((s, v) => s + v, 0));
}

function itemCount(matrix: ScoreMatrix): number {
  const k = matrix[0]?.length ?? 0;
  if (matrix.some((row) => row.length !== k)) throw new RangeError('every row of the score matrix must have the same number of items');
  return k;
}

/** Item difficulty p: the mean item score (share correct for 0/1 items). */
export function itemDifficulty(itemScores: readonly number[]): number | null {
  return mean(itemScores);
}

/** Point-biserial: correlation of the item with the total score (the item included). */
export function pointBiserial(matrix: ScoreMatrix, j: number): number | null {
  itemCount(matrix);
  return pearson(column(matrix, j), totals(matrix));
}

/** Corrected item-total correlation: the item against the total of the other items. */
export function correctedItemTotal(matrix: ScoreMatrix, j: number): number | null {
  itemCount(matrix);
  const item = column(matrix, j);
  return pearson(
    item,
    totals(matrix).map((t, i) => t - (item[i] as number)),
  );
}

/** Share of respondents choosing each option (a respondent may choose several in multiple-answer items). */
export function optionShares(choices: readonly (readonly string[])[], options: readonly string[]): Record<string, number> | null {
  if (choices.length === 0) return null;
  const shares: Record<string, number> = {};
  for (const option of options) shares[option] = choices.filter((c) => c.includes(option)).length / choices.length;
  return shares;
}

export type ItemFlag = 'too-easy' | 'too-hard' | 'negative-discrimination' | 'unused-distractor';

export const tooEasyAbove = 0.9;
export const tooHardBelow = 0.2;

export function itemFlags(input: {
  difficulty: number | null;
  discrimination: number | null;
  shares: Record<string, number> | null;
  correctOptions: readonly string[];
}): ItemFlag[] {
  const flags: ItemFlag[] = [];
  if (input.difficulty !== null && input.difficulty > tooEasyAbove) flags.push('too-easy');
  if (input.difficulty !== null && input.difficulty < tooHardBelow) flags.push('too-hard');
  if (input.discrimination !== null && input.discrimination < 0) flags.push('negative-discrimination');
  if (input.shares && Object.entries(input.shares).some(([option, share]) => share === 0 && !input.correctOptions.includes(option)))
    flags.push('unused-distractor');
  return flags;
}

/** Cronbach's alpha: k/(k−1) · (1 − Σ item variances / total variance). */
export function cronbachAlpha(matrix: ScoreMatrix): number | null {
  const k = itemCount(matrix);
  if (k < 2 || matrix.length < 2) return null;
  const totalVariance = variance(totals(matrix)) as number;
  if (totalVariance === 0) return null;
  let itemVariances = 0;
  for (let j = 0; j < k; j += 1) itemVariances += variance(column(matrix, j)) as number;
  return (k / (k - 1)) * (1 - itemVariances / totalVariance);
}

/** KR-20 for dichotomous (0/1) items: k/(k−1) · (1 − Σ p·q / total variance). */
export function kr20(matrix: ScoreMatrix): number | null {
  const k = itemCount(matrix);
  if (matrix.some((row) => row.some((v) => v !== 0 && v !== 1))) throw new RangeError('KR-20 needs 0/1 item scores; use cronbachAlpha');
  if (k < 2 || matrix.length < 2) return null;
  const totalVariance = variance(totals(matrix)) as number;
  if (totalVariance === 0) return null;
  let pq = 0;
  for (let j = 0; j < k; j += 1) {
    const p = mean(column(matrix, j)) as number;
    pq += p * (1 - p);
  }
  return (k / (k - 1)) * (1 - pq / totalVariance);
}

export interface KappaResult {
  readonly kappa: number | null;
  /** Number of items rated by both raters. */
  readonly n: number;
}

/**
 * Quadratic-weighted Cohen's kappa for two ratings of the same items on an ordered scale 0…k−1
 * (agreement weights 1 − (i−j)²/(k−1)²). Null when chance agreement is perfect (e.g. one category only).
 */
export function quadraticWeightedKappa(pairs: readonly (readonly [number, number])[], categories: number): KappaResult {
  if (!Number.isInteger(categories) || categories < 2) throw new RangeError('at least two categories are needed');
  const n = pairs.length;
  if (n === 0) return { kappa: null, n };
  const table = Array.from({ length: categories }, () => Array<number>(categories).fill(0));
  for (const [a, b] of pairs) {
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a >= categories || b >= categories)
      throw new RangeError(`rating out of range 0…${categories - 1}: ${a}, ${b}`);
    (table[a] as number[])[b] = ((table[a] as number[])[b] as number) + 1;
  }
  return { kappa: weightedKappaFromTable(table), n };
}

/** Weighted kappa from a square contingency table of counts (rows rater A, columns rater B). */
export function weightedKappaFromTable(table: readonly (readonly number[])[]): number | null {
  const k = table.length;
  const n = table.reduce((s, row) => s + row.reduce((a, v) => a + v, 0), 0);
  if (n === 0 || k < 2) return null;
  const rows = table.map((row) => row.reduce((a, v) => a + v, 0) / n);
  const cols = table[0]?.map((_, j) => table.reduce((a, row) => a + (row[j] as number), 0) / n) ?? [];
  let observed = 0;
  let expected = 0;
  for (let i = 0; i < k; i += 1) {
    for (let j = 0; j < k; j += 1) {
      const w = 1 - (i - j) ** 2 / (k - 1) ** 2;
      observed += (w * ((table[i] as number[])[j] as number)) / n;
      expected += w * (rows[i] as number) * (cols[j] as number);
    }
  }
  if (expected >= 1 - 1e-12) return null;
  return (observed - expected) / (1 - expected);
}

/** Quantile by linear interpolation between order statistics (type 7). */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  if (q < 0 || q > 1) throw new RangeError('quantile must be in [0, 1]');
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

export function median(values: readonly number[]): number | null {
  return quantile(values, 0.5);
}

export interface Spread {
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  readonly iqr: number;
}

export function medianAndIqr(values: readonly number[]): Spread | null {
  const q1 = quantile(values, 0.25);
  const m = quantile(values, 0.5);
  const q3 = quantile(values, 0.75);
  if (q1 === null || m === null || q3 === null) return null;
  return { median: m, q1, q3, iqr: q3 - q1 };
}

export const levelOrder: readonly ProficiencyLevel[] = ['novice', 'developing', 'proficient', 'expert'];

export interface LevelDistribution {
  readonly counts: Readonly<Record<ProficiencyLevel, number>>;
  readonly shares: Readonly<Record<ProficiencyLevel, number>>;
}

/** Counts and shares of each proficiency level; suppressed below the minimum cohort size. */
export function levelDistribution(levels: readonly ProficiencyLevel[]): Aggregate<LevelDistribution> {
  return aggregate(levels.length, () => {
    const counts = { novice: 0, developing: 0, proficient: 0, expert: 0 };
    for (const level of levels) counts[level] += 1;
    const shares = { novice: 0, developing: 0, proficient: 0, expert: 0 };
    for (const level of levelOrder) shares[level] = counts[level] / levels.length;
    return { counts, shares };
  });
}

/** Median and spread of competency scores, suppressed below the minimum cohort size. */
export function scoreSpread(scores: readonly number[]): Aggregate<Spread> {
  return aggregate(scores.length, () => medianAndIqr(scores) as Spread);
}

export interface ItemAnalysis {
  readonly itemId: string;
  readonly difficulty: number | null;
  readonly pointBiserial: number | null;
  readonly correctedItemTotal: number | null;
  readonly shares: Record<string, number> | null;
  readonly flags: ItemFlag[];
}

/**
 * Every question of a module: difficulty, discrimination, option shares and flags, from the coaches who
 * answered every question (a complete matrix). Suppressed as a whole below the minimum cohort size.
 */
export function analyseItems(input: {
  items: readonly { itemId: string; options: readonly string[]; correctOptions: readonly string[] }[];
  /** One row per coach: score per item (same order as items) and the options chosen per item. */
  responses: readonly { scores: readonly number[]; choices: readonly (readonly string[])[] }[];
}): Aggregate<{ items: ItemAnalysis[]; alpha: number | null; kr20: number | null }> {
  return aggregate(input.responses.length, () => {
    const matrix = input.responses.map((r) => r.scores);
    const dichotomous = matrix.every((row) => row.every((v) => v === 0 || v === 1));
    const items = input.items.map((item, j) => {
      const difficulty = itemDifficulty(column(matrix, j));
      const corrected = correctedItemTotal(matrix, j);
      const shares = optionShares(
        input.responses.map((r) => r.choices[j] ?? []),
        item.options,
      );
      return {
        itemId: item.itemId,
        difficulty,
        pointBiserial: pointBiserial(matrix, j),
        correctedItemTotal: corrected,
        shares,
        flags: itemFlags({ difficulty, discrimination: corrected, shares, correctOptions: item.correctOptions }),
      };
    });
    return { items, alpha: cronbachAlpha(matrix), kr20: dichotomous ? kr20(matrix) : null };
  });
}

/** Share of a distribution at proficient or expert. */
export function shareProficientOrBetter(d: LevelDistribution): number {
  return d.shares.proficient + d.shares.expert;
}

/**
 * Two aggregates side by side and their difference (second − first). The difference is suppressed when
 * either side is, so a comparison never reveals a group under the minimum size.
 */
export function difference<T>(first: Aggregate<T>, second: Aggregate<T>, of: (v: T) => number): Aggregate<number> {
  if (first.kind === 'suppressed' || second.kind === 'suppressed') return { kind: 'suppressed' };
  return { kind: 'value', n: Math.min(first.n, second.n), value: of(second.value) - of(first.value) };
}

export interface Gap {
  /** Mean of (self level − faculty level) in level steps: positive = coaches rate themselves higher. */
  readonly meanGap: number;
  /** Rated reflections (pairs) behind the mean. */
  readonly pairs: number;
}

/**
 * Self- vs faculty-rating gap: pairs of (coach, self rank, faculty rank) on one scale. Suppressed when fewer than
 * 5 distinct coaches stand behind the pairs (n = coaches).
 */
export function ratingGap(pairs: readonly { coach: string; self: number; faculty: number }[]): Aggregate<Gap> {
  const coaches = new Set(pairs.map((p) => p.coach)).size;
  return aggregate(coaches, () => ({ meanGap: mean(pairs.map((p) => p.self - p.faculty)) as number, pairs: pairs.length }));
}

export interface Turnaround {
  /** Ratings counted. */
  readonly ratings: number;
  readonly medianHours: number;
  readonly p90Hours: number;
}

/**
 * Faculty turnaround: hours from a reflection's submission to its rating. Suppressed when the ratings concern
 * fewer than 5 distinct coaches (n = coaches). Negative durations (clock skew) count as 0.
 */
export function ratingTurnaround(ratings: readonly { coach: string; hours: number }[]): Aggregate<Turnaround> {
  const coaches = new Set(ratings.map((r) => r.coach)).size;
  return aggregate(coaches, () => {
    const hours = ratings.map((r) => Math.max(0, r.hours));
    return { ratings: ratings.length, medianHours: quantile(hours, 0.5) as number, p90Hours: quantile(hours, 0.9) as number };
  });
}

/** Calendar month (UTC) of a date, "YYYY-MM": the period of the rating-volume table. */
export function monthOf(date: Date): string {
  return date.toISOString().slice(0, 7);
}
