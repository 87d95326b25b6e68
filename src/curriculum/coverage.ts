import type { Item, ModuleFile } from './content-schema';

export interface CompetencyCoverage {
  id: string;
  objectives: number;
  items: number;
  itemKinds: Item['kind'][];
  modules: string[];
}

export interface CoverageReport {
  modules: number;
  competencies: CompetencyCoverage[];
}

/** Minimums every competency must meet: taught (objectives) and assessed (items of several kinds). */
export const coverageRule = { minObjectives: 2, minItems: 4, minItemKinds: 2 } as const;

/** Counts, per competency, the objectives mapped to it and the items assessing one of those objectives. */
export function computeCoverage(modules: readonly ModuleFile[], competencyIds: readonly string[]): CoverageReport {
  const competencies = competencyIds.map((id): CompetencyCoverage => {
    let objectives = 0;
    let items = 0;
    const kinds = new Set<Item['kind']>();
    const moduleIds = new Set<string>();
    for (const mod of modules) {
      const objectiveIds = new Set(mod.objectives.filter((o) => o.competencies.some((c) => c.id === id)).map((o) => o.id));
      objectives += objectiveIds.size;
      for (const item of mod.items) {
        if (item.objectives.some((o) => objectiveIds.has(o))) {
          items += 1;
          kinds.add(item.kind);
          moduleIds.add(mod.id);
        }
      }
    }
    return { id, objectives, items, itemKinds: [...kinds].sort(), modules: [...moduleIds].sort() };
  });
  return { modules: modules.length, competencies };
}

/** Human-readable reasons a report breaks the coverage rule; empty when it holds. */
export function coverageProblems(report: CoverageReport): string[] {
  const problems: string[] = [];
  for (const c of report.competencies) {
    if (c.objectives < coverageRule.minObjectives)
      problems.push(`${c.id}: ${c.objectives} objectives (needs ${coverageRule.minObjectives})`);
    if (c.items < coverageRule.minItems) problems.push(`${c.id}: ${c.items} items (needs ${coverageRule.minItems})`);
    if (c.itemKinds.length < coverageRule.minItemKinds)
      problems.push(`${c.id}: item kinds ${c.itemKinds.join(', ') || 'none'} (needs ${coverageRule.minItemKinds})`);
  }
  return problems;
}
