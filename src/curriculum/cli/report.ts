import { competencyIdsOf, loadFrameworkFile } from '../../competencies/framework-schema';
import { computeCoverage, coverageProblems } from '../coverage';
import { ContentError, loadModules } from '../load-content';

/** npm run curriculum:report [-- --json]: competency × (objectives, items, item kinds, modules). */
function main(argv: string[]): number {
  const framework = loadFrameworkFile();
  let modules;
  try {
    modules = loadModules(competencyIdsOf(framework));
  } catch (error) {
    if (error instanceof ContentError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const report = computeCoverage(modules, competencyIdsOf(framework));
  if (argv.includes('--json')) {
    const json = {
      modules: report.modules,
      competencies: report.competencies.map(({ id, objectives, items, itemKinds }) => ({ id, objectives, items, itemKinds })),
    };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    const names = new Map(framework.domains.flatMap((d) => d.competencies.map((c) => [c.id, c.name] as const)));
    const rows = report.competencies.map((c) => [
      c.id,
      names.get(c.id) ?? '',
      String(c.objectives),
      String(c.items),
      c.itemKinds.join('+'),
      c.modules.join(' '),
    ]);
    const header = ['id', 'competency', 'objectives', 'items', 'kinds', 'modules'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ');
    process.stdout.write(`${report.modules} modules\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
    for (const row of rows) process.stdout.write(`${line(row)}\n`);
  }
  const problems = coverageProblems(report);
  if (problems.length > 0) {
    process.stderr.write(`coverage rule not met:\n  - ${problems.join('\n  - ')}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
