import type { Item, ModuleFile } from './content-schema';

/** Objectives, items, item kinds and modules behind one competency at one mapping strength. */
export interface CoverageCounts {
  objectives: number;
  items: number;
  itemKinds: Item['kind'][];
  modules: string[];
}

export interface CompetencyCoverage extends CoverageCounts {
  id: string;
  /** Weight-1 mappings: the objectives that carry the competency's score. */
  primary: CoverageCounts;
  /** Mappings with weight below 1: contributing evidence, reported separately. */
  secondary: CoverageCounts;
}

export interface CoverageReport {
  modules: number;
  competencies: CompetencyCoverage[];
}

/**
 * Minimums every competency must meet with primary (weight-1) mappings alone: taught by enough objectives, assessed by
 * enough items of several kinds. Competencies the first review found resting on one module need two.
 */
export const coverageRule = {
  minPrimaryObjectives: 3,
  minPrimaryItems: 6,
  minPrimaryItemKinds: 2,
  minPrimaryModules: { 'C1.2': 2, 'C2.3': 2, 'C3.2': 2, 'C3.3': 2 } as Readonly<Record<string, number>>,
} as const;

type Strength = 'any' | 'primary' | 'secondary';

function counts(modules: readonly ModuleFile[], competencyId: string, strength: Strength): CoverageCounts {
  let objectives = 0;
  let items = 0;
  const kinds = new Set<Item['kind']>();
  const moduleIds = new Set<string>();
  for (const mod of modules) {
    const objectiveIds = new Set(
      mod.objectives
        .filter((o) =>
          o.competencies.some(
            (c) => c.id === competencyId && (strength === 'any' || (strength === 'primary' ? c.weight === 1 : c.weight < 1)),
          ),
        )
        .map((o) => o.id),
    );
    objectives += objectiveIds.size;
    if (objectiveIds.size > 0) moduleIds.add(mod.id);
    for (const item of mod.items) {
      if (item.objectives.some((o) => objectiveIds.has(o))) {
        items += 1;
        kinds.add(item.kind);
      }
    }
  }
  return { objectives, items, itemKinds: [...kinds].sort(), modules: [...moduleIds].sort() };
}

/** Counts, per competency, the objectives mapped to it and the items assessing one of them: at any weight, weight 1, below 1. */
export function computeCoverage(modules: readonly ModuleFile[], competencyIds: readonly string[]): CoverageReport {
  const competencies = competencyIds.map((id): CompetencyCoverage => ({
    id,
    ...counts(modules, id, 'any'),
    primary: counts(modules, id, 'primary'),
    secondary: counts(modules, id, 'secondary'),
  }));
  return { modules: modules.length, competencies };
}

/** Human-readable reasons a report breaks the coverage rule; empty when it holds. */
export function coverageProblems(report: CoverageReport): string[] {
  const problems: string[] = [];
  const r = coverageRule;
  for (const c of report.competencies) {
    const p = c.primary;
    if (p.objectives < r.minPrimaryObjectives)
      problems.push(`${c.id}: ${p.objectives} weight-1 objectives (needs ${r.minPrimaryObjectives})`);
    const minModules = r.minPrimaryModules[c.id] ?? 1;
    if (p.modules.length < minModules) problems.push(`${c.id}: weight-1 objectives in ${p.modules.length} module(s) (needs ${minModules})`);
    if (p.items < r.minPrimaryItems) problems.push(`${c.id}: ${p.items} items on weight-1 objectives (needs ${r.minPrimaryItems})`);
    if (p.itemKinds.length < r.minPrimaryItemKinds)
      problems.push(`${c.id}: item kinds on weight-1 objectives ${p.itemKinds.join(', ') || 'none'} (needs ${r.minPrimaryItemKinds})`);
  }
  return problems;
}
