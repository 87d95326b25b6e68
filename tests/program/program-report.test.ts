import type { ProficiencyLevel } from '../../src/assessment/scoring';
import type { Framework } from '../../src/competencies/framework';
import { loadFrameworkFile } from '../../src/competencies/framework-schema';
import { compareSections, latestInPeriod, levelSections } from '../../src/program/program-report';
import { findChromium, pdfPageCount } from '../../src/program/report-pdf';
import { difference, monthOf, ratingGap, ratingTurnaround, shareProficientOrBetter } from '../../src/program/statistics';

const framework: Framework = loadFrameworkFile();

const level = (s: number): ProficiencyLevel => (s >= 85 ? 'expert' : s >= 65 ? 'proficient' : s >= 40 ? 'developing' : 'novice');
const snap = (userId: string, courseId: string, scores: [string, number][]) => ({
  userId,
  courseId,
  scores: scores.map(([competencyId, score]) => ({ competencyId, score, level: level(score) })),
});

describe('program statistics for comparisons, gaps and turnaround', () => {
  test('when either side of a difference is under 5, then the difference is suppressed; otherwise it is second − first', () => {
    const big = { kind: 'value', n: 6, value: 10 } as const;
    const big2 = { kind: 'value', n: 5, value: 25 } as const;
    expect(difference(big, big2, (v) => v)).toEqual({ kind: 'value', n: 5, value: 15 });
    expect(difference(big, { kind: 'suppressed' }, (v: number) => v)).toEqual({ kind: 'suppressed' });
    expect(difference({ kind: 'suppressed' }, big2, (v: number) => v)).toEqual({ kind: 'suppressed' });
  });

  test('when the gap pairs come from 5 coaches, then the mean of self − faculty is known; from 4 coaches (however many pairs), suppressed', () => {
    const pairs = [
      { coach: 'a', self: 2, faculty: 1 },
      { coach: 'b', self: 3, faculty: 2 },
      { coach: 'c', self: 1, faculty: 1 },
      { coach: 'd', self: 2, faculty: 3 },
      { coach: 'e', self: 3, faculty: 1 },
    ];
    expect(ratingGap(pairs)).toEqual({ kind: 'value', n: 5, value: { meanGap: 0.6, pairs: 5 } });
    const four = [...pairs.slice(0, 4), ...pairs.slice(0, 4)];
    expect(ratingGap(four)).toEqual({ kind: 'suppressed' });
  });

  test('when turnaround hours are 2 4 10 24 48 over 5 coaches, then the median is 10 and the 90th percentile 38.4 (type 7); negative hours count as 0', () => {
    const hours = [2, 4, 10, 24, 48].map((h, i) => ({ coach: `c${i}`, hours: h }));
    expect(ratingTurnaround(hours)).toEqual({
      kind: 'value',
      n: 5,
      value: { ratings: 5, medianHours: 10, p90Hours: expect.closeTo(38.4, 10) as number },
    });
    const skewed = [-3, 0, 0, 0, 0].map((h, i) => ({ coach: `c${i}`, hours: h }));
    expect(ratingTurnaround(skewed)).toEqual({ kind: 'value', n: 5, value: { ratings: 5, medianHours: 0, p90Hours: 0 } });
    expect(ratingTurnaround(hours.slice(0, 4))).toEqual({ kind: 'suppressed' });
  });

  test('when shares and months are asked for, then proficient-or-better adds proficient and expert, and months are UTC', () => {
    expect(
      shareProficientOrBetter({
        counts: { novice: 1, developing: 1, proficient: 1, expert: 1 },
        shares: { novice: 0.25, developing: 0.25, proficient: 0.25, expert: 0.25 },
      }),
    ).toBe(0.5);
    expect(monthOf(new Date('2026-03-31T23:30:00-02:00'))).toBe('2026-04');
  });
});

describe('program report sections', () => {
  test('when domain D1 is computed, then each coach counts with the mean of their scored D1 competencies and its level', () => {
    const snapshots = [30, 47.5, 60, 70, 85, 95].map((m, i) =>
      snap(`u${i}`, 'k', [
        ['C1.1', m - 10],
        ['C1.2', m + 10],
      ]),
    );
    const sections = levelSections({ framework, courseIds: ['k'], coachCount: 8, snapshots });
    const d1 = sections.domains.find((d) => d.domainId === 'D1')!;
    expect(d1.distribution).toEqual({
      kind: 'value',
      n: 6,
      value: {
        counts: { novice: 1, developing: 2, proficient: 1, expert: 2 },
        shares: { novice: 1 / 6, developing: 2 / 6, proficient: 1 / 6, expert: 2 / 6 },
      },
    });
    expect(d1.spread).toEqual({ kind: 'value', n: 6, value: { median: 65, q1: 50.625, q3: 81.25, iqr: 30.625 } });
    expect(d1.insufficientEvidence).toEqual({ kind: 'value', n: 8, value: 2 / 8 });
    expect(sections.domains.find((d) => d.domainId === 'D2')!.distribution).toEqual({ kind: 'suppressed' });
  });

  test('when a coach is in two courses, then the first course in cohort order counts, once', () => {
    const snapshots = [
      snap('u0', 'b', [['C1.1', 10]]),
      snap('u0', 'a', [['C1.1', 90]]),
      ...[1, 2, 3, 4].map((i) => snap(`u${i}`, 'a', [['C1.1', 90]])),
    ];
    const sections = levelSections({ framework, courseIds: ['a', 'b'], coachCount: 5, snapshots });
    const c11 = sections.competencies.find((c) => c.competencyId === 'C1.1')!;
    expect(c11.spread).toEqual({ kind: 'value', n: 5, value: { median: 90, q1: 90, q3: 90, iqr: 0 } });
  });

  test('when a period has several snapshots of a coach, then the latest counts', () => {
    const latest = latestInPeriod([
      { ...snap('u0', 'a', [['C1.1', 99]]), computedAt: new Date('2026-05-02T00:00:00Z') },
      { ...snap('u0', 'a', [['C1.1', 20]]), computedAt: new Date('2026-05-20T00:00:00Z') },
      { ...snap('u0', 'a', [['C1.1', 50]]), computedAt: new Date('2026-05-10T00:00:00Z') },
      { ...snap('u1', 'a', [['C1.1', 70]]), computedAt: new Date('2026-05-01T00:00:00Z') },
    ]);
    expect(latest).toEqual([snap('u0', 'a', [['C1.1', 20]]), snap('u1', 'a', [['C1.1', 70]])]);
  });

  test('when two sections are compared, then domains come first and each change is second − first, suppressed where a side is', () => {
    const first = levelSections({
      framework,
      courseIds: ['a'],
      coachCount: 6,
      snapshots: [10, 20, 30, 40, 50, 60].map((s, i) =>
        snap(`u${i}`, 'a', [
          ['C1.1', s],
          ['C2.1', 50],
        ]),
      ),
    });
    const second = levelSections({
      framework,
      courseIds: ['a'],
      coachCount: 6,
      snapshots: [20, 45, 60, 70, 90, 100].map((s, i) =>
        snap(`u${i}`, 'a', [['C1.1', s], ...(i < 3 ? ([['C2.1', 50]] as [string, number][]) : [])]),
      ),
    });
    const comparison = compareSections(first, second, { first: 'Feb', second: 'May' });
    expect(comparison.rows.slice(0, 4).map((r) => r.kind)).toEqual(['domain', 'domain', 'domain', 'domain']);
    const c11 = comparison.rows.find((r) => r.id === 'C1.1')!;
    expect(c11.medianChange).toEqual({ kind: 'value', n: 6, value: 30 });
    expect(c11.proficientChange).toEqual({ kind: 'value', n: 6, value: 0.5 });
    const c21 = comparison.rows.find((r) => r.id === 'C2.1')!;
    expect(c21.medianChange).toEqual({ kind: 'suppressed' });
    expect(c21.insufficientChange).toEqual({ kind: 'value', n: 6, value: 0.5 });
  });
});

describe('report PDF helpers', () => {
  test('when CHROMIUM_PATH names a missing file, then no Chromium is used even if one is on the PATH', () => {
    expect(findChromium('/nonexistent/chromium', '/usr/bin')).toBeUndefined();
    expect(findChromium(undefined, '/nonexistent-dir')).toBeUndefined();
  });

  test('when a PDF has two page objects and a page tree, then it has 2 pages', () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj <</Type /Pages /Count 2>>\n2 0 obj <</Type /Page>>\n3 0 obj <</Type/Page /Parent 1 0 R>>\n');
    expect(pdfPageCount(pdf)).toBe(2);
  });
});
