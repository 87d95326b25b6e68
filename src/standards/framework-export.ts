import type { FrameworkData } from '../competencies/framework-schema';
import { buildCasePackage } from './case-package';
import { canvasOutcomesCsv } from './canvas-outcomes';
import { versionUnavailableReason, type FrameworkVersion, type FrameworkVersions } from './framework-versions';
import { moodleFrameworkCsv } from './moodle-framework';

export const exportFormats = ['case', 'canvas', 'moodle'] as const;
export type ExportFormat = (typeof exportFormats)[number];

export interface FrameworkExport {
  contentType: string;
  filename: string;
  body: string;
}

export class VersionUnavailableError extends Error {}

/** One source (framework-data.json + framework-versions.json), three formats. */
export function exportFramework(
  input: { framework: FrameworkData; versions: FrameworkVersions; baseUrl: string },
  format: ExportFormat,
  version: FrameworkVersion = 1,
): FrameworkExport {
  const reason = versionUnavailableReason(input.versions, version);
  if (reason) throw new VersionUnavailableError(reason);
  switch (format) {
    case 'case':
      return {
        contentType: 'application/json; charset=utf-8',
        filename: 'coaching-competencies-v1.case.json',
        body: `${JSON.stringify(buildCasePackage(input), null, 2)}\n`,
      };
    case 'canvas':
      return {
        contentType: 'text/csv; charset=utf-8',
        filename: 'coaching-competencies-v1.canvas-outcomes.csv',
        body: canvasOutcomesCsv(input.framework, input.versions),
      };
    case 'moodle':
      return {
        contentType: 'text/csv; charset=utf-8',
        filename: 'coaching-competencies-v1.moodle-framework.csv',
        body: moodleFrameworkCsv(input.framework, input.versions),
      };
  }
}
