import type { FrameworkData } from '../competencies/framework-schema';
import { parseCsv, toCsv } from './csv';
import type { FrameworkVersions } from './framework-versions';
import { masteryLevel, proficiencyLevels } from './proficiency';

/**
 * Canvas outcomes import CSV (Canvas's "Outcomes Import Format"): one group for the framework, one group
 * per domain, one outcome per competency. vendor_guid is the stable UUID; display_name the C-id.
 * Ratings are the final columns, alternating points and description in decreasing point order; the
 * header names the first "ratings" and leaves the rest blank. Points are the level's lowest score
 * (0-100), the same scale the tool sends to the gradebook; calculation "latest" matches passback
 * (the newest score counts).
 */
export const canvasFixedColumns = [
  'vendor_guid',
  'object_type',
  'title',
  'description',
  'display_name',
  'calculation_method',
  'calculation_int',
  'workflow_state',
  'parent_guids',
  'mastery_points',
] as const;

const ratingCells = proficiencyLevels.length * 2;
export const canvasHeader: readonly string[] = [...canvasFixedColumns, 'ratings', ...Array<string>(ratingCells - 1).fill('')];
export const canvasCalculationMethod = 'latest';

export function canvasOutcomeRows(framework: FrameworkData, versions: FrameworkVersions): string[][] {
  const label = versions.localDescriptionLabel;
  const blanks = Array<string>(ratingCells).fill('');
  const mastery = proficiencyLevels.find((l) => l.key === masteryLevel)?.minScore ?? 0;
  const ratings = [...proficiencyLevels].reverse().flatMap((l) => [String(l.minScore), l.label]);
  const rows: string[][] = [[...canvasHeader]];
  rows.push([framework.frameworkUuid, 'group', framework.title, framework.source, '', '', '', 'active', '', '', ...blanks]);
  for (const domain of framework.domains) {
    rows.push([
      domain.uuid,
      'group',
      `${domain.id} ${domain.name}`,
      '',
      domain.id,
      '',
      '',
      'active',
      framework.frameworkUuid,
      '',
      ...blanks,
    ]);
    for (const c of domain.competencies) {
      rows.push([
        c.uuid,
        'outcome',
        `${c.id} ${c.name}`,
        `${label}: ${c.summary}`,
        c.id,
        canvasCalculationMethod,
        '',
        'active',
        domain.uuid,
        String(mastery),
        ...ratings,
      ]);
    }
  }
  return rows;
}

export function canvasOutcomesCsv(framework: FrameworkData, versions: FrameworkVersions): string {
  return toCsv(canvasOutcomeRows(framework, versions));
}

export interface CanvasOutcomeRow {
  vendorGuid: string;
  objectType: 'group' | 'outcome';
  title: string;
  description: string;
  displayName: string;
  calculationMethod: string;
  calculationInt: string;
  workflowState: string;
  parentGuids: string[];
  masteryPoints: string;
  ratings: { points: number; description: string }[];
}

export class CanvasCsvError extends Error {}

/** Reads a Canvas outcomes CSV by header name (any column order), ratings from the "ratings" column on. */
export function parseCanvasOutcomesCsv(text: string): CanvasOutcomeRow[] {
  const [header, ...records] = parseCsv(text);
  if (!header) throw new CanvasCsvError('empty file');
  const col = (name: string): number => header.indexOf(name);
  for (const required of ['vendor_guid', 'object_type', 'title'])
    if (col(required) < 0) throw new CanvasCsvError(`missing column ${required}`);
  const ratingsAt = col('ratings');
  const cell = (record: string[], name: string): string => (col(name) >= 0 ? (record[col(name)] ?? '') : '');
  return records.map((record, index) => {
    const objectType = cell(record, 'object_type');
    if (objectType !== 'group' && objectType !== 'outcome')
      throw new CanvasCsvError(`row ${index + 2}: object_type must be group or outcome`);
    const ratings: { points: number; description: string }[] = [];
    if (ratingsAt >= 0) {
      for (let i = ratingsAt; i + 1 < record.length; i += 2) {
        const points = record[i] ?? '';
        if (points === '') break;
        const value = Number(points);
        if (!Number.isFinite(value)) throw new CanvasCsvError(`row ${index + 2}: rating points "${points}" is not a number`);
        ratings.push({ points: value, description: record[i + 1] ?? '' });
      }
    }
    const parents = cell(record, 'parent_guids');
    return {
      vendorGuid: cell(record, 'vendor_guid'),
      objectType,
      title: cell(record, 'title'),
      description: cell(record, 'description'),
      displayName: cell(record, 'display_name'),
      calculationMethod: cell(record, 'calculation_method'),
      calculationInt: cell(record, 'calculation_int'),
      workflowState: cell(record, 'workflow_state'),
      parentGuids: parents === '' ? [] : parents.split(' '),
      masteryPoints: cell(record, 'mastery_points'),
      ratings,
    };
  });
}

/** Our own Canvas CSV back into framework data (the inverse of canvasOutcomeRows). */
export function frameworkFromCanvasRows(rows: CanvasOutcomeRow[], localDescriptionLabel: string): FrameworkData {
  const root = rows.find((r) => r.objectType === 'group' && r.parentGuids.length === 0);
  if (!root) throw new CanvasCsvError('no top-level group');
  const stripId = (title: string, id: string): string => (title.startsWith(`${id} `) ? title.slice(id.length + 1) : title);
  const prefix = `${localDescriptionLabel}: `;
  return {
    title: root.title,
    source: root.description,
    frameworkUuid: root.vendorGuid,
    domains: rows
      .filter((r) => r.objectType === 'group' && r.parentGuids.includes(root.vendorGuid))
      .map((d) => ({
        id: d.displayName,
        uuid: d.vendorGuid,
        name: stripId(d.title, d.displayName),
        competencies: rows
          .filter((r) => r.objectType === 'outcome' && r.parentGuids.includes(d.vendorGuid))
          .map((c) => ({
            id: c.displayName,
            uuid: c.vendorGuid,
            name: stripId(c.title, c.displayName),
            summary: c.description.startsWith(prefix) ? c.description.slice(prefix.length) : c.description,
          })),
      })),
  };
}
