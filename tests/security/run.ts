/**
 * npm run test:security — runs the security suites (hardening, fuzzing, route × persona matrix, frame
 * policy, registration takeover and SSRF, tenancy) and prints their figures. Exits non-zero on any breach.
 * FUZZ_REQUESTS=10000 for a longer fuzz run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fromRoot } from '../../src/shared/paths';
import { readFigures } from './figures';

const suites = [
  'tests/security',
  'tests/lti/security.test.ts',
  'tests/lti/registration-security.test.ts',
  'tests/lti/registration-invites.test.ts',
  'tests/lti/safe-fetch.test.ts',
  'tests/admin/tenancy.test.ts',
  'tests/lti/cookies.test.ts',
];

process.env.SECURITY_FIGURES_FILE = path.join(mkdtempSync(path.join(tmpdir(), 'coachlti-security-')), 'figures.json');
const jest = spawnSync(process.execPath, [fromRoot('node_modules', 'jest', 'bin', 'jest.js'), '--runInBand', ...suites], {
  cwd: fromRoot(),
  env: process.env,
  stdio: 'inherit',
});
const figures = readFigures();
const fuzz = figures.fuzz;
const matrix = figures.matrix;
const rows: [string, string, boolean][] = [
  ['suites passed', jest.status === 0 ? 'all' : `no (jest exit ${jest.status ?? 'signal'})`, jest.status === 0],
  ['requests tried (fuzz)', String(fuzz?.requests ?? 'not run'), (fuzz?.requests ?? 0) > 0],
  ['5xx answers', String(fuzz?.serverErrors ?? '?'), fuzz?.serverErrors === 0],
  ['process exits', String(fuzz?.processExits ?? '?'), fuzz?.processExits === 0],
  ['documents written on refusals', String(fuzz?.writesOnRefusals ?? '?'), fuzz?.writesOnRefusals === 0],
  [
    'routes × personas checked',
    matrix ? `${matrix.routes} × ${matrix.personas} = ${matrix.checked}` : 'not run',
    (matrix?.checked ?? 0) > 0,
  ],
  ['denied as expected', String(matrix?.deniedAsExpected ?? '?'), (matrix?.deniedAsExpected ?? 0) > 0],
  ['matrix mismatches', String(matrix?.mismatches ?? '?'), matrix?.mismatches === 0],
];
const width = Math.max(...rows.map((r) => r[0].length));
process.stdout.write('\nCoachLTI security figures\n');
for (const [label, value, ok] of rows) process.stdout.write(`  ${label.padEnd(width)}  ${value.padStart(14)}  ${ok ? 'ok' : 'BREACH'}\n`);
const breached = rows.some((r) => !r[2]);
process.stdout.write(breached ? '\nBREACH: see above\n' : '\nNo breach.\n');
process.exit(breached ? 1 : 0);
