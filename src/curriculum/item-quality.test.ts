import { reflectionLevelFromCriteria, type McqItem, type ModuleFile, type ReflectionItem } from './content-schema';
import {
  assessItemQuality,
  deidentificationInstruction,
  hasDeidentificationInstruction,
  mcqStats,
  objectiveVerbs,
  rubricProblems,
} from './item-quality';

const levels = (s: string) => ({ novice: `${s} n`, developing: `${s} d`, proficient: `${s} p`, expert: `${s} e` });

function mcq(id: string, texts: string[], keys: number[], multiple = false): McqItem {
  return {
    id,
    kind: 'mcq',
    section: 's1',
    objectives: ['M01.O1'],
    multiple,
    stem: 'stem',
    options: texts.map((text, i) => ({ id: 'abcdefgh'[i] ?? 'h', text, correct: keys.includes(i), feedback: 'feedback text' })),
  };
}

function reflection(overrides: Partial<ReflectionItem> = {}): ReflectionItem {
  return {
    id: 'M01.R1',
    kind: 'reflection',
    section: 's1',
    objectives: ['M01.O1'],
    prompt: `Describe an opening. Explain confidentiality. Say what was hard. ${deidentificationInstruction}`,
    promptParts: [
      { id: 'a', text: 'Describe an opening.' },
      { id: 'b', text: 'Explain confidentiality.' },
      { id: 'c', text: 'Say what was hard.' },
    ],
    rubric: {
      ...levels('summary'),
      criteria: [
        { id: 'opening', name: 'Opening', assesses: 'a', anchors: levels('opening') },
        { id: 'limits', name: 'Limits', assesses: 'b', anchors: levels('limits') },
        { id: 'insight', name: 'Insight', assesses: 'c', anchors: levels('insight') },
      ],
      exemplars: levels('exemplar'),
    },
    ...overrides,
  };
}

/** Balanced items: keys of mixed length and position, multiple-answer keys of varying count. */
function goodModule(id = 'M01', extra: Partial<ModuleFile> = {}): ModuleFile {
  return {
    id,
    version: 1,
    order: 1,
    title: 't',
    summary: 's',
    estimatedMinutes: 20,
    retakePolicy: 'latest',
    objectives: [{ id: `M01.O1`, text: 'Explain confidentiality and its limits to a coachee.', competencies: [{ id: 'C1.1', weight: 1 }] }],
    sections: [{ id: 's1', title: 's', kind: 'reading', body: 'b' }],
    items: [
      mcq('M01.Q1', ['a short key', 'a much longer distractor here', 'mid distractor', 'another long distractor'], [0]),
      mcq('M01.Q2', ['long distractor number one', 'short one', 'the key, medium length', 'distractor'], [2]),
      mcq('M01.Q3', ['distractor one', 'distractor two is long', 'a distractor', 'key'], [3]),
      mcq('M01.Q4', ['short', 'the longest key of all items', 'shorter', 'tiny'], [1]),
      mcq('M01.Q5', ['distractor', 'key one', 'key two', 'another distractor'], [1, 2], true),
      mcq('M01.Q6', ['key one', 'distractor two', 'distractor three', 'distractor four'], [0], true),
      reflection(),
    ],
    references: [{ authors: 'a', year: 2020, title: 't' }],
    ...extra,
  };
}

/** The same module with one parallel variant per question (a copy of its options), as the gate requires. */
function withVariants(module: ModuleFile): ModuleFile {
  return {
    ...module,
    items: module.items.map((i) => (i.kind === 'mcq' ? { ...i, variants: [{ id: 'v1', stem: 'variant stem', options: i.options }] } : i)),
  };
}

describe('item-quality gate', () => {
  test('when items are balanced and reflections complete, then the gate reports no problem', () => {
    expect(assessItemQuality([withVariants(goodModule())]).problems).toEqual([]);
  });

  test('when a scenario question has no parallel variant, then the gate names it', () => {
    const module = withVariants(goodModule());
    const stripped = {
      ...module,
      items: module.items.map((i) => (i.id === 'M01.Q3' && i.kind === 'mcq' ? { ...i, variants: undefined } : i)),
    };
    expect(assessItemQuality([stripped]).problems).toEqual(['M01.Q3: no parallel variant for retakes']);
  });

  test('when the variants cue their keys by length, then they count in the statistics and the gate fails', () => {
    const module = withVariants(goodModule());
    const cued = {
      ...module,
      items: module.items.map((i) =>
        i.kind === 'mcq' && !i.multiple
          ? {
              ...i,
              variants: [
                { id: 'v1', stem: 's', options: i.options.map((o) => (o.correct ? { ...o, text: `${o.text} ${'x'.repeat(200)}` } : o)) },
              ],
            }
          : i,
      ),
    };
    const report = assessItemQuality([cued]);
    expect(report.overall.singleBest).toBe(8);
    expect(report.problems.some((p) => p.startsWith('overall: key is the longest option'))).toBe(true);
  });

  test('when most keys are the longest option, then the gate fails overall and for the module', () => {
    const long = 'this key is clearly the longest option of all';
    const items = [0, 1, 2, 3].map((i) => mcq(`M01.Q${i + 1}`, ['short', long, 'brief', 'small'], [1]));
    const report = assessItemQuality([goodModule('M01', { items: [...items, reflection()] })]);
    expect(report.overall.keyLongestShare).toBe(1);
    expect(report.overall.nearChance).toBe(false);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^M01: key is the longest option in 4 of 4/),
        expect.stringMatching(/^overall: key is the longest option in 100 %/),
        expect.stringMatching(/^overall: option position 2 holds 100 %/),
        expect.stringMatching(/^overall: mean key length is/),
      ]),
    );
  });

  test('when every multiple-answer item has the same number of keys, all first, then the gate fails', () => {
    const items = [1, 2, 3].map((i) => mcq(`M01.Q${i}`, ['key', 'key', 'key', 'distr', 'distr'], [0, 1, 2], true));
    const report = assessItemQuality([goodModule('M01', { items: [...items, reflection()] })]);
    expect(report.overall.correctCounts).toEqual({ '3': 3 });
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/every multiple-answer item has 3 correct options/),
        expect.stringMatching(/first option is correct in 3 of 3/),
      ]),
    );
  });

  test('when an objective bundles two action verbs, then it is flagged and the gate fails', () => {
    expect(objectiveVerbs('Recognise burnout and refer a learner to support.')).toEqual(['recognise', 'refer']);
    expect(objectiveVerbs('Explain confidentiality and its limits to a coachee.')).toEqual(['explain']);
    const objectives = [
      { id: 'M01.O1', text: 'Describe the cycle, then apply it to a learner.', competencies: [{ id: 'C3.1', weight: 1 }] },
    ];
    const report = assessItemQuality([goodModule('M01', { objectives })]);
    expect(report.modules[0]?.bundledObjectives).toEqual(['M01.O1']);
    expect(report.problems).toContain('objectives with more than one action verb: M01.O1');
  });

  test('when a reflection prompt lacks the de-identification instruction, then the gate fails on that item', () => {
    expect(hasDeidentificationInstruction(`Tell us.  ${deidentificationInstruction.toUpperCase()}`)).toBe(true);
    const bad = reflection({ prompt: 'Describe an opening. Explain confidentiality. Say what was hard. Use real names.' });
    const report = assessItemQuality([goodModule('M01', { items: [...goodModule().items.slice(0, 6), bad] })]);
    expect(report.problems).toContain('M01.R1: prompt does not ask for de-identification');
  });

  test('when a rubric criterion points at no prompt part, or the rubric lacks criteria or exemplars, then it is a problem', () => {
    const base = reflection();
    const criteria = base.rubric.criteria ?? [];
    const orphan = reflection({
      rubric: {
        ...base.rubric,
        criteria: [...criteria.slice(0, 2), { id: 'extra', name: 'Extra credit', assesses: 'z', anchors: levels('x') }],
      },
    });
    expect(rubricProblems(orphan)).toEqual(
      expect.arrayContaining([
        'M01.R1: criterion "Extra credit" assesses prompt part z, which the prompt does not have',
        'M01.R1: prompt part c is not rated by any criterion',
      ]),
    );
    const bare = reflection({ promptParts: undefined, rubric: levels('only') });
    expect(rubricProblems(bare)).toEqual([
      'M01.R1: no promptParts (criteria cannot point at the prompt)',
      'M01.R1: 0 rubric criteria (needs 3–4)',
      'M01.R1: no exemplar responses per level',
    ]);
    const invented = reflection({ promptParts: [...(base.promptParts ?? []).slice(0, 2), { id: 'c', text: 'Something never asked.' }] });
    expect(rubricProblems(invented)).toEqual(['M01.R1: prompt part c is not in the prompt text']);
  });

  test('when lengths are measured, then the ratio is mean key length over mean distractor length', () => {
    const stats = mcqStats([mcq('M01.Q1', ['xxxx', 'xx', 'xx'], [0])]);
    expect(stats.meanKeyLength).toBe(4);
    expect(stats.meanDistractorLength).toBe(2);
    expect(stats.keyToDistractorLengthRatio).toBe(2);
    expect(stats.chanceShare).toBeCloseTo(1 / 3, 3);
  });

  test('when criterion levels disagree, then the reflection level is their median, rounding down', () => {
    expect(reflectionLevelFromCriteria(['expert', 'novice', 'proficient'])).toBe('proficient');
    expect(reflectionLevelFromCriteria(['expert', 'developing', 'proficient', 'expert'])).toBe('proficient');
    expect(reflectionLevelFromCriteria(['developing', 'proficient'])).toBe('developing');
    expect(() => reflectionLevelFromCriteria([])).toThrow();
  });
});
