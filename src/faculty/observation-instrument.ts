import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
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

/** Superseded versions of the instrument, one file per version (`v<N>.yaml`), kept so old observations stay readable. */
export const defaultInstrumentArchive = fromRoot('src', 'faculty', 'observation-instruments');

export interface ObservationInstruments {
  /** The version faculty rate with now. */
  current: ObservationInstrument;
  /** Every known version (current and archived), by version number. */
  byVersion: ReadonlyMap<number, ObservationInstrument>;
}

/**
 * The current instrument and every archived one. Changing the instrument means: copy the file into the archive as
 * `v<old version>.yaml`, then edit it and raise `version`. Archived versions are validated by the schema but not
 * against today's framework (a competency may since have been renamed or dropped); their version must be lower
 * than the current one and match the file name.
 */
export function loadObservationInstruments(
  competencyIds: readonly string[],
  file: string = defaultInstrumentFile,
  archiveDir: string = defaultInstrumentArchive,
): ObservationInstruments {
  const current = loadObservationInstrument(competencyIds, file);
  const byVersion = new Map<number, ObservationInstrument>([[current.version, current]]);
  const files = existsSync(archiveDir) ? readdirSync(archiveDir).filter((f) => /^v\d+\.yaml$/.test(f)) : [];
  for (const name of files.sort()) {
    const old = observationInstrumentSchema.parse(parseYaml(readFileSync(path.join(archiveDir, name), 'utf8')));
    if (`v${old.version}.yaml` !== name) throw new Error(`observation instrument archive: ${name} holds version ${old.version}`);
    if (old.id !== current.id) throw new Error(`observation instrument archive: ${name} is instrument ${old.id}, not ${current.id}`);
    if (old.version >= current.version)
      throw new Error(`observation instrument archive: ${name} is not older than the current version ${current.version}`);
    byVersion.set(old.version, old);
  }
  return { current, byVersion };
}
