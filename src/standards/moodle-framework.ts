import type { FrameworkData } from '../competencies/framework-schema';
import { parseCsv, toCsv } from './csv';
import type { FrameworkVersions } from './framework-versions';
import { masteryLevel, proficiencyLevels } from './proficiency';

/**
 * Moodle competency framework CSV, as read by Moodle's "Import competency framework" admin tool
 * (tool_lpimportcsv): the header row, one framework row ("Is framework" = 1) carrying the scale and
 * its configuration, then one row per domain and competency with the parent's ID number.
 * ID number = our id (D1, C1.1); "Exported ID" = our stable UUID.
 */
export const moodleHeader = [
  'Parent ID number',
  'ID number',
  'Short name',
  'Description',
  'Description format',
  'Scale values',
  'Scale configuration',
  'Rule type (optional)',
  'Rule outcome (optional)',
  'Rule config (optional)',
  'Cross-referenced competency ID numbers',
  'Exported ID (optional)',
  'Is framework',
  'Taxonomy',
] as const;

/** Moodle's FORMAT_PLAIN: our texts are plain text. */
export const moodlePlainFormat = '2';
export const moodleFrameworkIdNumber = 'COACHLTI-V1';
/** Moodle's rule outcome "none" (no completion rule). */
const noRuleOutcome = '0';

export const moodleScaleValues = proficiencyLevels.map((l) => l.label).join(',');

/**
 * Scale configuration: first element names the scale (Moodle replaces the id on import), then one entry
 * per scale item (1-based) saying whether it is the default and whether it counts as proficient.
 * Default is the mastery level; it and every level above it are proficient.
 */
export function moodleScaleConfiguration(): string {
  const masteryIndex = proficiencyLevels.findIndex((l) => l.key === masteryLevel);
  return JSON.stringify([
    { scaleid: '0' },
    ...proficiencyLevels.map((_, i) => ({ id: i + 1, scaledefault: i === masteryIndex ? 1 : 0, proficient: i >= masteryIndex ? 1 : 0 })),
  ]);
}

export function moodleFrameworkRows(framework: FrameworkData, versions: FrameworkVersions): string[][] {
  const label = versions.localDescriptionLabel;
  const rows: string[][] = [[...moodleHeader]];
  rows.push([
    '',
    moodleFrameworkIdNumber,
    framework.title,
    framework.source,
    moodlePlainFormat,
    moodleScaleValues,
    moodleScaleConfiguration(),
    '',
    '',
    '',
    '',
    framework.frameworkUuid,
    '1',
    'domain,competency',
  ]);
  for (const domain of framework.domains) {
    rows.push(['', domain.id, domain.name, '', moodlePlainFormat, '', '', '', noRuleOutcome, 'null', '', domain.uuid, '', '']);
    for (const c of domain.competencies) {
      rows.push([
        domain.id,
        c.id,
        c.name,
        `${label}: ${c.summary}`,
        moodlePlainFormat,
        '',
        '',
        '',
        noRuleOutcome,
        'null',
        '',
        c.uuid,
        '',
        '',
      ]);
    }
  }
  return rows;
}

export function moodleFrameworkCsv(framework: FrameworkData, versions: FrameworkVersions): string {
  return toCsv(moodleFrameworkRows(framework, versions));
}

export class MoodleCsvError extends Error {}

export interface MoodleRow {
  parentIdNumber: string;
  idNumber: string;
  shortName: string;
  description: string;
  descriptionFormat: string;
  scaleValues: string;
  scaleConfiguration: string;
  exportedId: string;
  isFramework: boolean;
  taxonomy: string;
}

/** Reads a Moodle competency framework CSV; the columns must be Moodle's, in Moodle's order. */
export function parseMoodleFrameworkCsv(text: string): MoodleRow[] {
  const [header, ...records] = parseCsv(text);
  if (!header) throw new MoodleCsvError('empty file');
  if (header.length !== moodleHeader.length || header.some((h, i) => h !== moodleHeader[i]))
    throw new MoodleCsvError(`header must be: ${moodleHeader.join(', ')}`);
  return records.map((r) => ({
    parentIdNumber: r[0] ?? '',
    idNumber: r[1] ?? '',
    shortName: r[2] ?? '',
    description: r[3] ?? '',
    descriptionFormat: r[4] ?? '',
    scaleValues: r[5] ?? '',
    scaleConfiguration: r[6] ?? '',
    exportedId: r[11] ?? '',
    isFramework: (r[12] ?? '') !== '' && r[12] !== '0',
    taxonomy: r[13] ?? '',
  }));
}

/** Our own Moodle CSV back into framework data (the inverse of moodleFrameworkRows). */
export function frameworkFromMoodleRows(rows: MoodleRow[], localDescriptionLabel: string): FrameworkData {
  const fw = rows.find((r) => r.isFramework);
  if (!fw) throw new MoodleCsvError('no framework row');
  const prefix = `${localDescriptionLabel}: `;
  const competencies = rows.filter((r) => !r.isFramework);
  return {
    title: fw.shortName,
    source: fw.description,
    frameworkUuid: fw.exportedId,
    domains: competencies
      .filter((r) => r.parentIdNumber === '')
      .map((d) => ({
        id: d.idNumber,
        uuid: d.exportedId,
        name: d.shortName,
        competencies: competencies
          .filter((r) => r.parentIdNumber === d.idNumber)
          .map((c) => ({
            id: c.idNumber,
            uuid: c.exportedId,
            name: c.shortName,
            summary: c.description.startsWith(prefix) ? c.description.slice(prefix.length) : c.description,
          })),
      })),
  };
}
