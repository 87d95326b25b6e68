import type { ModuleFile } from './content-schema';

export type Status = 'not_started' | 'in_progress' | 'completed';

/** How much each module teaches each competency: the sum of its objectives' weights for it. */
export function coverageWeights(module: ModuleFile): Map<string, number> {
  const weights = new Map<string, number>();
  for (const o of module.objectives) for (const c of o.competencies) weights.set(c.id, (weights.get(c.id) ?? 0) + c.weight);
  return weights;
}

/**
 * The next module to suggest: the unfinished module that best covers the coach's weakest competency.
 * Competencies without any score yet count as weakest; ties keep curriculum order.
 */
export function suggestNextModule(
  modules: readonly ModuleFile[],
  competencyIds: readonly string[],
  statuses: ReadonlyMap<string, Status>,
  scores: ReadonlyMap<string, number>,
): ModuleFile | undefined {
  const open = modules.filter((m) => statuses.get(m.id) !== 'completed');
  if (open.length === 0) return undefined;
  const weakestFirst = [...competencyIds].sort((a, b) => (scores.get(a) ?? -1) - (scores.get(b) ?? -1));
  for (const competency of weakestFirst) {
    let best: ModuleFile | undefined;
    let bestWeight = 0;
    for (const m of open) {
      const w = coverageWeights(m).get(competency) ?? 0;
      if (w > bestWeight) {
        best = m;
        bestWeight = w;
      }
    }
    if (best) return best;
  }
  return open[0];
}
