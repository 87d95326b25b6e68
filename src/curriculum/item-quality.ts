import type { McqItem, ModuleFile, ReflectionItem } from './content-schema';

/**
 * Item-quality gate: statistics that show whether a test-wise guesser (longest option, first option, a fixed
 * number of ticks) can beat the items, plus structural checks on objectives and reflections.
 * Pure functions; `npm run curriculum:report` prints the result and fails the build when a threshold is broken.
 */

/**
 * Thresholds, with the reason for each:
 * - keyLongest: a key that is the longest option is a cue; with 4 options chance is 25 %, so 30 % overall is "near
 *   chance". A module may reach 50 % (with 2–4 single-best items one item more moves the share a lot).
 * - keyPosition: with 4–5 options chance is 20–25 %; 40 % in one position is a usable pattern.
 * - multiple-answer items: the number of keys must vary (otherwise "tick three" works) and the first option may be a
 *   key in at most half of them.
 * - length ratio: keys padded with qualifications are a cue; mean key length may be at most 1.25 × mean distractor
 *   length, overall and in each module.
 * - bundled objectives: none. An objective with two action verbs cannot be evidenced by one item, so the score
 *   cannot say which of the two was met; each flagged objective is split (the verb list is small and only counts
 *   verbs after a conjunction, so false alarms are rare and cheap to reword).
 * - parallel forms: every scenario question has at least one variant, so a retake never repeats a form whose key the
 *   feedback showed; variants count in every statistic above (a cue in a variant is as usable as in the original).
 * - reflections: every prompt asks for de-identification (faculty read them), every rubric has 3–4 criteria that
 *   each point at a part of the prompt, and exemplars per level.
 */
export const itemQualityThresholds = {
  maxKeyLongestShare: 0.3,
  maxKeyLongestShareInModule: 0.5,
  maxKeyPositionShare: 0.4,
  minDistinctCorrectCounts: 2,
  maxFirstOptionCorrectShare: 0.5,
  maxKeyToDistractorLengthRatio: 1.25,
  maxBundledObjectives: 0,
  minVariantsPerQuestion: 1,
} as const;

/** The sentence every reflection prompt carries, word for word (case and spacing aside). */
export const deidentificationInstruction =
  'Change names and identifying details; do not include information that could identify a learner or patient.';

/** Action verbs of objective statements (imperative form). Kept small on purpose: see maxBundledObjectives. */
export const actionVerbs: readonly string[] = [
  'adapt',
  'analyse',
  'analyze',
  'apply',
  'appraise',
  'ask',
  'build',
  'choose',
  'close',
  'compare',
  'construct',
  'contract',
  'create',
  'critique',
  'define',
  'demonstrate',
  'describe',
  'design',
  'detect',
  'distinguish',
  'draft',
  'establish',
  'evaluate',
  'explain',
  'formulate',
  'frame',
  'give',
  'identify',
  'interpret',
  'justify',
  'list',
  'manage',
  'match',
  'monitor',
  'name',
  'negotiate',
  'open',
  'plan',
  'practise',
  'practice',
  're-contract',
  'recognise',
  'recognize',
  'refer',
  'reflect',
  'respond',
  'run',
  'select',
  'state',
  'structure',
  'summarise',
  'summarize',
  'track',
  'use',
  'write',
];

export interface QualityStats {
  singleBest: number;
  /** Single-best items whose key is at least as long as every distractor. */
  keyLongest: number;
  keyLongestShare: number;
  /** Share expected if the longest option were keyed at random: mean of 1 ÷ option count. */
  chanceShare: number;
  /** keyLongestShare is within 10 points of chance. */
  nearChance: boolean;
  /** Single-best keys per option position (index 0 = first option). */
  keyPositions: number[];
  multipleAnswer: number;
  /** Number of correct options → number of multiple-answer items with that many. */
  correctCounts: Record<string, number>;
  firstOptionCorrect: number;
  meanKeyLength: number;
  meanDistractorLength: number;
  keyToDistractorLengthRatio: number;
}

export interface ModuleQuality {
  id: string;
  stats: QualityStats;
  bundledObjectives: string[];
  reflectionsWithoutDeidentification: string[];
  rubricProblems: string[];
  /** Scenario questions without a parallel variant for retakes. */
  questionsWithoutVariant: string[];
}

export interface ItemQualityReport {
  modules: ModuleQuality[];
  overall: QualityStats;
  /** Broken thresholds; empty when the gate passes. */
  problems: string[];
}

const round = (n: number): number => Math.round(n * 1000) / 1000;
const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
const normalise = (s: string): string => s.replace(/\s+/g, ' ').trim().toLowerCase();

/** Every form a coach can be served: each question and each of its parallel variants (same cues apply to all). */
function mcqsOf(modules: readonly ModuleFile[]): McqItem[] {
  return modules.flatMap((m) =>
    m.items
      .filter((i): i is McqItem => i.kind === 'mcq')
      .flatMap((i) => [
        i,
        ...(i.variants ?? []).map((v): McqItem => ({ ...i, id: `${i.id}.${v.id}`, stem: v.stem, options: v.options, variants: undefined })),
      ]),
  );
}

/** Statistics over a set of multiple-choice items. */
export function mcqStats(items: readonly McqItem[]): QualityStats {
  const single = items.filter((i) => !i.multiple);
  const multiple = items.filter((i) => i.multiple);
  let keyLongest = 0;
  const keyPositions: number[] = [];
  for (const item of single) {
    const index = item.options.findIndex((o) => o.correct);
    const key = item.options[index];
    if (!key) continue;
    const longestDistractor = Math.max(...item.options.filter((o) => !o.correct).map((o) => o.text.length));
    if (key.text.length >= longestDistractor) keyLongest += 1;
    while (keyPositions.length <= index) keyPositions.push(0);
    keyPositions[index] = (keyPositions[index] ?? 0) + 1;
  }
  const correctCounts: Record<string, number> = {};
  let firstOptionCorrect = 0;
  for (const item of multiple) {
    const n = String(item.options.filter((o) => o.correct).length);
    correctCounts[n] = (correctCounts[n] ?? 0) + 1;
    if (item.options[0]?.correct) firstOptionCorrect += 1;
  }
  const keys = items.flatMap((i) => i.options.filter((o) => o.correct).map((o) => o.text.length));
  const distractors = items.flatMap((i) => i.options.filter((o) => !o.correct).map((o) => o.text.length));
  const keyLongestShare = single.length === 0 ? 0 : keyLongest / single.length;
  const chanceShare = mean(single.map((i) => 1 / i.options.length));
  const meanKeyLength = mean(keys);
  const meanDistractorLength = mean(distractors);
  return {
    singleBest: single.length,
    keyLongest,
    keyLongestShare: round(keyLongestShare),
    chanceShare: round(chanceShare),
    nearChance: keyLongestShare <= chanceShare + 0.1,
    keyPositions,
    multipleAnswer: multiple.length,
    correctCounts,
    firstOptionCorrect,
    meanKeyLength: round(meanKeyLength),
    meanDistractorLength: round(meanDistractorLength),
    keyToDistractorLengthRatio: meanDistractorLength === 0 ? 0 : round(meanKeyLength / meanDistractorLength),
  };
}

/** Action verbs of an objective: the opening verb plus any list verb right after "and", "or", "then", a comma or a semicolon. */
export function objectiveVerbs(statement: string): string[] {
  const verbs = new Set(actionVerbs);
  const tokens = statement.toLowerCase().match(/[a-z][a-z-]*|[,;]/g) ?? [];
  const found: string[] = [];
  tokens.forEach((token, i) => {
    const previous = tokens[i - 1];
    const opens = i === 0 || previous === 'and' || previous === 'or' || previous === 'then' || previous === ',' || previous === ';';
    if (opens && verbs.has(token)) found.push(token);
  });
  return found;
}

/** Structural problems of one reflection's rubric; empty when it is complete and every criterion points at a prompt part. */
export function rubricProblems(item: ReflectionItem): string[] {
  const problems: string[] = [];
  const parts = item.promptParts ?? [];
  const criteria = item.rubric.criteria ?? [];
  if (parts.length === 0) problems.push(`${item.id}: no promptParts (criteria cannot point at the prompt)`);
  if (criteria.length < 3 || criteria.length > 4) problems.push(`${item.id}: ${criteria.length} rubric criteria (needs 3–4)`);
  if (!item.rubric.exemplars) problems.push(`${item.id}: no exemplar responses per level`);
  const prompt = normalise(item.prompt);
  const partIds = new Set(parts.map((p) => p.id));
  for (const part of parts) {
    if (!prompt.includes(normalise(part.text))) problems.push(`${item.id}: prompt part ${part.id} is not in the prompt text`);
    if (!criteria.some((c) => c.assesses === part.id)) problems.push(`${item.id}: prompt part ${part.id} is not rated by any criterion`);
  }
  const criterionIds = criteria.map((c) => c.id);
  if (new Set(criterionIds).size !== criterionIds.length) problems.push(`${item.id}: duplicate criterion id`);
  for (const c of criteria) {
    if (!partIds.has(c.assesses))
      problems.push(`${item.id}: criterion "${c.name}" assesses prompt part ${c.assesses}, which the prompt does not have`);
  }
  return problems;
}

export function hasDeidentificationInstruction(prompt: string): boolean {
  return normalise(prompt).includes(normalise(deidentificationInstruction));
}

const pct = (share: number): string => `${Math.round(share * 100)} %`;

/** Computes the gate per module and overall and lists every broken threshold. */
export function assessItemQuality(modules: readonly ModuleFile[]): ItemQualityReport {
  const t = itemQualityThresholds;
  const problems: string[] = [];
  const perModule = modules.map((m): ModuleQuality => {
    const reflections = m.items.filter((i): i is ReflectionItem => i.kind === 'reflection');
    const stats = mcqStats(mcqsOf([m]));
    const quality: ModuleQuality = {
      id: m.id,
      stats,
      bundledObjectives: m.objectives.filter((o) => objectiveVerbs(o.text).length > 1).map((o) => o.id),
      reflectionsWithoutDeidentification: reflections.filter((r) => !hasDeidentificationInstruction(r.prompt)).map((r) => r.id),
      rubricProblems: reflections.flatMap(rubricProblems),
      questionsWithoutVariant: m.items
        .filter((i) => i.kind === 'mcq' && (i.variants ?? []).length < t.minVariantsPerQuestion)
        .map((i) => i.id),
    };
    for (const id of quality.questionsWithoutVariant) problems.push(`${id}: no parallel variant for retakes`);
    if (stats.keyLongestShare > t.maxKeyLongestShareInModule)
      problems.push(
        `${m.id}: key is the longest option in ${stats.keyLongest} of ${stats.singleBest} single-best items (max ${pct(t.maxKeyLongestShareInModule)})`,
      );
    if (stats.keyToDistractorLengthRatio > t.maxKeyToDistractorLengthRatio)
      problems.push(
        `${m.id}: mean key length is ${stats.keyToDistractorLengthRatio} × mean distractor length (max ${t.maxKeyToDistractorLengthRatio})`,
      );
    for (const id of quality.reflectionsWithoutDeidentification) problems.push(`${id}: prompt does not ask for de-identification`);
    problems.push(...quality.rubricProblems);
    return quality;
  });
  const overall = mcqStats(mcqsOf(modules));
  if (overall.keyLongestShare > t.maxKeyLongestShare)
    problems.push(
      `overall: key is the longest option in ${pct(overall.keyLongestShare)} of single-best items (max ${pct(t.maxKeyLongestShare)})`,
    );
  overall.keyPositions.forEach((n, i) => {
    if (overall.singleBest > 0 && n / overall.singleBest > t.maxKeyPositionShare)
      problems.push(
        `overall: option position ${i + 1} holds ${pct(n / overall.singleBest)} of single-best keys (max ${pct(t.maxKeyPositionShare)})`,
      );
  });
  if (overall.multipleAnswer > 1 && Object.keys(overall.correctCounts).length < t.minDistinctCorrectCounts)
    problems.push(
      `overall: every multiple-answer item has ${Object.keys(overall.correctCounts).join('')} correct options (the count must vary)`,
    );
  if (overall.multipleAnswer > 0 && overall.firstOptionCorrect / overall.multipleAnswer > t.maxFirstOptionCorrectShare)
    problems.push(
      `overall: the first option is correct in ${overall.firstOptionCorrect} of ${overall.multipleAnswer} multiple-answer items (max ${pct(t.maxFirstOptionCorrectShare)})`,
    );
  if (overall.keyToDistractorLengthRatio > t.maxKeyToDistractorLengthRatio)
    problems.push(
      `overall: mean key length is ${overall.keyToDistractorLengthRatio} × mean distractor length (max ${t.maxKeyToDistractorLengthRatio})`,
    );
  const bundled = perModule.flatMap((m) => m.bundledObjectives);
  if (bundled.length > t.maxBundledObjectives) problems.push(`objectives with more than one action verb: ${bundled.join(', ')}`);
  return { modules: perModule, overall, problems };
}
