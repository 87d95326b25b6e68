import { readFileSync } from 'node:fs';
import { fromRoot } from '../shared/paths';
import { z } from 'zod';

/** The competency framework data file (src/competencies/framework-data.json): data, never logic. */
export const frameworkCompetencySchema = z.object({
  id: z.string().regex(/^C\d+\.\d+$/),
  uuid: z.string().uuid(),
  name: z.string().trim().min(1),
  summary: z.string().trim().min(1),
});

export const frameworkDomainSchema = z.object({
  id: z.string().regex(/^D\d+$/),
  uuid: z.string().uuid(),
  name: z.string().trim().min(1),
  competencies: z.array(frameworkCompetencySchema).min(1),
});

export const frameworkSchema = z
  .object({
    title: z.string().min(1),
    source: z.string().min(1),
    readingNote: z.string().optional(),
    frameworkUuid: z.string().uuid(),
    domains: z.array(frameworkDomainSchema).min(1),
  })
  .superRefine((fw, ctx) => {
    const ids = new Set<string>();
    const uuids = new Set<string>();
    for (const domain of fw.domains) {
      for (const key of [domain.id, ...domain.competencies.map((c) => c.id)]) {
        if (ids.has(key)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `duplicate id ${key}` });
        ids.add(key);
      }
      for (const key of [domain.uuid, ...domain.competencies.map((c) => c.uuid)]) {
        if (uuids.has(key)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `duplicate uuid ${key}` });
        uuids.add(key);
      }
    }
  });

export type FrameworkData = z.infer<typeof frameworkSchema>;
export type FrameworkDomain = z.infer<typeof frameworkDomainSchema>;
export type FrameworkCompetency = z.infer<typeof frameworkCompetencySchema>;

export const defaultFrameworkFile = fromRoot('src', 'competencies', 'framework-data.json');

export function loadFrameworkFile(file: string = defaultFrameworkFile): FrameworkData {
  const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
  return frameworkSchema.parse(raw);
}

export function competencyIdsOf(framework: FrameworkData): string[] {
  return framework.domains.flatMap((d) => d.competencies.map((c) => c.id));
}
