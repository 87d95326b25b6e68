import { competencyIdsOf, loadFrameworkFile } from '../../competencies/framework-schema';
import { computeCoverage, coverageProblems, type CoverageCounts } from '../coverage';
import { assessItemQuality, type QualityStats } from '../item-quality';
import { ContentError, loadModules } from '../load-content';

/**
 * npm run curriculum:report [-- --json]: coverage per competency (weight-1 and secondary mappings apart) and the
 * item-quality gate per module and overall. Exits 1 when the coverage rule or a quality threshold fails.
 */

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

const countsCell = (c: CoverageCounts): string => `${c.objectives} obj / ${c.items} items (${c.itemKinds.join('+') || '-'})`;
const pct = (share: number): string => `${Math.round(share * 100)}%`;

function qualityRow(id: string, s: QualityStats): string[] {
  const counts = Object.entries(s.correctCounts)
    .map(([n, items]) => `${n}:${items}`)
    .join(' ');
  return [
    id,
    `${s.keyLongest}/${s.singleBest} ${pct(s.keyLongestShare)}${s.nearChance ? ' (near chance)' : ''}`,
    s.keyPositions.join('/'),
    counts || '-',
    `${s.firstOptionCorrect}/${s.multipleAnswer}`,
    s.keyToDistractorLengthRatio.toFixed(2),
  ];
}

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
  const quality = assessItemQuality(modules);
  const coverage = coverageProblems(report);
  if (argv.includes('--json')) {
    const json = {
      modules: report.modules,
      competencies: report.competencies.map(({ id, objectives, items, itemKinds, primary, secondary }) => ({
        id,
        objectives,
        items,
        itemKinds,
        primary,
        secondary,
      })),
      itemQuality: quality,
      coverageProblems: coverage,
    };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    const names = new Map(framework.domains.flatMap((d) => d.competencies.map((c) => [c.id, c.name] as const)));
    process.stdout.write(`${report.modules} modules\n\nCoverage (weight-1 mappings carry the score; secondary shown apart)\n`);
    process.stdout.write(
      table(
        ['id', 'competency', 'weight 1', 'weight-1 modules', 'secondary'],
        report.competencies.map((c) => [
          c.id,
          names.get(c.id) ?? '',
          countsCell(c.primary),
          c.primary.modules.join(' '),
          countsCell(c.secondary),
        ]),
      ),
    );
    process.stdout.write(
      '\nItem quality (single-best: key longest, key positions 1/2/3…; multiple-answer: correct counts, first option correct; key ÷ distractor length)\n',
    );
    process.stdout.write(
      table(
        ['module', 'key longest', 'key positions', 'correct counts', '1st correct', 'length ratio'],
        [...quality.modules.map((m) => qualityRow(m.id, m.stats)), qualityRow('overall', quality.overall)],
      ),
    );
    const flagged = quality.modules.flatMap((m) => m.bundledObjectives);
    process.stdout.write(`\nObjectives with more than one action verb: ${flagged.join(', ') || 'none'}\n`);
    const withoutVariant = quality.modules.flatMap((m) => m.questionsWithoutVariant);
    process.stdout.write(`Scenario questions without a parallel variant for retakes: ${withoutVariant.join(', ') || 'none'}\n`);
  }
  let failed = false;
  if (coverage.length > 0) {
    process.stderr.write(`coverage rule not met:\n  - ${coverage.join('\n  - ')}\n`);
    failed = true;
  }
  if (quality.problems.length > 0) {
    process.stderr.write(`item-quality gate failed:\n  - ${quality.problems.join('\n  - ')}\n`);
    failed = true;
  }
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
