import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadFrameworkFile } from '../../competencies/framework-schema';
import { exportFormats, exportFramework, VersionUnavailableError } from '../framework-export';
import { loadFrameworkVersions } from '../framework-versions';

/**
 * npm run framework:export -- --format case|canvas|moodle [--version 1|2] [--base-url https://…] [--out file]
 * Writes to stdout unless --out is given. CASE URIs use --base-url, else TOOL_URL, else http://localhost:3000.
 */
const argsSchema = z.object({
  format: z.enum(exportFormats),
  version: z.enum(['1', '2']).default('1'),
  'base-url': z.string().url().optional(),
  out: z.string().min(1).optional(),
});

function main(): number {
  const { values } = parseArgs({
    options: { format: { type: 'string' }, version: { type: 'string' }, 'base-url': { type: 'string' }, out: { type: 'string' } },
    strict: true,
  });
  const args = argsSchema.safeParse(values);
  if (!args.success) {
    process.stderr.write(
      `Usage: npm run framework:export -- --format ${exportFormats.join('|')} [--version 1|2] [--base-url URL] [--out FILE]\n` +
        args.error.issues.map((i) => `  ${i.path.join('.') || 'arguments'}: ${i.message}\n`).join(''),
    );
    return 2;
  }
  const baseUrl = args.data['base-url'] ?? process.env.TOOL_URL ?? 'http://localhost:3000';
  try {
    const file = exportFramework(
      { framework: loadFrameworkFile(), versions: loadFrameworkVersions(), baseUrl },
      args.data.format,
      args.data.version === '2' ? 2 : 1,
    );
    if (args.data.out) writeFileSync(args.data.out, file.body);
    else process.stdout.write(file.body);
    return 0;
  } catch (error) {
    if (error instanceof VersionUnavailableError) {
      process.stderr.write(`${error.message}\n`);
      return 3;
    }
    throw error;
  }
}

process.exitCode = main();
