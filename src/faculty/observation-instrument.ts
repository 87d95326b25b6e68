import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { fromRoot } from '../shared/paths';

const level = z.enum(['novice', 'developing', 'proficient', 'expert']);
const anchorText = z.string().trim().min(20).max(300);

/** The direct-observation instrument: behavioural anchors per competency and level, versioned like the curriculum. */
export const observationInstrumentSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]*$/),
    version: z.number().int().positive(),
    title: z.string().min(1),
    scale: z.tuple([z.literal('novice'), z.literal('developing'), z.literal('proficient'), z.literal('expert')]),
    competencies: z
      .array(
        z
          .object({
            id: z.string().regex(/^C\d+\.\d+$/),
            look_for: z.string().trim().min(10).max(300),
            anchors: z.record(level, anchorText),
          })
          .strict()
          .refine((c) => level.options.every((l) => typeof c.anchors[l] === 'string'), 'every level needs an anchor'),
      )
      .min(1),
  })
  .strict()
  .refine((i) => new Set(i.competencies.map((c) => c.id)).size === i.competencies.length, 'a competency appears twice');

export type ObservationInstrument = z.infer<typeof observationInstrumentSchema>;

export const defaultInstrumentFile = fromRoot('src', 'faculty', 'observation-instrument.yaml');

/** Reads and validates the instrument; every framework competency must have anchors. */
export function loadObservationInstrument(competencyIds: readonly string[], file: string = defaultInstrumentFile): ObservationInstrument {
  const instrument = observationInstrumentSchema.parse(parseYaml(readFileSync(file, 'utf8')));
  const missing = competencyIds.filter((id) => !instrument.competencies.some((c) => c.id === id));
  const unknown = instrument.competencies.filter((c) => !competencyIds.includes(c.id)).map((c) => c.id);
  if (missing.length > 0 || unknown.length > 0)
    throw new Error(`observation instrument: missing ${missing.join(', ') || 'none'}; unknown ${unknown.join(', ') || 'none'}`);
  return instrument;
}
