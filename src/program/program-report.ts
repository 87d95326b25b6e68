import type { Framework } from '../competencies/framework';
import { scoreMcq } from '../assessment/scoring';
import { rubricLevels, type ModuleFile } from '../curriculum/content-schema';
import type { CohortAttempt, CohortData } from './program-repository';
import {
  aggregate,
  analyseItems,
  levelDistribution,
  quadraticWeightedKappa,
  scoreSpread,
  type Aggregate,
  type ItemAnalysis,
  type KappaResult,
  type LevelDistribution,
  type Spread,
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

export interface FunnelRow {
  moduleId: string;
  title: string;
  /** Coaches who opened the module / completed it at least once; suppressed as a whole below 5 coaches. */
  counts: Aggregate<{ started: number; completed: number }>;
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
  funnel: FunnelRow[];
  quality: ModuleQuality[];
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
  const rank = (level: string): number => rubricLevels.indexOf(level as (typeof rubricLevels)[number]);
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

export function buildProgramReport(input: { framework: Framework; modules: readonly ModuleFile[]; cohort: CohortData }): ProgramReport {
  const { cohort } = input;
  const courseOrder = new Map(cohort.courses.map((c, i) => [c.id, i]));
  const chosen = new Map<string, CohortData['scores'][number]>();
  for (const snapshot of [...cohort.scores].sort((a, b) => (courseOrder.get(a.courseId) ?? 0) - (courseOrder.get(b.courseId) ?? 0))) {
    if (snapshot.scores.length > 0 && !chosen.has(snapshot.userId)) chosen.set(snapshot.userId, snapshot);
  }
  const coachCount = cohort.coaches.length;
  const competencies: CompetencyRow[] = input.framework.domains.flatMap((domain) =>
    domain.competencies.map((competency) => {
      const scored = [...chosen.values()].flatMap((s) => s.scores.filter((x) => x.competencyId === competency.id));
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
  const modules = [...input.modules].sort((a, b) => a.order - b.order);
  const funnel: FunnelRow[] = modules.map((module) => {
    const mine = cohort.attempts.filter((a) => a.moduleId === module.id);
    return {
      moduleId: module.id,
      title: module.title,
      counts: aggregate(coachCount, () => ({
        started: new Set(mine.map((a) => a.userId)).size,
        completed: new Set(mine.filter((a) => a.status === 'completed').map((a) => a.userId)).size,
      })),
    };
  });
  return { coachCount, competencies, funnel, quality: modules.map((m) => moduleQuality(m, cohort.attempts)) };
}
