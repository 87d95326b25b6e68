/** The competency framework as the rest of the tool sees it: plain data, framework order. */
export interface Competency {
  readonly id: string;
  readonly uuid: string;
  readonly name: string;
  readonly summary: string;
}

export interface CompetencyDomain {
  readonly id: string;
  readonly uuid: string;
  readonly name: string;
  readonly competencies: readonly Competency[];
}

export interface Framework {
  readonly domains: readonly CompetencyDomain[];
}

export function allCompetencies(framework: Framework): Competency[] {
  return framework.domains.flatMap((d) => d.competencies);
}

export function findCompetency(framework: Framework, id: string): Competency | undefined {
  return allCompetencies(framework).find((c) => c.id === id);
}
