import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Figures the security tests report, merged into one JSON file so `npm run test:security` can print them
 * after jest has run (each test file runs in its own module registry).
 */
export interface SecurityFigures {
  matrix?: { routes: number; personas: number; checked: number; mismatches: number; deniedAsExpected: number };
  fuzz?: { requests: number; serverErrors: number; processExits: number; writesOnRefusals: number; routes: string[] };
}

export function figuresFile(): string {
  return process.env.SECURITY_FIGURES_FILE ?? path.join(tmpdir(), 'coachlti-security-figures.json');
}

export function readFigures(): SecurityFigures {
  const file = figuresFile();
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SecurityFigures) : {};
}

function merge(part: SecurityFigures): void {
  // Written aside and renamed: with parallel jest workers another file may be reading it at that moment.
  const file = figuresFile();
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify({ ...readFigures(), ...part }, null, 2));
  renameSync(partial, file);
}

export function recordMatrixFigures(matrix: NonNullable<SecurityFigures['matrix']>): void {
  merge({ matrix });
}

export function recordFuzzFigures(fuzz: NonNullable<SecurityFigures['fuzz']>): void {
  merge({ fuzz });
}
