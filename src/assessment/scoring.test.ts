import fc from 'fast-check';
import type { ModuleFile } from '../curriculum/content-schema';
import {
  aggregateCompetencies,
  competencyEvidence,
  courseCompetencyScores,
  proficiencyLevel,
  scoreItems,
  scoreMcq,
  scoreObjectives,
  scoreReflection,
  type Answer,
  type CompletedAttempt,
} from './scoring';

const rubric = { novice: 'n', developing: 'd', proficient: 'p', expert: 'e' };
const opt = (id: string, correct: boolean) => ({ id, text: id, correct, feedback: 'f' });

/** M01.O1 → C1.1 (1.0) and C2.1 (0.5); M01.O2 → C2.1 (1.0). Q1 single (O1), Q2 multiple (O1, O2), R1 reflection (O2). */
function fixture(retakePolicy: 'latest' | 'best' = 'latest', id = 'M01'): ModuleFile {
  return {
    id,
    version: 1,
    order: 1,
    title: 't',
    summary: 's',
    estimatedMinutes: 20,
    retakePolicy,
    objectives: [
      {
        id: `${id}.O1`,
        text: 'o1',
        competencies: [
          { id: 'C1.1', weight: 1 },
          { id: 'C2.1', weight: 0.5 },
        ],
      },
      { id: `${id}.O2`, text: 'o2', competencies: [{ id: 'C2.1', weight: 1 }] },
    ],
    sections: [{ id: 's1', title: 's', kind: 'reading', body: 'b' }],
    items: [
      {
        id: `${id}.Q1`,
        kind: 'mcq',
        section: 's1',
        objectives: [`${id}.O1`],
        multiple: false,
        stem: 'q',
        options: [opt('a', false), opt('b', true), opt('c', false)],
      },
      {
        id: `${id}.Q2`,
        kind: 'mcq',
        section: 's1',
        objectives: [`${id}.O1`, `${id}.O2`],
        multiple: true,
        stem: 'q',
        options: [opt('a', true), opt('b', true), opt('c', false), opt('d', true), opt('e', false)],
      },
      { id: `${id}.R1`, kind: 'reflection', section: 's1', objectives: [`${id}.O2`], prompt: 'p', rubric },
    ],
    references: [{ authors: 'a', year: 2020, title: 't' }],
  };
}

describe('item scoring', () => {
  const q2 = fixture().items[1];
  const options = q2 && q2.kind === 'mcq' ? q2.options : [];

  test('when a single-best-answer question is answered with the correct option alone, then it scores 1, otherwise 0', () => {
    const single = [opt('a', false), opt('b', true), opt('c', false)];
    expect(scoreMcq(single, false, ['b'])).toBe(1);
    expect(scoreMcq(single, false, ['a'])).toBe(0);
    expect(scoreMcq(single, false, ['a', 'b'])).toBe(0);
    expect(scoreMcq(single, false, [])).toBe(0);
  });

  test('when 2 of 3 correct options and no wrong one are chosen, then partial credit is 2/3', () => {
    expect(scoreMcq(options, true, ['a', 'b'])).toBeCloseTo(2 / 3);
  });

  test('when 3 of 3 correct and 1 wrong option are chosen, then the wrong one costs a third (2/3)', () => {
    expect(scoreMcq(options, true, ['a', 'b', 'd', 'c'])).toBeCloseTo(2 / 3);
  });

  test('when every option is ticked (3 correct, 2 wrong), then the score is 1/3, and when wrong choices outnumber right ones it is floored at 0', () => {
    expect(scoreMcq(options, true, ['a', 'b', 'c', 'd', 'e'])).toBeCloseTo(1 / 3);
    expect(scoreMcq(options, true, ['a', 'c', 'e'])).toBe(0);
  });

  test('when a reflection is self-rated proficient, then it scores 0.75 with weight 0.5 and awaits faculty', () => {
    expect(scoreReflection('proficient', undefined)).toEqual({ score: 0.75, weight: 0.5, pendingFacultyRating: true });
  });

  test('when faculty rate the same reflection developing, then their rating replaces the self-rating with full weight', () => {
    expect(scoreReflection('proficient', 'developing')).toEqual({ score: 0.5, weight: 1, pendingFacultyRating: false });
  });
});

describe('objective and competency scoring', () => {
  const mod = fixture();
  const answers: Answer[] = [
    { kind: 'mcq', itemId: 'M01.Q1', selected: ['b'] },
    { kind: 'mcq', itemId: 'M01.Q2', selected: ['a', 'b'] },
    { kind: 'reflection', itemId: 'M01.R1', selfLevel: 'expert' },
  ];

  test('when Q1=1, Q2=2/3 and R1 self-rated expert, then O1 = 5/6 and O2 = (2/3·1 + 1·0.5)/1.5 = 7/9', () => {
    const objectives = scoreObjectives(mod, scoreItems(mod, answers));
    expect(objectives.find((o) => o.objectiveId === 'M01.O1')?.score).toBeCloseTo(5 / 6);
    expect(objectives.find((o) => o.objectiveId === 'M01.O2')?.score).toBeCloseTo(7 / 9);
  });

  test('when those objectives are weighted, then C1.1 = 83.33 (proficient) and C2.1 = (5/6·0.5 + 7/9·1)/1.5 = 79.63 (proficient), pending faculty', () => {
    const scores = aggregateCompetencies(competencyEvidence(mod, answers));
    expect(scores).toEqual([
      { competencyId: 'C1.1', score: 83.33, level: 'proficient', modules: ['M01'], objectives: 1, pendingFacultyRating: false },
      { competencyId: 'C2.1', score: 79.63, level: 'proficient', modules: ['M01'], objectives: 2, pendingFacultyRating: true },
    ]);
  });

  test('when faculty later rate the reflection novice, then C2.1 drops to (5/6·0.5 + (2/3+0.25)/2·1)/1.5 = 58.33 (developing)', () => {
    const rated: Answer[] = [...answers.slice(0, 2), { kind: 'reflection', itemId: 'M01.R1', selfLevel: 'expert', facultyLevel: 'novice' }];
    const c21 = aggregateCompetencies(competencyEvidence(mod, rated)).find((s) => s.competencyId === 'C2.1');
    expect(c21).toMatchObject({ score: 58.33, level: 'developing', pendingFacultyRating: false });
  });

  test('when only Q1 was attempted, then C2.1 comes from O1 alone and objectives without attempts add no zeros', () => {
    const scores = aggregateCompetencies(competencyEvidence(mod, [{ kind: 'mcq', itemId: 'M01.Q1', selected: ['b'] }]));
    expect(scores.map((s) => [s.competencyId, s.score])).toEqual([
      ['C1.1', 100],
      ['C2.1', 100],
    ]);
  });

  test.each([
    [0, 'novice'],
    [39.99, 'novice'],
    [40, 'developing'],
    [64.99, 'developing'],
    [65, 'proficient'],
    [84.99, 'proficient'],
    [85, 'expert'],
    [100, 'expert'],
  ])('when a competency scores %p, then the level is %s', (score, level) => {
    expect(proficiencyLevel(score)).toBe(level);
  });

  test('when thresholds are configured differently, then levels follow them', () => {
    expect(proficiencyLevel(70, { developing: 50, proficient: 75, expert: 90 })).toBe('developing');
  });
});

describe('course aggregation and retakes', () => {
  const wrong: Answer[] = [{ kind: 'mcq', itemId: 'M01.Q1', selected: ['a'] }];
  const right: Answer[] = [{ kind: 'mcq', itemId: 'M01.Q1', selected: ['b'] }];
  const attempt = (module: ModuleFile, answers: Answer[], day: number): CompletedAttempt => ({
    moduleId: module.id,
    module,
    answers,
    completedAt: new Date(Date.UTC(2026, 0, day)),
  });

  test('when a "latest" module is retaken worse, then the later attempt counts (C1.1 = 0)', () => {
    const m = fixture('latest');
    expect(courseCompetencyScores([attempt(m, right, 1), attempt(m, wrong, 2)]).find((s) => s.competencyId === 'C1.1')?.score).toBe(0);
  });

  test('when a "best" module is retaken worse, then the better attempt counts (C1.1 = 100)', () => {
    const m = fixture('best');
    expect(courseCompetencyScores([attempt(m, right, 1), attempt(m, wrong, 2)]).find((s) => s.competencyId === 'C1.1')?.score).toBe(100);
  });

  test('when two modules feed C1.1 (100 and 0, equal weights), then the course score is 50 from both modules', () => {
    const a = fixture('latest', 'M01');
    const b = fixture('latest', 'M02');
    const c11 = courseCompetencyScores([attempt(a, right, 1), attempt(b, [{ kind: 'mcq', itemId: 'M02.Q1', selected: ['c'] }], 2)]).find(
      (s) => s.competencyId === 'C1.1',
    );
    expect(c11).toMatchObject({ score: 50, level: 'developing', modules: ['M01', 'M02'] });
  });
});

describe('properties', () => {
  const mod = fixture();
  const optionIds = ['a', 'b', 'c', 'd', 'e'];
  const selection = fc.subarray(optionIds);
  const level = fc.constantFrom('novice' as const, 'developing' as const, 'proficient' as const, 'expert' as const);
  const answersArb = fc.record({
    q1: fc.subarray(['a', 'b', 'c']),
    q2: selection,
    self: level,
    faculty: fc.option(level, { nil: undefined }),
  });
  const toAnswers = (a: {
    q1: string[];
    q2: string[];
    self: 'novice' | 'developing' | 'proficient' | 'expert';
    faculty: 'novice' | 'developing' | 'proficient' | 'expert' | undefined;
  }): Answer[] => [
    { kind: 'mcq', itemId: 'M01.Q1', selected: a.q1 },
    { kind: 'mcq', itemId: 'M01.Q2', selected: a.q2 },
    { kind: 'reflection', itemId: 'M01.R1', selfLevel: a.self, facultyLevel: a.faculty },
  ];

  test('every item, objective and competency score stays within its bounds', () => {
    fc.assert(
      fc.property(answersArb, (a) => {
        const answers = toAnswers(a);
        for (const s of scoreItems(mod, answers)) expect(s.score >= 0 && s.score <= 1).toBe(true);
        for (const c of aggregateCompetencies(competencyEvidence(mod, answers))) expect(c.score >= 0 && c.score <= 100).toBe(true);
      }),
    );
  });

  test('choosing one more correct option in a multiple-answer question never lowers any competency score', () => {
    fc.assert(
      fc.property(answersArb, fc.constantFrom('a', 'b', 'd'), (a, extra) => {
        const before = aggregateCompetencies(competencyEvidence(mod, toAnswers(a)));
        const after = aggregateCompetencies(competencyEvidence(mod, toAnswers({ ...a, q2: [...new Set([...a.q2, extra])] })));
        for (const b of before) expect(after.find((x) => x.competencyId === b.competencyId)!.score).toBeGreaterThanOrEqual(b.score);
      }),
    );
  });

  test('answering a not-yet-attempted item correctly never lowers any competency score', () => {
    fc.assert(
      fc.property(selection, level, (q2, self) => {
        const partial: Answer[] = [
          { kind: 'mcq', itemId: 'M01.Q2', selected: q2 },
          { kind: 'reflection', itemId: 'M01.R1', selfLevel: self },
        ];
        const before = aggregateCompetencies(competencyEvidence(mod, partial));
        const after = aggregateCompetencies(competencyEvidence(mod, [...partial, { kind: 'mcq', itemId: 'M01.Q1', selected: ['b'] }]));
        for (const b of before) expect(after.find((x) => x.competencyId === b.competencyId)!.score).toBeGreaterThanOrEqual(b.score);
      }),
    );
  });

  test('scoring is deterministic: the same answers always give the same scores', () => {
    fc.assert(
      fc.property(answersArb, (a) =>
        expect(aggregateCompetencies(competencyEvidence(mod, toAnswers(a)))).toEqual(
          aggregateCompetencies(competencyEvidence(mod, toAnswers(a))),
        ),
      ),
    );
  });
});
