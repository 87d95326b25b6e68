import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { fromRoot } from '../shared/paths';
import type { FrameworkData } from '../competencies/framework-schema';

/**
 * Framework versions and the crosswalk between them (src/standards/framework-versions.json).
 * Unknown mappings stay the literal "unknown": a name the sources do not give is never invented.
 */
const unknown = z.literal('unknown');
const v2DomainId = z.string().regex(/^V2-D\d+$/);

const version1Schema = z.object({
  version: z.literal(1),
  status: z.literal('defined'),
  title: z.string().min(1),
  source: z.string().min(1),
  lastChangeDateTime: z.string().datetime(),
  domainCount: z.number().int().positive(),
  competencyCount: z.number().int().positive(),
  nameNotes: z.record(z.string().regex(/^C\d+\.\d+$/), z.string().min(1)),
});

const version2Schema = z.object({
  version: z.literal(2),
  status: z.enum(['partial', 'defined']),
  title: z.string().min(1),
  source: z.string().min(1),
  domainCount: z.number().int().positive(),
  competencyCount: z.number().int().positive(),
  domains: z.array(z.object({ id: v2DomainId, name: z.string().min(1) })),
  competencies: z.union([unknown, z.array(z.object({ id: z.string().min(1), domainId: v2DomainId, name: z.string().min(1) }))]),
  unknowns: z.string().optional(),
});

export const frameworkVersionsSchema = z
  .object({
    sources: z.string().min(1),
    localDescriptionLabel: z.string().min(1),
    versions: z.tuple([version1Schema, version2Schema]),
    crosswalk: z.object({
      from: z.literal(1),
      to: z.literal(2),
      domains: z.array(
        z.object({
          from: z
            .string()
            .regex(/^D\d+$/)
            .nullable(),
          to: z.union([v2DomainId, unknown]),
          relation: z.enum(['same', 'renamed', 'new', 'unknown']),
          note: z.string().min(1),
        }),
      ),
      competencies: z.array(z.object({ from: z.string().regex(/^C\d+\.\d+$/), to: z.union([z.string().min(1), unknown]) })),
    }),
  })
  .superRefine((data, ctx) => {
    const v2 = data.versions[1];
    if (v2.domains.length !== v2.domainCount)
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `version 2 lists ${v2.domains.length} domains, declares ${v2.domainCount}` });
    if (v2.competencies !== 'unknown' && v2.competencies.length !== v2.competencyCount)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `version 2 lists ${v2.competencies.length} competencies, declares ${v2.competencyCount}`,
      });
    if (v2.status === 'defined' && v2.competencies === 'unknown')
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'version 2 cannot be "defined" while its competencies are unknown' });
    const v2Ids = new Set(v2.domains.map((d) => d.id));
    for (const row of data.crosswalk.domains) {
      if (row.to !== 'unknown' && !v2Ids.has(row.to))
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `crosswalk names unknown version 2 domain ${row.to}` });
    }
    const v2CompetencyIds = new Set(v2.competencies === 'unknown' ? [] : v2.competencies.map((c) => c.id));
    for (const row of data.crosswalk.competencies) {
      if (row.to !== 'unknown' && !v2CompetencyIds.has(row.to))
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `crosswalk maps ${row.from} to ${row.to}, which version 2 does not list` });
    }
  });

export type FrameworkVersions = z.infer<typeof frameworkVersionsSchema>;
export type FrameworkVersion = 1 | 2;

export const defaultVersionsFile = fromRoot('src', 'standards', 'framework-versions.json');

export function loadFrameworkVersions(file: string = defaultVersionsFile): FrameworkVersions {
  return frameworkVersionsSchema.parse(JSON.parse(readFileSync(file, 'utf8')) as unknown);
}

/** Problems that make the crosswalk disagree with the version 1 framework (every competency exactly once). */
export function crosswalkProblems(versions: FrameworkVersions, framework: FrameworkData): string[] {
  const problems: string[] = [];
  const v1Competencies = framework.domains.flatMap((d) => d.competencies.map((c) => c.id));
  const mapped = versions.crosswalk.competencies.map((r) => r.from);
  for (const id of v1Competencies) {
    const count = mapped.filter((m) => m === id).length;
    if (count !== 1) problems.push(`${id} appears ${count} times in the crosswalk`);
  }
  for (const id of mapped) if (!v1Competencies.includes(id)) problems.push(`crosswalk names ${id}, not in version 1`);
  const v1Domains = framework.domains.map((d) => d.id);
  for (const id of v1Domains) {
    if (versions.crosswalk.domains.filter((r) => r.from === id).length !== 1)
      problems.push(`domain ${id} must appear once in the crosswalk`);
  }
  const v1 = versions.versions[0];
  if (v1.competencyCount !== v1Competencies.length)
    problems.push(`version 1 declares ${v1.competencyCount} competencies, data has ${v1Competencies.length}`);
  if (v1.domainCount !== v1Domains.length) problems.push(`version 1 declares ${v1.domainCount} domains, data has ${v1Domains.length}`);
  return problems;
}

/** Why a version cannot be exported, or undefined when it can. */
export function versionUnavailableReason(versions: FrameworkVersions, version: FrameworkVersion): string | undefined {
  if (version === 1) return undefined;
  const v2 = versions.versions[1];
  if (v2.competencies === 'unknown')
    return (
      `Version 2 (${v2.competencyCount} competencies in ${v2.domainCount} domains; ${v2.source}) cannot be exported: ` +
      `its domain names are known but its competency names and the mapping from version 1 are not (${v2.unknowns ?? 'unknown'}). ` +
      'See src/standards/framework-versions.json for the crosswalk as far as it is known.'
    );
  // Even with its names listed, version 2 is a crosswalk entry, not framework data (summaries, UUIDs,
  // rubric): CoachLTI exports only the framework it holds as data. Add version 2 as data to export it.
  return `Version 2 is recorded as a crosswalk, not as framework data (summaries, stable UUIDs), so it cannot be exported; add it as framework data to export it.`;
}
