import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { buildInfo } from '../../src/web/build-info';
import { fromRoot } from '../../src/shared/paths';

describe('the version the home page shows', () => {
  test('when the code runs from a git checkout, then the version is package.json’s and the commit is the checkout’s HEAD', () => {
    const { version } = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { version: string };
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: fromRoot(), encoding: 'utf8' }).trim();
    expect(buildInfo({})).toEqual({ version, commit: head.slice(0, 12) });
  });

  test('when COACHLTI_COMMIT is set (an image built without .git), then it names the commit; a malformed value is ignored', () => {
    expect(buildInfo({ COACHLTI_COMMIT: 'ABCDEF1234567890' }).commit).toBe('ABCDEF123456');
    expect(buildInfo({ COACHLTI_COMMIT: 'not a commit; rm -rf' }).commit).not.toBe('not a commit; rm -rf');
  });
});
