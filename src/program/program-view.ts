import { levelOrder, minimumCohortSize, showAggregate, suppressedLabel, type Aggregate } from './statistics';
import type { Comparison, ProgramReport } from './program-report';
import type { LevelDistribution } from './statistics';

/** Page and CSV shapes of the program report. Suppressed aggregates read "n < 5" in both. */

export const levelLabels = { novice: 'Novice', developing: 'Developing', proficient: 'Proficient', expert: 'Expert' } as const;
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

/** An accessible bar chart of a level distribution (its accessible name states every bar). */
function levelChart(key: string, label: string, distribution: Aggregate<LevelDistribution>): CompetencyChart {
  const id = `chart-${key.replace('.', '-')}`;
  if (distribution.kind === 'suppressed')
    return { id, titleId: `${id}-title`, title: `${label}: ${suppressedLabel}`, suppressed: true, bars: [] };
  const { counts, shares } = distribution.value;
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
    title: `${label}, ${distribution.n} coaches: ${bars.map((b) => `${b.label} ${b.value}`).join(', ')}`,
    suppressed: false,
    bars,
  };
}

const signed = (v: number, digits: number): string => {
  const text = fixed(v, digits);
  return Number(text) > 0 ? `+${text}` : text;
};
const signedPoints = (share: number): string => {
  const points = Math.round(share * 100);
  return points > 0 ? `+${points} pts` : `${points} pts`;
};
const hours = (h: number): string => `${fixed(h, 1)} h`;

function levelRow(row: {
  distribution: Aggregate<LevelDistribution>;
  spread: ProgramReport['competencies'][number]['spread'];
  insufficientEvidence: Aggregate<number>;
}) {
  return {
    levels: levelOrder.map((level) => cell(row.distribution, (d) => `${count(d.counts[level])} (${percent(d.shares[level])})`)),
    shares: levelOrder.map((level) => cell(row.distribution, (d) => percent(d.shares[level]))),
    median: cell(row.spread, (s) => fixed(s.median, 1)),
    iqr: cell(row.spread, (s) => `${fixed(s.iqr, 1)} (${fixed(s.q1, 1)}–${fixed(s.q3, 1)})`),
    insufficient: cell(row.insufficientEvidence, percent),
  };
}

/** Side by side and the difference (second − first), each cell suppressed on its own. */
export function presentComparison(comparison: Comparison) {
  const side = (s: Comparison['rows'][number]['first']) => ({
    median: cell(s.spread, (v) => fixed(v.median, 1)),
    proficient: cell(s.distribution, (d) => percent(d.shares.proficient + d.shares.expert)),
    insufficient: cell(s.insufficientEvidence, percent),
  });
  return {
    firstLabel: comparison.firstLabel,
    secondLabel: comparison.secondLabel,
    firstCoaches: comparison.firstCoaches < minimumCohortSize ? suppressedLabel : String(comparison.firstCoaches),
    secondCoaches: comparison.secondCoaches < minimumCohortSize ? suppressedLabel : String(comparison.secondCoaches),
    rows: comparison.rows.map((r) => ({
      id: r.id,
      name: r.name,
      isDomain: r.kind === 'domain',
      first: side(r.first),
      second: side(r.second),
      medianChange: cell(r.medianChange, (v) => signed(v, 1)),
      proficientChange: cell(r.proficientChange, signedPoints),
      insufficientChange: cell(r.insufficientChange, signedPoints),
    })),
  };
}

export function presentProgram(report: ProgramReport) {
  const charts = report.competencies.map((row) => levelChart(row.competencyId, `${row.competencyId} ${row.name}`, row.distribution));
  const domainCharts = report.domains.map((row) => levelChart(`domain-${row.domainId}`, `${row.domainId} ${row.name}`, row.distribution));
  const domainRows = report.domains.map((row) => ({ id: row.domainId, name: row.name, ...levelRow(row) }));
  const gapRows = report.gaps.map((row) => ({
    id: row.competencyId,
    name: row.name,
    gap: cell(row.gap, (g) => signed(g.meanGap, 2)),
    pairs: cell(row.gap, (g) => String(g.pairs)),
    coaches: row.gap.kind === 'value' ? String(row.gap.n) : suppressedLabel,
  }));
  const ratingRows = report.ratings.map((row) => ({
    period: row.period === 'all' ? 'All months' : row.period,
    overall: row.period === 'all',
    ratings: cell(row.turnaround, (t) => String(t.ratings)),
    coaches: row.turnaround.kind === 'value' ? String(row.turnaround.n) : suppressedLabel,
    median: cell(row.turnaround, (t) => hours(t.medianHours)),
    p90: cell(row.turnaround, (t) => hours(t.p90Hours)),
  }));
  const gapById = new Map(gapRows.map((g) => [g.id, g.gap]));
  const competencyRows = report.competencies.map((row) => ({
    id: row.competencyId,
    name: row.name,
    ...levelRow(row),
    gap: gapById.get(row.competencyId) ?? suppressedLabel,
  }));
  const funnelRows = report.funnel.map((row) => ({
    id: row.moduleId,
    title: row.title,
    launched: cell(row.counts, (c) => count(c.launched)),
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
    domainCharts,
    domainRows,
    competencyRows,
    funnelRows,
    gapRows,
    ratingRows,
    qualityModules,
  };
}

export const programTables = ['competencies', 'domains', 'funnel', 'gaps', 'ratings', 'items', 'modules', 'comparison'] as const;
export type ProgramTable = (typeof programTables)[number];

const raw = (v: number | null, digits = 4): string => (v === null ? '' : String(Number(v.toFixed(digits))));

/** One CSV per table of the page, header first; the same suppression as the page. */
/** Level counts, median, quartiles, IQR and insufficient-evidence share: the same columns per domain and per competency. */
function levelColumns(r: Pick<ProgramReport['domains'][number], 'distribution' | 'spread' | 'insufficientEvidence'>): string[] {
  return [
    ...levelOrder.map((level) => cell(r.distribution, (d) => count(d.counts[level]))),
    cell(r.spread, (s) => raw(s.median)),
    cell(r.spread, (s) => raw(s.q1)),
    cell(r.spread, (s) => raw(s.q3)),
    cell(r.spread, (s) => raw(s.iqr)),
    cell(r.insufficientEvidence, (v) => raw(v)),
  ];
}

export function programCsv(report: ProgramReport, table: ProgramTable, comparison?: Comparison): string[][] {
  switch (table) {
    case 'domains':
      return [
        ['domain_id', 'domain', 'novice', 'developing', 'proficient', 'expert', 'median', 'q1', 'q3', 'iqr', 'insufficient_evidence_share'],
        ...report.domains.map((r) => [r.domainId, r.name, ...levelColumns(r)]),
      ];
    case 'gaps':
      return [
        ['competency_id', 'competency', 'coaches', 'rated_reflections', 'mean_self_minus_faculty_levels'],
        ...report.gaps.map((r) => [
          r.competencyId,
          r.name,
          r.gap.kind === 'value' ? String(r.gap.n) : suppressedLabel,
          cell(r.gap, (g) => String(g.pairs)),
          cell(r.gap, (g) => raw(g.meanGap)),
        ]),
      ];
    case 'ratings':
      return [
        ['period', 'coaches', 'ratings', 'median_hours', 'p90_hours'],
        ...report.ratings.map((r) => [
          r.period,
          r.turnaround.kind === 'value' ? String(r.turnaround.n) : suppressedLabel,
          cell(r.turnaround, (t) => String(t.ratings)),
          cell(r.turnaround, (t) => raw(t.medianHours)),
          cell(r.turnaround, (t) => raw(t.p90Hours)),
        ]),
      ];
    case 'comparison': {
      const header = [
        'first',
        'second',
        'kind',
        'id',
        'name',
        'first_median',
        'second_median',
        'median_change',
        'first_proficient_share',
        'second_proficient_share',
        'proficient_share_change',
        'first_insufficient_share',
        'second_insufficient_share',
        'insufficient_share_change',
      ];
      if (!comparison) return [header];
      const proficient = (d: LevelDistribution): string => raw(d.shares.proficient + d.shares.expert);
      return [
        header,
        ...comparison.rows.map((r) => [
          comparison.firstLabel,
          comparison.secondLabel,
          r.kind,
          r.id,
          r.name,
          cell(r.first.spread, (s) => raw(s.median)),
          cell(r.second.spread, (s) => raw(s.median)),
          cell(r.medianChange, (v) => raw(v)),
          cell(r.first.distribution, proficient),
          cell(r.second.distribution, proficient),
          cell(r.proficientChange, (v) => raw(v)),
          cell(r.first.insufficientEvidence, (v) => raw(v)),
          cell(r.second.insufficientEvidence, (v) => raw(v)),
          cell(r.insufficientChange, (v) => raw(v)),
        ]),
      ];
    }
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
        ...report.competencies.map((r) => [r.competencyId, r.name, r.domainId, ...levelColumns(r)]),
      ];
    case 'funnel':
      return [
        ['module_id', 'module', 'launched', 'started', 'completed'],
        ...report.funnel.map((r) => [
          r.moduleId,
          r.title,
          cell(r.counts, (c) => count(c.launched)),
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
