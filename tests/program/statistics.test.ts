import fc from 'fast-check';
import type { ProficiencyLevel } from '../../src/assessment/scoring';
import {
  aggregate,
  analyseItems,
  correctedItemTotal,
  cronbachAlpha,
  itemDifficulty,
  itemFlags,
  kr20,
  levelDistribution,
  medianAndIqr,
  optionShares,
  pointBiserial,
  quadraticWeightedKappa,
  scoreSpread,
  showAggregate,
  weightedKappaFromTable,
} from '../../src/program/statistics';

/**
 * Worked example used by several tests (5 coaches × 3 questions, 0/1):
 *   coach totals 3, 2, 1, 0, 3 (mean 1.8, population variance 6.8/5 = 1.36)
 *   p = 0.8, 0.6, 0.4; Σpq = 0.16 + 0.24 + 0.24 = 0.64
 *   KR-20 = 3/2 · (1 − 0.64/1.36) = 27/34
 *   item 1 vs total: cov 0.36, var 0.16 and 1.36 → r = 0.9/√1.36
 *   item 1 vs rest (2, 1, 0, 0, 2): cov 0.2, var 0.16 and 0.8 → r = √5/4
 */
const worked = [
  [1, 1, 1],
  [1, 1, 0],
  [1, 0, 0],
  [0, 0, 0],
  [1, 1, 1],
];

const binaryMatrix = fc
  .tuple(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 6 }))
  .chain(([rows, cols]) =>
    fc.array(fc.array(fc.integer({ min: 0, max: 1 }), { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows }),
  );

describe('item statistics (known answers)', () => {
  test('when the worked example is analysed, then p, point-biserial and corrected item-total match the hand computation', () => {
    expect(itemDifficulty(worked.map((r) => r[0] as number))).toBeCloseTo(0.8, 12);
    expect(itemDifficulty(worked.map((r) => r[2] as number))).toBeCloseTo(0.4, 12);
    expect(pointBiserial(worked, 0)).toBeCloseTo(0.9 / Math.sqrt(1.36), 12);
    expect(correctedItemTotal(worked, 0)).toBeCloseTo(Math.sqrt(5) / 4, 12);
  });

  test('when an item is answered correctly by everyone, then its discrimination is undefined (null), not NaN', () => {
    const allRight = worked.map((r) => [1, r[1] as number, r[2] as number]);
    expect(pointBiserial(allRight, 0)).toBeNull();
    expect(correctedItemTotal(allRight, 0)).toBeNull();
  });

  test('when options are chosen, then each share is the fraction of coaches choosing it, including multiple answers', () => {
    expect(optionShares([['a'], ['a'], ['b'], ['a', 'c'], []], ['a', 'b', 'c', 'd'])).toEqual({ a: 0.6, b: 0.2, c: 0.2, d: 0 });
    expect(optionShares([], ['a'])).toBeNull();
  });

  test('when an item is too easy, too hard, discriminates negatively or has a distractor nobody chose, then it is flagged so', () => {
    expect(itemFlags({ difficulty: 0.95, discrimination: 0.3, shares: { a: 0.95, b: 0.05 }, correctOptions: ['a'] })).toEqual(['too-easy']);
    expect(itemFlags({ difficulty: 0.9, discrimination: 0.3, shares: null, correctOptions: [] })).toEqual([]);
    expect(itemFlags({ difficulty: 0.1, discrimination: -0.2, shares: null, correctOptions: [] })).toEqual([
      'too-hard',
      'negative-discrimination',
    ]);
    expect(itemFlags({ difficulty: 0.2, discrimination: 0, shares: null, correctOptions: [] })).toEqual([]);
    expect(itemFlags({ difficulty: 0.5, discrimination: 0.4, shares: { a: 0.5, b: 0.5, c: 0 }, correctOptions: ['a'] })).toEqual([
      'unused-distractor',
    ]);
    expect(itemFlags({ difficulty: 0.5, discrimination: 0.4, shares: { a: 0, b: 1 }, correctOptions: ['a'] })).toEqual([]);
  });
});

describe('reliability', () => {
  test('when the worked example is scored, then KR-20 and alpha are both 27/34', () => {
    expect(kr20(worked)).toBeCloseTo(27 / 34, 12);
    expect(cronbachAlpha(worked)).toBeCloseTo(27 / 34, 12);
  });

  test('when partial-credit items are scored, then alpha matches the hand computation and KR-20 refuses them', () => {
    // items (0.5,1,0,1) and (0.5,1,0.5,0.5): variances 0.171875 and 0.046875; totals 1,2,0.5,1.5 variance 0.3125 → alpha 2·(1 − 0.21875/0.3125) = 0.6
    const partial = [
      [0.5, 0.5],
      [1, 1],
      [0, 0.5],
      [1, 0.5],
    ];
    expect(cronbachAlpha(partial)).toBeCloseTo(0.6, 12);
    expect(() => kr20(partial)).toThrow('0/1');
  });

  test('when every coach has the same total, then reliability is undefined (null)', () => {
    expect(
      cronbachAlpha([
        [1, 0],
        [0, 1],
      ]),
    ).toBeNull();
  });

  test('property: on 0/1 data KR-20 equals Cronbach alpha, and neither exceeds 1', () => {
    fc.assert(
      fc.property(binaryMatrix, (matrix) => {
        const a = cronbachAlpha(matrix);
        const k = kr20(matrix);
        if (a === null) return k === null;
        return k !== null && Math.abs(a - k) < 1e-9 && a <= 1 + 1e-12;
      }),
    );
  });

  test('property: correlations stay within [−1, 1] and p within [0, 1]', () => {
    fc.assert(
      fc.property(binaryMatrix, (matrix) => {
        for (let j = 0; j < (matrix[0]?.length ?? 0); j += 1) {
          const p = itemDifficulty(matrix.map((r) => r[j] as number)) as number;
          if (p < 0 || p > 1) return false;
          for (const r of [pointBiserial(matrix, j), correctedItemTotal(matrix, j)]) if (r !== null && (r < -1 || r > 1)) return false;
        }
        return true;
      }),
    );
  });
});

describe('quadratic-weighted kappa', () => {
  /**
   * Hand-computed table (rows rater A, columns rater B, 3 ordered levels, n = 50):
   *   [10  5  0]   row shares .30 .40 .30
   *   [ 2 15  3]   column shares .24 .50 .26
   *   [ 0  5 10]   weights 1 on the diagonal, 0.75 one step apart, 0 two steps apart
   * observed = (35 + 0.75·15)/50 = 0.925
   * expected = (.072 + .2 + .078) + 0.75·(.15 + .096 + .104 + .15) = 0.35 + 0.375 = 0.725
   * kappa = (0.925 − 0.725)/(1 − 0.725) = 0.2/0.275 = 8/11
   */
  const table = [
    [10, 5, 0],
    [2, 15, 3],
    [0, 5, 10],
  ];
  const pairsOf = (t: number[][]): [number, number][] =>
    t.flatMap((row, i) => row.flatMap((count, j) => Array.from({ length: count }, () => [i, j] as [number, number])));

  test('when the textbook-style table is rated, then kappa is 8/11 with n = 50', () => {
    expect(weightedKappaFromTable(table)).toBeCloseTo(8 / 11, 12);
    const result = quadraticWeightedKappa(pairsOf(table), 3);
    expect(result.n).toBe(50);
    expect(result.kappa).toBeCloseTo(8 / 11, 12);
  });

  test('when both raters always agree, then kappa is 1; when one rater uses one level only, then it is undefined', () => {
    expect(
      quadraticWeightedKappa(
        [
          [0, 0],
          [1, 1],
          [3, 3],
        ],
        4,
      ).kappa,
    ).toBeCloseTo(1, 12);
    expect(
      quadraticWeightedKappa(
        [
          [2, 2],
          [2, 2],
        ],
        4,
      ).kappa,
    ).toBeNull();
    expect(quadraticWeightedKappa([], 4)).toEqual({ kappa: null, n: 0 });
  });

  test('when ratings are outside the scale, then it refuses them', () => {
    expect(() => quadraticWeightedKappa([[0, 4]], 4)).toThrow('out of range');
  });

  test('property: kappa is symmetric in the two raters and never above 1', () => {
    const pairs = fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(pairs, (p) => {
        const a = quadraticWeightedKappa(p, 4).kappa;
        const b = quadraticWeightedKappa(
          p.map(([x, y]) => [y, x] as [number, number]),
          4,
        ).kappa;
        if (a === null) return b === null;
        return b !== null && Math.abs(a - b) < 1e-9 && a <= 1 + 1e-12;
      }),
    );
  });
});

describe('median, spread and level distributions with suppression', () => {
  test('when 1…8 are summarised, then median 4.5, Q1 2.75, Q3 6.25 and IQR 3.5 (linear interpolation)', () => {
    expect(medianAndIqr([8, 1, 7, 2, 6, 3, 5, 4])).toEqual({ median: 4.5, q1: 2.75, q3: 6.25, iqr: 3.5 });
    expect(medianAndIqr([])).toBeNull();
  });

  test('property: median is unchanged by order and lies between Q1 and Q3', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 30 }), (values) => {
        const a = medianAndIqr(values);
        const b = medianAndIqr([...values].reverse());
        return a !== null && b !== null && a.median === b.median && a.q1 <= a.median && a.median <= a.q3;
      }),
    );
  });

  test('when 4 coaches have scores, then spread and level distribution are suppressed and shown as "n < 5"', () => {
    const spread = scoreSpread([10, 20, 30, 40]);
    expect(spread).toEqual({ kind: 'suppressed' });
    expect(showAggregate(spread, (s) => String(s.median))).toBe('n < 5');
    expect(levelDistribution(['novice', 'expert', 'expert', 'proficient'])).toEqual({ kind: 'suppressed' });
  });

  test('when 5 coaches have levels, then the distribution counts and shares each level', () => {
    const levels: ProficiencyLevel[] = ['novice', 'developing', 'proficient', 'proficient', 'expert'];
    expect(levelDistribution(levels)).toEqual({
      kind: 'value',
      n: 5,
      value: {
        counts: { novice: 1, developing: 1, proficient: 2, expert: 1 },
        shares: { novice: 0.2, developing: 0.2, proficient: 0.4, expert: 0.2 },
      },
    });
    expect(showAggregate(scoreSpread([10, 20, 30, 40, 50]), (s) => String(s.median))).toBe('30');
  });

  test('property: any aggregate over fewer than 5 is suppressed and the computation never runs; 5 or more is computed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), (n) => {
        let ran = false;
        const result = aggregate(n, () => {
          ran = true;
          return n;
        });
        return n < 5 ? result.kind === 'suppressed' && !ran : result.kind === 'value' && result.value === n && ran;
      }),
    );
  });

  test('when a module is analysed for 4 coaches, then the whole item analysis is suppressed; for the worked 5, then it is computed', () => {
    const items = [
      { itemId: 'Q1', options: ['a', 'b', 'c'], correctOptions: ['a'] },
      { itemId: 'Q2', options: ['a', 'b'], correctOptions: ['b'] },
      { itemId: 'Q3', options: ['a', 'b'], correctOptions: ['a'] },
    ];
    const choice = (score: number, right: string, wrong: string): string[] => [score === 1 ? right : wrong];
    const responses = worked.map((row) => ({
      scores: row,
      choices: [choice(row[0] as number, 'a', 'b'), choice(row[1] as number, 'b', 'a'), choice(row[2] as number, 'a', 'b')],
    }));
    expect(analyseItems({ items, responses: responses.slice(0, 4) })).toEqual({ kind: 'suppressed' });
    const result = analyseItems({ items, responses });
    if (result.kind !== 'value') throw new Error('expected a value');
    expect(result.value.kr20).toBeCloseTo(27 / 34, 12);
    expect(result.value.items[0]).toMatchObject({
      itemId: 'Q1',
      difficulty: 0.8,
      shares: { a: 0.8, b: 0.2, c: 0 },
      flags: ['unused-distractor'],
    });
    expect(result.value.items[0]?.correctedItemTotal).toBeCloseTo(Math.sqrt(5) / 4, 12);
  });
});
