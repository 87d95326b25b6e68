import type { Framework } from './framework';

/** Public JSON of GET /api/competencies. Other tools read it: keep the path and shape stable. */
export interface FrameworkJson {
  domains: { id: string; name: string; uuid: string; competencies: { id: string; name: string; summary: string; uuid: string }[] }[];
}

export function presentFramework(framework: Framework): FrameworkJson {
  return {
    domains: framework.domains.map((d) => ({
      id: d.id,
      name: d.name,
      uuid: d.uuid,
      competencies: d.competencies.map((c) => ({ id: c.id, name: c.name, summary: c.summary, uuid: c.uuid })),
    })),
  };
}
