import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fromRoot } from '../../src/shared/paths';
import { testDatabaseUri } from '../support/test-server';

describe('npm run platform', () => {
  const env = {
    PATH: process.env.PATH,
    MONGODB_URI: testDatabaseUri('platformcli'),
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'coachlti-cli-')),
    LOG_LEVEL: 'warn',
  };
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', fromRoot('src', 'lti', 'cli', 'platform.ts'), ...args], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
  const target = ['--issuer', 'https://canvas.instructure.com', '--client-id', '10000000000042'];

  test('when an admin adds, lists, deactivates, extends and removes a platform, then each step is reflected', () => {
    const add = run(
      'add',
      ...target,
      '--auth-url',
      'https://sso.canvaslms.com/api/lti/authorize_redirect',
      '--token-url',
      'https://sso.canvaslms.com/login/oauth2/token',
      '--jwks-url',
      'https://sso.canvaslms.com/api/lti/security/jwks',
      '--deployment',
      '7:abc',
      '--name',
      'Example Canvas',
    );
    expect(add.stderr).toBe('');
    expect(add.stdout).toBe('registered https://canvas.instructure.com (10000000000042), active, deployments: 7:abc\n');
    expect(run('list').stdout).toMatch(
      /^active {4}https:\/\/canvas\.instructure\.com {2}10000000000042 {2}deployments=\[7:abc\] {2}Example Canvas\n$/,
    );
    expect(run('deactivate', ...target).status).toBe(0);
    expect(run('add-deployment', ...target, '--deployment', '9:def').status).toBe(0);
    expect(run('list').stdout).toMatch(/^inactive .*deployments=\[7:abc,9:def\]/);
    expect(run('remove', ...target).stdout).toBe('removed https://canvas.instructure.com (10000000000042)\n');
    expect(run('list').stdout).toBe('');
  });

  test('when arguments are missing or wrong, then it exits non-zero naming the option', () => {
    const res = run('add', '--issuer', 'not-a-url', '--client-id', 'x');
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('--issuer');
    expect(run('frobnicate').status).toBe(2);
  });
});
