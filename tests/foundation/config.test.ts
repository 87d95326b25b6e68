import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/config';
import { fromRoot } from '../../src/shared/paths';

const testDataKey = `t1:${Buffer.alloc(32, 7).toString('base64')}`;
const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'coachlti-config-'));

describe('configuration', () => {
  test('when nothing is set, then development defaults apply and secrets are generated once and reused', () => {
    const dataDir = tmp();
    const first = loadConfig({ DATA_DIR: dataDir });
    expect(first).toMatchObject({
      env: 'development',
      port: 3000,
      toolUrl: 'http://localhost:3000',
      mongodbUri: undefined,
      secureCookies: false,
      migrateOnStart: true,
    });
    expect(first.ltiKey).toHaveLength(64);
    const second = loadConfig({ DATA_DIR: dataDir });
    expect(second.ltiKey).toBe(first.ltiKey);
    expect(second.sessionSecret).toBe(first.sessionSecret);
    expect(Object.isFrozen(first)).toBe(true);
    expect(JSON.parse(readFileSync(path.join(dataDir, 'dev-secrets.json'), 'utf8'))).toHaveProperty('LTI_KEY', first.ltiKey);
  });

  test('when TOOL_URL is https, then cookies are marked secure and the trailing slash is dropped', () => {
    const config = loadConfig({ DATA_DIR: tmp(), TOOL_URL: 'https://coach.example.edu/' });
    expect(config.toolUrl).toBe('https://coach.example.edu');
    expect(config.secureCookies).toBe(true);
  });

  test.each([
    [{}, true, true],
    [{ TOOL_URL: 'http://127.0.0.1:4000' }, true, true],
    [{ TOOL_URL: 'https://coach.example.edu' }, false, false],
    [{ NODE_ENV: 'development', TOOL_URL: 'https://coach.example.edu' }, false, false],
    [{ TOOL_URL: 'https://coach.example.edu', DEV_PLATFORM: 'true' }, true, true],
    [{ DEV_PLATFORM: 'false' }, false, false],
    [{ NODE_ENV: 'production', LTI_KEY: 'k'.repeat(32), SESSION_SECRET: 's'.repeat(32), DATA_ENCRYPTION_KEYS: testDataKey }, false, false],
  ])(
    'when the environment is %j, then the test platform is %s and auto-activation is %s',
    (env: Record<string, string>, devPlatform: boolean, autoActivate: boolean) => {
      const config = loadConfig({ DATA_DIR: tmp(), ...env });
      expect(config.devPlatformEnabled).toBe(devPlatform);
      expect(config.dynRegAutoActivate).toBe(autoActivate);
    },
  );

  test.each([
    [
      {
        NODE_ENV: 'production',
        LTI_KEY: 'k'.repeat(32),
        SESSION_SECRET: 's'.repeat(32),
        DATA_ENCRYPTION_KEYS: testDataKey,
        DEV_PLATFORM: 'true',
      },
      /^Invalid configuration: DEV_PLATFORM cannot be true in production/,
    ],
    [{ PORT: 'abc' }, /^Invalid configuration: PORT /],
    [{ PORT: '70000' }, /^Invalid configuration: PORT /],
    [{ MONGODB_URI: 'postgres://x' }, /^Invalid configuration: MONGODB_URI must start with mongodb:\/\//],
    [{ LOG_LEVEL: 'loud' }, /^Invalid configuration: LOG_LEVEL /],
    [{ NODE_ENV: 'production' }, /^Invalid configuration: LTI_KEY is required in production/],
    [{ NODE_ENV: 'production', LTI_KEY: 'k'.repeat(32) }, /^Invalid configuration: SESSION_SECRET is required in production/],
    [
      { NODE_ENV: 'production', LTI_KEY: 'k'.repeat(32), SESSION_SECRET: 's'.repeat(32) },
      /^Invalid configuration: DATA_ENCRYPTION_KEYS is required in production/,
    ],
    [{ DATA_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' }, /^Invalid configuration: DATA_ENCRYPTION_KEYS key "k1" must be 32 bytes/],
    [{ LTI_KEY: 'short' }, /^Invalid configuration: LTI_KEY must be at least 32 characters/],
    [{ TEST_PLATFORM_KEY_BITS: '2048' }, /^Invalid configuration: TEST_PLATFORM_KEY_BITS is for tests and needs NODE_ENV=test/],
    [{ NODE_ENV: 'test', TEST_PLATFORM_KEY_BITS: '1024' }, /^Invalid configuration: TEST_PLATFORM_KEY_BITS /],
  ])('when the environment is %j, then loading fails with a message naming the variable', (env, message) => {
    expect(() => loadConfig({ DATA_DIR: tmp(), ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: tmp(), ...env })).toThrow(message);
  });

  test('when TEST_PLATFORM_KEY_BITS is unset, then platform keys are 4096 bits; under NODE_ENV=test it may ask for 2048', () => {
    expect(loadConfig({ DATA_DIR: tmp() }).platformKeyBits).toBe(4096);
    expect(loadConfig({ DATA_DIR: tmp(), NODE_ENV: 'test', TEST_PLATFORM_KEY_BITS: '2048' }).platformKeyBits).toBe(2048);
  });

  test('when the process starts with PORT=abc, then it exits 1 with one line naming PORT', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', fromRoot('src', 'main.ts')], {
      env: { PATH: process.env.PATH, PORT: 'abc', DATA_DIR: tmp() },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe('Invalid configuration: PORT must be a whole number (got "abc")');
  });
});
