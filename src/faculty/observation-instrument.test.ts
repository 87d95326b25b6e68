import framework from '../competencies/framework-data.json';
import { loadObservationInstrument, observationInstrumentSchema } from './observation-instrument';

const ids = framework.domains.flatMap((d) => d.competencies.map((c) => c.id));

describe('observation instrument', () => {
  test('when the shipped instrument is loaded, then each of the 13 competencies has a distinct anchor for each of the four levels', () => {
    const instrument = loadObservationInstrument(ids);
    expect(instrument.competencies.map((c) => c.id)).toEqual(ids);
    for (const c of instrument.competencies) {
      const texts = (['novice', 'developing', 'proficient', 'expert'] as const).map((l) => c.anchors[l]);
      expect(new Set(texts).size).toBe(4);
    }
  });

  test('when a competency lacks a level or the framework has a competency without anchors, then loading fails', () => {
    expect(() => loadObservationInstrument([...ids, 'C9.9'])).toThrow(/missing C9.9/);
    const broken = {
      id: 'x',
      version: 1,
      title: 't',
      scale: ['novice', 'developing', 'proficient', 'expert'],
      competencies: [{ id: 'C1.1', look_for: 'something to see', anchors: { novice: 'a'.repeat(30), developing: 'b'.repeat(30) } }],
    };
    expect(observationInstrumentSchema.safeParse(broken).success).toBe(false);
  });
});
