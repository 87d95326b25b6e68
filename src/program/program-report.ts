import type { Framework } from '../competencies/framework';
import { proficiencyLevel, scoreMcq } from '../assessment/scoring';
import { rubricLevels, type ModuleFile } from '../curriculum/content-schema';
import type { CohortAttempt, CohortData, CohortScore, DatedScore } from './program-repository';
import {
  aggregate,
  analyseItems,
  difference,
  levelDistribution,
  monthOf,
  quadraticWeightedKappa,
  ratingGap,
  ratingTurnaround,
  scoreSpread,
  shareProficientOrBetter,
  type Aggregate,
  type Gap,
  type ItemAnalysis,
  type KappaResult,
  type LevelDistribution,
  type Spread,
  type Turnaround,
} from './statistics';

/**
 * The program dashboard's numbers for one cohort (one or more courses), computed from plain data.
 * A coach in several of the selected courses counts once, with the scores of the first course
 * (in course order) that has any. Every aggregate carries its own suppression (n < 5).
 */
export interface CompetencyRow {
  competencyId: string;
  name: string;
  domainId: string;
  /** Coaches with a score for this competency. */
  scored: number;
  distribution: Aggregate<LevelDistribution>;
  spread: Aggregate<Spread>;
  /** Share of the cohort's coaches without any score for this competency. */
  insufficientEvidence: Aggregate<number>;
}

/**
 * A domain: each coach's domain score is the mean of their scored competencies in the domain (as on the faculty
 * overview), its level by the same thresholds as a competency's; insufficient evidence = no competency of the
 * domain scored.
 */
export interface DomainRow {
  domainId: string;
  name: string;
  scored: number;
  distribution: Aggregate<LevelDistribution>;
  spread: Aggregate<Spread>;
  insufficientEvidence: Aggregate<number>;
}

export interface LevelSections {
  coachCount: number;
  competencies: CompetencyRow[];
  domains: DomainRow[];
}

export interface FunnelRow {
  moduleId: string;
  title: string;
  /**
   * Coaches who launched CoachLTI in the cohort's courses (the LMS does not tell us which link a coach opened, so
   * this is the same for every module), opened the module, completed it at least once; suppressed below 5 coaches.
   */
  counts: Aggregate<{ launched: number; started: number; completed: number }>;
}

/** Self- vs faculty-rating gap of the reflections that evidence a competency (through their objectives). */
export interface GapRow {
  competencyId: string;
  name: string;
  gap: Aggregate<Gap>;
}

/** Faculty ratings of reflections per calendar month (UTC) of the rating, and over all months. */
export interface RatingPeriodRow {
  period: string;
  turnaround: Aggregate<Turnaround>;
}

export interface ComparisonSide {
  distribution: Aggregate<LevelDistribution>;
  spread: Aggregate<Spread>;
  insufficientEvidence: Aggregate<number>;
}

/** One competency or domain in two periods or cohorts; every difference is second − first. */
export interface ComparisonRow {
  id: string;
  name: string;
  kind: 'domain' | 'competency';
  first: ComparisonSide;
  second: ComparisonSide;
  medianChange: Aggregate<number>;
  proficientChange: Aggregate<number>;
  insufficientChange: Aggregate<number>;
}

export interface Comparison {
  firstLabel: string;
  secondLabel: string;
  firstCoaches: number;
  secondCoaches: number;
  rows: ComparisonRow[];
}

export interface ModuleQuality {
  moduleId: string;
  title: string;
  analysis: Aggregate<{ items: ItemAnalysis[]; alpha: number | null; kr20: number | null }>;
  /** Self rating vs faculty rating of the module's reflections (quadratic-weighted kappa). */
  selfFacultyAgreement: Aggregate<KappaResult>;
}

export interface ProgramReport {
  coachCount: number;
  competencies: CompetencyRow[];
  domains: DomainRow[];
  funnel: FunnelRow[];
  quality: ModuleQuality[];
  gaps: GapRow[];
  /** Months oldest first, then the overall row (period "all"). */
  ratings: RatingPeriodRow[];
}

/** The latest completed attempt per coach on the current version of the module. */
function latestCompleted(attempts: readonly CohortAttempt[], module: ModuleFile): CohortAttempt[] {
  const byCoach = new Map<string, CohortAttempt>();
  for (const a of attempts) {
    if (a.moduleId !== module.id || a.status !== 'completed' || a.moduleVersion !== module.version) continue;
    const seen = byCoach.get(a.userId);
    if (!seen || a.number > seen.number) byCoach.set(a.userId, a);
  }
  return [...byCoach.values()].sort((x, y) => x.userId.localeCompare(y.userId));
}

function moduleQuality(module: ModuleFile, attempts: readonly CohortAttempt[]): ModuleQuality {
  const latest = latestCompleted(attempts, module);
  const mcqs = module.items.flatMap((i) => (i.kind === 'mcq' ? [i] : []));
  const responses = latest.flatMap((attempt) => {
    const answers = new Map(attempt.answers.filter((a) => a.kind === 'mcq').map((a) => [a.itemId, a.selected]));
    if (!mcqs.every((item) => answers.has(item.id))) return [];
    return [
      {
        scores: mcqs.map((item) => scoreMcq(item.options, item.multiple, answers.get(item.id) ?? [])),
        choices: mcqs.map((item) => answers.get(item.id) ?? []),
      },
    ];
  });
  const analysis = analyseItems({
    items: mcqs.map((item) => ({
      itemId: item.id,
      options: item.options.map((o) => o.id),
      correctOptions: item.options.filter((o) => o.correct).map((o) => o.id),
    })),
    responses,
  });
  const pairs: [number, number][] = [];
  const raters = new Set<string>();
  for (const attempt of latest) {
    for (const answer of attempt.answers) {
      if (answer.kind !== 'reflection' || !answer.selfLevel || !answer.facultyLevel) continue;
      pairs.push([rank(answer.selfLevel), rank(answer.facultyLevel)]);
      raters.add(attempt.userId);
    }
  }
  return {
    moduleId: module.id,
    title: module.title,
    analysis,
    selfFacultyAgreement: aggregate(raters.size, () => quadraticWeightedKappa(pairs, rubricLevels.length)),
  };
}

/** The first snapshot with scores per coach, in course order: a coach in several courses counts once. */
function oneSnapshotPerCoach(courseIds: readonly string[], snapshots: readonly CohortScore[]): CohortScore[] {
  const courseOrder = new Map(courseIds.map((c, i) => [c, i]));
  const chosen = new Map<string, CohortScore>();
  for (const snapshot of [...snapshots].sort((a, b) => (courseOrder.get(a.courseId) ?? 0) - (courseOrder.get(b.courseId) ?? 0))) {
    if (snapshot.scores.length > 0 && !chosen.has(snapshot.userId)) chosen.set(snapshot.userId, snapshot);
  }
  return [...chosen.values()];
}

/** Per coach and course, the latest snapshot of a period's history (ties: the later in the list). */
export function latestInPeriod(history: readonly DatedScore[]): CohortScore[] {
  const latest = new Map<string, DatedScore>();
  for (const s of history) {
    const key = `${s.userId}|${s.courseId}`;
    const seen = latest.get(key);
    if (!seen || s.computedAt.getTime() >= seen.computedAt.getTime()) latest.set(key, s);
  }
  return [...latest.values()].map(({ userId, courseId, scores }) => ({ userId, courseId, scores }));
}

/** Levels per competency and per domain over `coachCount` coaches, from one set of score snapshots. */
export function levelSections(input: {
  framework: Framework;
  courseIds: readonly string[];
  coachCount: number;
  snapshots: readonly CohortScore[];
}): LevelSections {
  const { coachCount } = input;
  const chosen = oneSnapshotPerCoach(input.courseIds, input.snapshots);
  const competencies: CompetencyRow[] = input.framework.domains.flatMap((domain) =>
    domain.competencies.map((competency) => {
      const scored = chosen.flatMap((s) => s.scores.filter((x) => x.competencyId === competency.id));
      return {
        competencyId: competency.id,
        name: competency.name,
        domainId: domain.id,
        scored: scored.length,
        distribution: levelDistribution(scored.map((s) => s.level)),
        spread: scoreSpread(scored.map((s) => s.score)),
        insufficientEvidence: aggregate(coachCount, () => (coachCount - scored.length) / coachCount),
      };
    }),
  );
  const domains: DomainRow[] = input.framework.domains.map((domain) => {
    const ids = new Set(domain.competencies.map((c) => c.id));
    const means = chosen.flatMap((s) => {
      const mine = s.scores.filter((x) => ids.has(x.competencyId));
      return mine.length > 0 ? [mine.reduce((t, x) => t + x.score, 0) / mine.length] : [];
    });
    return {
      domainId: domain.id,
      name: domain.name,
      scored: means.length,
      distribution: levelDistribution(means.map((m) => proficiencyLevel(m))),
      spread: scoreSpread(means),
      insufficientEvidence: aggregate(coachCount, () => (coachCount - means.length) / coachCount),
    };
  });
  return { coachCount, competencies, domains };
}

/** Two level sections side by side, with differences suppressed when either side is under 5 coaches. */
export function compareSections(first: LevelSections, second: LevelSections, labels: { first: string; second: string }): Comparison {
  const side = (r: { distribution: Aggregate<LevelDistribution>; spread: Aggregate<Spread>; insufficientEvidence: Aggregate<number> }) => ({
    distribution: r.distribution,
    spread: r.spread,
    insufficientEvidence: r.insufficientEvidence,
  });
  const row = (kind: ComparisonRow['kind'], id: string, name: string, a: ComparisonSide, b: ComparisonSide): ComparisonRow => ({
    id,
    name,
    kind,
    first: a,
    second: b,
    medianChange: difference(a.spread, b.spread, (s) => s.median),
    proficientChange: difference(a.distribution, b.distribution, shareProficientOrBetter),
    insufficientChange: difference(a.insufficientEvidence, b.insufficientEvidence, (v) => v),
  });
  return {
    firstLabel: labels.first,
    secondLabel: labels.second,
    firstCoaches: first.coachCount,
    secondCoaches: second.coachCount,
    rows: [
      ...first.domains.map((d, i) => row('domain', d.domainId, d.name, side(d), side(second.domains[i] as DomainRow))),
      ...first.competencies.map((c, i) =>
        row('competency', c.competencyId, c.name, side(c), side(second.competencies[i] as CompetencyRow)),
      ),
    ],
  };
}

const rank = (level: string): number => rubricLevels.indexOf(level as (typeof rubricLevels)[number]);

/** Per competency: the self/faculty pairs of every rated reflection whose objectives evidence it. */
function ratingGaps(framework: Framework, modules: readonly ModuleFile[], attempts: readonly CohortAttempt[]): GapRow[] {
  const competenciesOfItem = new Map<string, string[]>();
  for (const module of modules) {
    const byObjective = new Map(module.objectives.map((o) => [o.id, o.competencies.map((c) => c.id)]));
    for (const item of module.items) {
      if (item.kind !== 'reflection') continue;
      competenciesOfItem.set(item.id, [...new Set(item.objectives.flatMap((o) => byObjective.get(o) ?? []))]);
    }
  }
  const pairs = new Map<string, { coach: string; self: number; faculty: number }[]>();
  for (const attempt of attempts) {
    for (const answer of attempt.answers) {
      if (answer.kind !== 'reflection' || !answer.selfLevel || !answer.facultyLevel) continue;
      for (const competencyId of competenciesOfItem.get(answer.itemId) ?? []) {
        const list = pairs.get(competencyId) ?? [];
        list.push({ coach: attempt.userId, self: rank(answer.selfLevel), faculty: rank(answer.facultyLevel) });
        pairs.set(competencyId, list);
      }
    }
  }
  return framework.domains.flatMap((d) =>
    d.competencies.map((c) => ({ competencyId: c.id, name: c.name, gap: ratingGap(pairs.get(c.id) ?? []) })),
  );
}

const hour = 3_600_000;

/** Ratings with both a submission and a rating time, per month of the rating and overall. */
function ratingPeriods(attempts: readonly CohortAttempt[]): RatingPeriodRow[] {
  const all: { coach: string; hours: number; month: string }[] = [];
  for (const attempt of attempts) {
    for (const answer of attempt.answers) {
      if (answer.kind !== 'reflection' || !answer.facultyLevel || !answer.submittedAt || !answer.facultyRatedAt) continue;
      all.push({
        coach: attempt.userId,
        hours: (answer.facultyRatedAt.getTime() - answer.submittedAt.getTime()) / hour,
        month: monthOf(answer.facultyRatedAt),
      });
    }
  }
  const months = [...new Set(all.map((r) => r.month))].sort();
  return [
    ...months.map((period) => ({ period, turnaround: ratingTurnaround(all.filter((r) => r.month === period)) })),
    { period: 'all', turnaround: ratingTurnaround(all) },
  ];
}

export function buildProgramReport(input: { framework: Framework; modules: readonly ModuleFile[]; cohort: CohortData }): ProgramReport {
  const { cohort } = input;
  const coachCount = cohort.coaches.length;
  const sections = levelSections({
    framework: input.framework,
    courseIds: cohort.courses.map((c) => c.id),
    coachCount,
    snapshots: cohort.scores,
  });
  const modules = [...input.modules].sort((a, b) => a.order - b.order);
  const funnel: FunnelRow[] = modules.map((module) => {
    const mine = cohort.attempts.filter((a) => a.moduleId === module.id);
    return {
      moduleId: module.id,
      title: module.title,
      counts: aggregate(coachCount, () => ({
        launched: cohort.launched.length,
        started: new Set(mine.map((a) => a.userId)).size,
        completed: new Set(mine.filter((a) => a.status === 'completed').map((a) => a.userId)).size,
      })),
    };
  });
  return {
    coachCount,
    competencies: sections.competencies,
    domains: sections.domains,
    funnel,
    quality: modules.map((m) => moduleQuality(m, cohort.attempts)),
    gaps: ratingGaps(input.framework, modules, cohort.attempts),
    ratings: ratingPeriods(cohort.attempts),
  };
}
