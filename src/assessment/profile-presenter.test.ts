import type { Framework } from '../competencies/framework';
import { presentHistory, presentProfile } from './profile-presenter';
import type { CompetencyScore } from './scoring';

const framework: Framework = {
  domains: [
    {
      id: 'D2',
      uuid: 'd2',
      name: 'Relationship',
      competencies: [
        { id: 'C2.3', uuid: 'c23', name: 'Adaptability', summary: '' },
        { id: 'C2.4', uuid: 'c24', name: 'Effective communication', summary: '' },
      ],
    },
  ],
};
const evidence = { primaryItems: 4, secondaryItems: 1, kinds: ['knowledge', 'reflection'] as const, ratedPerformances: 1, pending: 0 };
const scored = (score: number, level: CompetencyScore['level']): CompetencyScore => ({
  competencyId: 'C2.3',
  status: 'scored',
  score,
  level,
  modules: ['M06', 'M10'],
  evidence: { ...evidence, kinds: [...evidence.kinds] },
  selfAssessment: { selfScore: 83.33, gapLevels: 1, compared: 1 },
  pendingFacultyRating: false,
});
const insufficient: CompetencyScore = {
  competencyId: 'C2.3',
  status: 'insufficient-evidence',
  missing: 'no faculty-rated reflection yet (awaiting rating)',
  modules: ['M06'],
  evidence: { primaryItems: 3, secondaryItems: 0, kinds: ['knowledge'], ratedPerformances: 0, pending: 2 },
  pendingFacultyRating: true,
};

describe('competency profile', () => {
  test('when a competency has insufficient evidence, then the row says what is missing instead of a number', () => {
    const row = presentProfile(framework, [insufficient]).domains[0]!.rows[0]!;
    expect(row.scoreText).toBe('Insufficient evidence: no faculty-rated reflection yet (awaiting rating)');
    expect(row.level).toBe('—');
    expect(row.evidence).toBe('3 items (knowledge) · 0 faculty-rated · 2 awaiting rating');
  });

  test('when a score exists, then the self-assessment gap is shown beside it, not in it', () => {
    const row = presentProfile(framework, [scored(72, 'proficient')]).domains[0]!.rows[0]!;
    expect(row.scoreText).toBe('72 / 100');
    expect(row.selfAssessment).toBe('Your self-rating 83 / 100 · 1.0 level above faculty');
  });

  test('when snapshots repeat a value, then the history lists only the changes, with a chart for scored points', () => {
    const at = (m: number) => new Date(Date.UTC(2026, 10, 25, 10, m));
    const history = presentHistory(framework, [
      { computedAt: at(0), scores: [insufficient] },
      { computedAt: at(1), scores: [insufficient] },
      { computedAt: at(2), scores: [scored(61.11, 'developing')] },
      { computedAt: at(3), scores: [scored(72, 'proficient')] },
    ]);
    expect(history).toHaveLength(1);
    expect(history[0]!.points.map((p) => p.text)).toEqual(['Insufficient evidence', '61 · Developing', '72 · Proficient']);
    expect(history[0]!.svg!.dots.map((d) => d.label)).toEqual(['61', '72']);
    expect(history[0]!.svg!.desc).toContain('25 Nov 2026, 10:03 UTC: 72 · Proficient');
    expect(history[0]!.points.map((p) => p.atText)).toEqual(['25 Nov 2026, 10:00 UTC', '25 Nov 2026, 10:02 UTC', '25 Nov 2026, 10:03 UTC']);
  });

  test('when a score has decimals, then the table, the chart and the history show the same whole number and the same level casing', () => {
    const view = presentProfile(framework, [scored(36.11, 'novice')], [{ computedAt: new Date(), scores: [scored(36.11, 'novice')] }]);
    const row = view.domains[0]!.rows[0]!;
    const bar = view.svg.elements.find((e) => e.kind === 'row');
    expect(row.scoreText).toBe('36 / 100');
    expect(row.level).toBe('Novice');
    expect(bar && bar.kind === 'row' ? bar.scoreLabel : '').toBe('36 · Novice');
    expect(view.history[0]!.points[0]!.text).toBe('36 · Novice');
  });

  test('when a competency name is long, then the chart label wraps onto more lines and keeps every word', () => {
    const long = 'Developing and sustaining a trusting, psychologically safe coaching relationship across transitions';
    const wide: Framework = {
      domains: [{ ...framework.domains[0]!, competencies: [{ id: 'C2.3', uuid: 'c23', name: long, summary: '' }] }],
    };
    const view = presentProfile(wide, [scored(72, 'proficient')]);
    const bar = view.svg.elements.find((e) => e.kind === 'row');
    const lines = bar && bar.kind === 'row' ? bar.lines : [];
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.map((l) => l.text).join(' ')).toBe(`C2.3 ${long}`);
    expect(lines.every((l) => l.text.length <= 44)).toBe(true);
    expect(JSON.stringify(view)).not.toContain('…');
  });
});
