import fc from 'fast-check';
import type { McqItem, ModuleFile, RubricLevel } from '../curriculum/content-schema';
import { loadModules } from '../curriculum/load-content';
import framework from '../competencies/framework-data.json';
import {
  attemptEvidence,
  courseCompetencyScores,
  defaultRules,
  evidenceValue,
  levelOrder,
  proficiencyLevel,
  scoreCompetency,
  scoreMcq,
  type Answer,
  type CompletedAttempt,
  observationEvidence,
  observationWeight,
  type Evidence,
} from './scoring';

const rubric = { novice: 'n', developing: 'd', proficient: 'p', expert: 'e' };
const opt = (id: string, correct: boolean) => ({ id, text: id, correct, feedback: 'f' });

/** M01.O1 → C1.1 (1.0) and C2.1 (0.5); M01.O2 → C2.1 (1.0). Q1 single (O1), Q2 multiple (O1, O2), Q3 single (O1), R1 (O1, O2). */
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
        variants: [{ id: 'v1', stem: 'q′', options: [opt('a', true), opt('b', false), opt('c', false)] }],
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
      {
        id: `${id}.Q3`,
        kind: 'mcq',
        section: 's1',
        objectives: [`${id}.O1`],
        multiple: false,
        stem: 'q',
        options: [opt('a', false), opt('b', false), opt('c', true)],
      },
      { id: `${id}.R1`, kind: 'reflection', section: 's1', objectives: [`${id}.O1`, `${id}.O2`], prompt: 'p', rubric },
    ],
    references: [{ authors: 'a', year: 2020, title: 't' }],
  };
}

const answersFor = (id: string, faculty: RubricLevel | undefined, self: RubricLevel = 'expert', q1 = ['b']): Answer[] => [
  { kind: 'mcq', itemId: `${id}.Q1`, selected: q1 },
  { kind: 'mcq', itemId: `${id}.Q2`, selected: ['a', 'b', 'd'] },
  { kind: 'mcq', itemId: `${id}.Q3`, selected: ['c'] },
  { kind: 'reflection', itemId: `${id}.R1`, selfLevel: self, facultyLevel: faculty },
];
const attempt = (module: ModuleFile, answers: Answer[], at = 1): CompletedAttempt => ({
  moduleId: module.id,
  module,
  completedAt: new Date(at),
  answers,
});

describe('item scoring', () => {
  const single = [opt('a', false), opt('b', true), opt('c', false)];
  const multi = [opt('a', true), opt('b', true), opt('c', false), opt('d', true), opt('e', false)];

  test('when a single-best-answer question is answered with the correct option alone, then it scores 1, otherwise 0', () => {
    expect(scoreMcq(single, false, ['b'])).toBe(1);
    expect(scoreMcq(single, false, ['a'])).toBe(0);
    expect(scoreMcq(single, false, ['a', 'b'])).toBe(0);
  });

  test('when every option of a multiple-answer question is ticked, then wrong ticks cancel right ones (1/3), floored at 0', () => {
    expect(scoreMcq(multi, true, ['a', 'b', 'c', 'd', 'e'])).toBeCloseTo(1 / 3);
    expect(scoreMcq(multi, true, ['a', 'c', 'e'])).toBe(0);
  });

  test('when a parallel form was served, then the answer is scored against that form’s key', () => {
    const module = fixture();
    const original = attemptEvidence(module, [{ kind: 'mcq', itemId: 'M01.Q1', selected: ['a'] }]);
    const variant = attemptEvidence(module, [{ kind: 'mcq', itemId: 'M01.Q1', selected: ['a'], variantId: 'v1' }]);
    expect(original.map(evidenceValue)).toEqual([0, 0]);
    expect(variant.map(evidenceValue)).toEqual([1, 1]);
  });
});

describe('competency scores from evidence', () => {
  test('when no reflection is rated yet, then every competency is "insufficient evidence" with what is missing, and self-ratings are only a self-assessment', () => {
    const scores = courseCompetencyScores([attempt(fixture(), answersFor('M01', undefined, 'expert'))]);
    const c11 = scores.find((s) => s.competencyId === 'C1.1')!;
    expect(c11).toMatchObject({ status: 'insufficient-evidence', pendingFacultyRating: true });
    expect(c11.score).toBeUndefined();
    expect(c11.level).toBeUndefined();
    expect(c11.missing).toContain('no faculty-rated reflection yet (awaiting rating)');
    expect(c11.selfAssessment).toEqual({ selfScore: 100, gapLevels: undefined, compared: 0 });
  });

  test('when faculty rate the reflection proficient, then C1.1 = mean(1, 1, 1, ⅔) = 91.67 but capped at Proficient (Expert needs expert ratings from 2 modules)', () => {
    const [c11] = courseCompetencyScores([attempt(fixture(), answersFor('M01', 'proficient', 'expert'))]);
    expect(c11).toMatchObject({ competencyId: 'C1.1', status: 'scored', score: 91.67, level: 'proficient' });
    expect(c11!.levelCap).toMatch(/Expert needs/);
    expect(c11!.selfAssessment).toEqual({ selfScore: 100, gapLevels: 1, compared: 1 });
  });

  test('when every question is right but faculty rate the reflection novice, then the level stays Developing whatever the score', () => {
    const [c11] = courseCompetencyScores([attempt(fixture(), answersFor('M01', 'novice'))]);
    expect(c11).toMatchObject({ status: 'scored', score: 75, level: 'developing' });
    expect(c11!.levelCap).toMatch(/Proficient needs a faculty rating/);
  });

  test('when secondary mappings exist, then they contribute at their weight: C2.1 = (Q1·½ + Q2·1 + Q3·½ + R1·1) / 3', () => {
    const scores = courseCompetencyScores([attempt(fixture(), answersFor('M01', 'developing', 'novice', ['a']))]);
    const c21 = scores.find((s) => s.competencyId === 'C2.1')!;
    // Q1 wrong (0·0.5), Q2 1·1, Q3 1·0.5, R1 ⅓·1 → (0 + 1 + 0.5 + ⅓) / 3 = 61.11; primary items are Q2 and R1 only.
    expect(c21).toMatchObject({ status: 'insufficient-evidence', evidence: { primaryItems: 2, secondaryItems: 2 } });
    expect(c21.missing).toBe('2 of 3 items');
  });

  test('when Expert ratings come from two modules, then Expert is reached', () => {
    const m1 = fixture('latest', 'M01');
    const m2 = fixture('latest', 'M02');
    const [c11] = courseCompetencyScores([attempt(m1, answersFor('M01', 'expert')), attempt(m2, answersFor('M02', 'expert'))]);
    expect(c11).toMatchObject({ score: 100, level: 'expert', modules: ['M01', 'M02'] });
    expect(c11!.levelCap).toBeUndefined();
  });

  test('when thresholds are configured differently, then levels follow them', () => {
    expect(proficiencyLevel(50, { developing: 30, proficient: 50, expert: 90 })).toBe('proficient');
    expect(proficiencyLevel(64.99)).toBe('developing');
  });

  test('when a "latest" module is retaken, then the later attempt counts; under "best" the better one', () => {
    const latest = fixture('latest');
    const best = fixture('best');
    const good = answersFor('M01', 'proficient');
    const bad = answersFor('M01', 'proficient', 'expert', ['a']);
    const l = courseCompetencyScores([attempt(latest, good, 1), attempt(latest, bad, 2)])[0]!;
    const b = courseCompetencyScores([attempt(best, good, 1), attempt(best, bad, 2)])[0]!;
    expect(l.score).toBeCloseTo(66.67, 2);
    expect(b.score).toBeCloseTo(91.67, 2);
  });
});

// ---- Properties ------------------------------------------------------------------------------------------

const levelArb = fc.constantFrom<RubricLevel>('novice', 'developing', 'proficient', 'expert');
const evidenceArb: fc.Arbitrary<Evidence> = fc.oneof(
  fc.record({
    kind: fc.constant('knowledge' as const),
    competencyId: fc.constant('C1.1'),
    moduleId: fc.constantFrom('M01', 'M02', 'M03'),
    itemId: fc.string({ minLength: 1, maxLength: 4 }),
    weight: fc.constantFrom(1, 1, 0.5, 0.25),
    value: fc.constantFrom(0, 1 / 3, 0.5, 2 / 3, 1),
  }),
  fc.record({
    kind: fc.constant('reflection' as const),
    competencyId: fc.constant('C1.1'),
    moduleId: fc.constantFrom('M01', 'M02', 'M03'),
    itemId: fc.string({ minLength: 1, maxLength: 4 }),
    weight: fc.constantFrom(1, 1, 0.5),
    facultyLevel: fc.option(levelArb, { nil: undefined }),
    selfLevel: fc.option(levelArb, { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant('observation' as const),
    competencyId: fc.constant('C1.1'),
    moduleId: fc.constantFrom('observation:a', 'observation:b'),
    itemId: fc.constantFrom('a', 'b'),
    weight: fc.constant(observationWeight),
    facultyLevel: levelArb,
  }),
);

describe('observations of coaching practice', () => {
  const observed = (id: string, level: RubricLevel) => ({ id, ratings: [{ competencyId: 'C1.1', level }] });

  test('when faculty observe a competency, then the observation is primary evidence at weight 2 and a faculty-rated performance', () => {
    const [evidence] = observationEvidence([observed('o1', 'proficient')]);
    expect(evidence).toMatchObject({ kind: 'observation', weight: observationWeight, competencyId: 'C1.1' });
    expect(observationWeight).toBe(2);
    // Two knowledge items (1 each) and one observation (⅔ at weight 2): (1 + 1 + ⅔·2) / 4 = 83.33, Proficient.
    const s = scoreCompetency('C1.1', [
      { kind: 'knowledge', competencyId: 'C1.1', moduleId: 'M01', itemId: 'Q1', weight: 1, value: 1 },
      { kind: 'knowledge', competencyId: 'C1.1', moduleId: 'M01', itemId: 'Q2', weight: 1, value: 1 },
      evidence!,
    ]);
    expect(s.status).toBe('scored');
    expect(s.score).toBe(83.33);
    expect(s.level).toBe('proficient');
    expect(s.evidence.kinds).toEqual(['knowledge', 'observation']);
    expect(s.modules).toEqual(['M01']);
  });

  test('when two faculty observe Expert practice, then they count as two sources for Expert', () => {
    const evidence = observationEvidence([observed('o1', 'expert'), observed('o2', 'expert')]);
    const knowledge: Evidence = { kind: 'knowledge', competencyId: 'C1.1', moduleId: 'M01', itemId: 'Q1', weight: 1, value: 1 };
    expect(scoreCompetency('C1.1', [knowledge, ...evidence]).level).toBe('expert');
    expect(scoreCompetency('C1.1', [knowledge, ...evidence.slice(0, 1), { ...knowledge, itemId: 'Q2' }]).level).toBe('proficient');
  });
});

describe('properties of the score model', () => {
  test('scores stay within 0–100, and a level is given exactly when the score is', () => {
    fc.assert(
      fc.property(fc.array(evidenceArb, { maxLength: 12 }), (evidence) => {
        const s = scoreCompetency('C1.1', evidence);
        if (s.status === 'scored') {
          expect(s.score).toBeGreaterThanOrEqual(0);
          expect(s.score).toBeLessThanOrEqual(100);
          expect(s.level).toBeDefined();
        } else {
          expect(s.score).toBeUndefined();
          expect(s.level).toBeUndefined();
        }
      }),
    );
  });

  test('self-ratings never change the score or the level', () => {
    fc.assert(
      fc.property(fc.array(evidenceArb, { maxLength: 12 }), fc.array(levelArb, { maxLength: 12 }), (evidence, selves) => {
        const changed = evidence.map((e, i) => (e.kind === 'reflection' ? { ...e, selfLevel: selves[i] } : e));
        const a = scoreCompetency('C1.1', evidence);
        const b = scoreCompetency('C1.1', changed);
        expect([b.status, b.score, b.level]).toEqual([a.status, a.score, a.level]);
      }),
    );
  });

  test('without a faculty rating at Proficient or above, no evidence reaches Proficient', () => {
    fc.assert(
      fc.property(fc.array(evidenceArb, { maxLength: 16 }), (evidence) => {
        const capped = evidence.map((e) =>
          (e.kind === 'reflection' || e.kind === 'observation') && e.facultyLevel && ['proficient', 'expert'].includes(e.facultyLevel)
            ? { ...e, facultyLevel: 'developing' as const }
            : e,
        );
        expect(levelOrder(scoreCompetency('C1.1', capped))).toBeLessThan(levelOrder({ status: 'scored', level: 'proficient' }));
      }),
    );
  });

  test('more and better evidence never lowers a score or a level: adding evidence worth at least the current score, or rating a pending reflection at least that high, or raising a value', () => {
    const better = (e: Evidence): Evidence => (e.kind === 'knowledge' ? { ...e, value: 1 } : { ...e, facultyLevel: 'expert' });
    fc.assert(
      fc.property(fc.array(evidenceArb, { maxLength: 12 }), evidenceArb, fc.nat(11), (evidence, extra, index) => {
        const before = scoreCompetency('C1.1', evidence);
        const extraValue = evidenceValue(extra);
        const candidates: Evidence[][] = [];
        if (extraValue === undefined || before.score === undefined || extraValue * 100 >= before.score)
          candidates.push([...evidence, extra]);
        if (evidence.length > 0) {
          const i = index % evidence.length;
          candidates.push(evidence.map((e, j) => (j === i ? better(e) : e)));
        }
        for (const list of candidates) {
          const after = scoreCompetency('C1.1', list);
          expect(levelOrder(after)).toBeGreaterThanOrEqual(levelOrder(before));
          if (before.score !== undefined) expect(after.score).toBeGreaterThanOrEqual(before.score - 1e-9);
        }
      }),
    );
  });
});

// ---- Gaming strategies on the shipped content --------------------------------------------------------------

const competencyIds = framework.domains.flatMap((d) => d.competencies.map((c) => c.id));
const modules = loadModules(competencyIds);
type Strategy = (item: McqItem) => string[];
const longest: Strategy = (item) => {
  const sorted = [...item.options].sort((a, b) => b.text.length - a.text.length);
  return item.multiple ? sorted.slice(0, Math.ceil(item.options.length / 2)).map((o) => o.id) : [sorted[0]!.id];
};
const first: Strategy = (item) => [item.options[0]!.id];
const all: Strategy = (item) => (item.multiple ? item.options.map((o) => o.id) : [item.options[0]!.id]);
const keyed: Strategy = (item) => item.options.filter((o) => o.correct).map((o) => o.id);

function playAll(strategy: Strategy, faculty: RubricLevel | undefined, self: RubricLevel): CompletedAttempt[] {
  return modules.map((module, i) =>
    attempt(
      module,
      module.items.map((item): Answer =>
        item.kind === 'mcq'
          ? { kind: 'mcq', itemId: item.id, selected: strategy(item) }
          : { kind: 'reflection', itemId: item.id, selfLevel: self, facultyLevel: faculty },
      ),
      i + 1,
    ),
  );
}

describe('gaming strategies on all ten modules', () => {
  const proficient = levelOrder({ status: 'scored', level: 'proficient' });
  test.each([
    ['longest option', longest],
    ['first option', first],
    ['every option on multi-select', all],
  ])(
    'when a coach plays "%s" with expert self-ratings and one-word reflections (unrated, or rated novice), then no competency reaches Proficient',
    (_name, strategy) => {
      for (const faculty of [undefined, 'novice' as const]) {
        const scores = courseCompetencyScores(playAll(strategy, faculty, 'expert'));
        expect(scores).toHaveLength(13);
        for (const s of scores) expect(levelOrder(s)).toBeLessThan(proficient);
      }
    },
  );

  test('when every question is answered correctly and faculty rate every reflection novice, then all 13 stay below Proficient', () => {
    const scores = courseCompetencyScores(playAll(keyed, 'novice', 'expert'));
    expect(scores.map((s) => s.level)).toEqual(Array(13).fill('developing'));
  });

  test('when every question is answered correctly and faculty rate every reflection proficient, then all 13 are Proficient (never Expert)', () => {
    const scores = courseCompetencyScores(playAll(keyed, 'proficient', 'developing'));
    expect(scores.map((s) => s.level)).toEqual(Array(13).fill('proficient'));
    expect(defaultRules.expertRatings).toBe(2);
  });

  test('when only M01 is completed and its reflections are rated proficient, then competencies with too little evidence say so', () => {
    const m01 = modules.find((m) => m.id === 'M01')!;
    const scores = courseCompetencyScores(playAll(keyed, 'proficient', 'proficient').filter((a) => a.module === m01));
    expect(scores.some((s) => s.status === 'insufficient-evidence')).toBe(true);
  });
});
