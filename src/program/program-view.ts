import { levelOrder, minimumCohortSize, showAggregate, suppressedLabel, type Aggregate } from './statistics';
import type { ProgramReport } from './program-report';

/** Page and CSV shapes of the program report. Suppressed aggregates read "n < 5" in both. */

const levelLabels = { novice: 'Novice', developing: 'Developing', proficient: 'Proficient', expert: 'Expert' } as const;
const flagLabels = {
  'too-easy': 'too easy (p > 0.9)',
  'too-hard': 'too hard (p < 0.2)',
  'negative-discrimination': 'negative discrimination',
  'unused-distractor': 'a distractor nobody chose',
} as const;

const percent = (share: number): string => `${Math.round(share * 100)}%`;
/** Fixed decimals; a value that rounds to zero prints as 0, never "-0.00". */
const fixed = (v: number | null, digits = 2): string => (v === null ? '—' : (Math.abs(v) < 0.5 * 10 ** -digits ? 0 : v).toFixed(digits));
/** Counts inside an aggregate of 5 or more coaches are shown as they are (the aggregate is what is suppressed). */
const count = (n: number): string => String(n);
const cell = <T>(agg: Aggregate<T>, format: (v: T) => string): string => showAggregate(agg, format);

export interface ChartBar {
  label: string;
  value: string;
  y: number;
  width: number;
  textX: number;
}

export interface CompetencyChart {
  id: string;
  titleId: string;
  title: string;
  suppressed: boolean;
  bars: ChartBar[];
}

const chartWidth = 200;
const barHeight = 16;
const barGap = 6;
export const chartGeometry = { width: 320, height: levelOrder.length * (barHeight + barGap), barHeight, labelWidth: 84 };

export function presentProgram(report: ProgramReport) {
  const charts: CompetencyChart[] = report.competencies.map((row) => {
    const id = `chart-${row.competencyId.replace('.', '-')}`;
    if (row.distribution.kind === 'suppressed')
      return { id, titleId: `${id}-title`, title: `${row.competencyId} ${row.name}: ${suppressedLabel}`, suppressed: true, bars: [] };
    const { counts, shares } = row.distribution.value;
    const bars = levelOrder.map((level, i) => ({
      label: levelLabels[level],
      value: `${percent(shares[level])} (${counts[level]})`,
      y: i * (barHeight + barGap),
      width: Math.round(shares[level] * chartWidth),
      textX: chartGeometry.labelWidth + Math.round(shares[level] * chartWidth) + 4,
    }));
    return {
      id,
      titleId: `${id}-title`,
      title: `${row.competencyId} ${row.name}, ${row.distribution.n} coaches: ${bars.map((b) => `${b.label} ${b.value}`).join(', ')}`,
      suppressed: false,
      bars,
    };
  });
  const competencyRows = report.competencies.map((row) => ({
    id: row.competencyId,
    name: row.name,
    levels: levelOrder.map((level) => cell(row.distribution, (d) => `${count(d.counts[level])} (${percent(d.shares[level])})`)),
    median: cell(row.spread, (s) => fixed(s.median, 1)),
    iqr: cell(row.spread, (s) => `${fixed(s.iqr, 1)} (${fixed(s.q1, 1)}–${fixed(s.q3, 1)})`),
    insufficient: cell(row.insufficientEvidence, percent),
  }));
  const funnelRows = report.funnel.map((row) => ({
    id: row.moduleId,
    title: row.title,
    started: cell(row.counts, (c) => count(c.started)),
    completed: cell(row.counts, (c) => count(c.completed)),
  }));
  const qualityModules = report.quality.map((m) => ({
    id: m.moduleId,
    title: m.title,
    coaches: m.analysis.kind === 'value' ? String(m.analysis.n) : suppressedLabel,
    kr20: cell(m.analysis, (a) => fixed(a.kr20)),
    alpha: cell(m.analysis, (a) => fixed(a.alpha)),
    kappa: cell(m.selfFacultyAgreement, (k) => `${fixed(k.kappa)} (n = ${k.n})`),
    items:
      m.analysis.kind === 'value'
        ? m.analysis.value.items.map((item) => ({
            id: item.itemId,
            difficulty: fixed(item.difficulty),
            pointBiserial: fixed(item.pointBiserial),
            corrected: fixed(item.correctedItemTotal),
            shares: item.shares
              ? Object.entries(item.shares)
                  .map(([o, s]) => `${o}: ${percent(s)}`)
                  .join(', ')
              : '—',
            flags: item.flags.map((f) => flagLabels[f]).join('; '),
            flagged: item.flags.length > 0,
          }))
        : [],
  }));
  return {
    coachCount: report.coachCount < minimumCohortSize ? suppressedLabel : String(report.coachCount),
    charts,
    competencyRows,
    funnelRows,
    qualityModules,
  };
}

export const programTables = ['competencies', 'funnel', 'items', 'modules'] as const;
export type ProgramTable = (typeof programTables)[number];

const raw = (v: number | null, digits = 4): string => (v === null ? '' : String(Number(v.toFixed(digits))));

/** One CSV per table of the page, header first; the same suppression as the page. */
export function programCsv(report: ProgramReport, table: ProgramTable): string[][] {
  switch (table) {
    case 'competencies':
      return [
        [
          'competency_id',
          'competency',
          'domain_id',
          'novice',
          'developing',
          'proficient',
          'expert',
          'median',
          'q1',
          'q3',
          'iqr',
          'insufficient_evidence_share',
        ],
        ...report.competencies.map((r) => [
          r.competencyId,
          r.name,
          r.domainId,
          ...levelOrder.map((level) => cell(r.distribution, (d) => count(d.counts[level]))),
          cell(r.spread, (s) => raw(s.median)),
          cell(r.spread, (s) => raw(s.q1)),
          cell(r.spread, (s) => raw(s.q3)),
          cell(r.spread, (s) => raw(s.iqr)),
          cell(r.insufficientEvidence, (v) => raw(v)),
        ]),
      ];
    case 'funnel':
      return [
        ['module_id', 'module', 'started', 'completed'],
        ...report.funnel.map((r) => [
          r.moduleId,
          r.title,
          cell(r.counts, (c) => count(c.started)),
          cell(r.counts, (c) => count(c.completed)),
        ]),
      ];
    case 'items':
      return [
        ['module_id', 'item_id', 'difficulty_p', 'point_biserial', 'corrected_item_total', 'option_shares', 'flags'],
        ...report.quality.flatMap((m) =>
          m.analysis.kind === 'suppressed'
            ? [[m.moduleId, '', suppressedLabel, suppressedLabel, suppressedLabel, suppressedLabel, suppressedLabel]]
            : m.analysis.value.items.map((i) => [
                m.moduleId,
                i.itemId,
                raw(i.difficulty),
                raw(i.pointBiserial),
                raw(i.correctedItemTotal),
                i.shares
                  ? Object.entries(i.shares)
                      .map(([o, s]) => `${o}=${raw(s)}`)
                      .join(' ')
                  : '',
                i.flags.join(' '),
              ]),
        ),
      ];
    case 'modules':
      return [
        ['module_id', 'module', 'coaches', 'kr20', 'cronbach_alpha', 'self_faculty_weighted_kappa', 'kappa_n'],
        ...report.quality.map((m) => [
          m.moduleId,
          m.title,
          m.analysis.kind === 'value' ? String(m.analysis.n) : suppressedLabel,
          cell(m.analysis, (a) => raw(a.kr20)),
          cell(m.analysis, (a) => raw(a.alpha)),
          cell(m.selfFacultyAgreement, (k) => raw(k.kappa)),
          cell(m.selfFacultyAgreement, (k) => String(k.n)),
        ]),
      ];
  }
}
