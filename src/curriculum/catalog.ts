import type { Framework } from '../competencies/framework';
import type { ModuleFile } from './content-schema';

/** What a catalogue shows about a module (deep linking, "My training"). */
export interface ModuleSummary {
  id: string;
  version: number;
  title: string;
  summary: string;
  estimatedMinutes: number;
  competencies: { id: string; name: string }[];
}

export interface Catalog {
  list(): ModuleSummary[];
  get(id: string): ModuleSummary | undefined;
  module(id: string): ModuleFile | undefined;
}

export function createCatalog(modules: readonly ModuleFile[], framework: Framework): Catalog {
  const names = new Map(framework.domains.flatMap((d) => d.competencies.map((c) => [c.id, c.name] as const)));
  const order = framework.domains.flatMap((d) => d.competencies.map((c) => c.id));
  const summaries = modules.map((m): ModuleSummary => {
    const ids = new Set(m.objectives.flatMap((o) => o.competencies.map((c) => c.id)));
    return {
      id: m.id,
      version: m.version,
      title: m.title,
      summary: m.summary,
      estimatedMinutes: m.estimatedMinutes,
      competencies: order.filter((id) => ids.has(id)).map((id) => ({ id, name: names.get(id) ?? id })),
    };
  });
  const byId = new Map(summaries.map((s) => [s.id, s]));
  const files = new Map(modules.map((m) => [m.id, m]));
  return {
    list: () => summaries,
    get: (id) => byId.get(id),
    module: (id) => files.get(id),
  };
}
