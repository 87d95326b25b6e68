import type { ModuleFile } from './content-schema';
import { suggestNextModule } from './suggestion';

function mod(id: string, competencies: [string, number][]): ModuleFile {
  return {
    id,
    version: 1,
    order: Number(id.slice(1)),
    title: id,
    summary: 's',
    estimatedMinutes: 20,
    retakePolicy: 'latest',
    objectives: competencies.map(([c, w], i) => ({ id: `${id}.O${i + 1}`, text: 'o', competencies: [{ id: c, weight: w }] })),
    sections: [],
    items: [],
    references: [],
  };
}

describe('suggestNextModule', () => {
  const modules = [
    mod('M01', [['C1.1', 1]]),
    mod('M02', [['C2.2', 0.5]]),
    mod('M03', [
      ['C2.2', 1],
      ['C1.1', 0.5],
    ]),
  ];

  test('when C2.2 is the weakest scored competency, then the open module teaching it most (M03) is suggested', () => {
    const next = suggestNextModule(
      modules,
      ['C1.1', 'C2.2'],
      new Map(),
      new Map([
        ['C1.1', 80],
        ['C2.2', 30],
      ]),
    );
    expect(next?.id).toBe('M03');
  });

  test('when a competency has no score yet, then it counts as weakest', () => {
    const next = suggestNextModule(modules, ['C1.1', 'C2.2'], new Map(), new Map([['C2.2', 10]]));
    expect(next?.id).toBe('M01');
  });

  test('when the best module for the weakest competency is completed, then the next best open one is suggested', () => {
    const next = suggestNextModule(
      modules,
      ['C1.1', 'C2.2'],
      new Map([['M03', 'completed' as const]]),
      new Map([
        ['C1.1', 90],
        ['C2.2', 20],
      ]),
    );
    expect(next?.id).toBe('M02');
  });

  test('when every module is completed, then nothing is suggested', () => {
    const all = new Map(modules.map((m) => [m.id, 'completed' as const]));
    expect(suggestNextModule(modules, ['C1.1'], all, new Map())).toBeUndefined();
  });
});
