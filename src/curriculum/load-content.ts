import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ZodError } from 'zod';
import { fromRoot } from '../shared/paths';
import { moduleFileSchema, type ModuleFile } from './content-schema';

export const defaultContentDir = fromRoot('src', 'curriculum', 'content');

export class ContentError extends Error {
  constructor(readonly problems: string[]) {
    super(`curriculum content is invalid:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ContentError';
  }
}

function describeZodError(file: string, error: ZodError): string[] {
  return error.issues.map((issue) => `${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
}

/**
 * Reads and validates every module file. Throws ContentError listing every problem at once,
 * so an author fixes a file in one pass.
 */
export function loadModules(knownCompetencyIds: readonly string[], dir: string = defaultContentDir): ModuleFile[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  const problems: string[] = [];
  const modules: ModuleFile[] = [];
  const known = new Set(knownCompetencyIds);
  for (const file of files) {
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(path.join(dir, file), 'utf8'));
    } catch (error) {
      problems.push(`${file}: not valid YAML: ${(error as Error).message}`);
      continue;
    }
    const parsed = moduleFileSchema.safeParse(raw);
    if (!parsed.success) {
      problems.push(...describeZodError(file, parsed.error));
      continue;
    }
    const mod = parsed.data;
    if (!file.startsWith(`${mod.id}-`)) problems.push(`${file}: file name must start with "${mod.id}-"`);
    for (const objective of mod.objectives) {
      for (const c of objective.competencies) {
        if (!known.has(c.id)) problems.push(`${file}: objective ${objective.id} names unknown competency ${c.id}`);
      }
    }
    modules.push(mod);
  }
  const ids = modules.map((m) => m.id);
  for (const id of new Set(ids)) {
    if (ids.filter((x) => x === id).length > 1) problems.push(`module id ${id} is used by more than one file`);
  }
  const orders = modules.map((m) => m.order);
  if (new Set(orders).size !== orders.length) problems.push('two modules share the same "order"');
  if (problems.length > 0) throw new ContentError(problems);
  return modules.sort((a, b) => a.order - b.order);
}
