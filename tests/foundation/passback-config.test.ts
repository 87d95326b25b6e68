import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/config';

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'coachlti-config-'));

describe('passback timing configuration', () => {
  test('when PASSBACK_* are unset, then the worker defaults (2 s backoff, 60 s lease) are in the frozen config', () => {
    const config = loadConfig({ DATA_DIR: tmp() });
    expect(config.passbackBaseBackoffMs).toBe(2000);
    expect(config.passbackLeaseMs).toBe(60_000);
    expect(Object.isFrozen(config)).toBe(true);
  });

  test('when PASSBACK_BASE_BACKOFF_MS and PASSBACK_LEASE_MS are set, then the config carries them as numbers', () => {
    const config = loadConfig({ DATA_DIR: tmp(), PASSBACK_BASE_BACKOFF_MS: '20', PASSBACK_LEASE_MS: '3000' });
    expect(config.passbackBaseBackoffMs).toBe(20);
    expect(config.passbackLeaseMs).toBe(3000);
  });

  test.each([
    [{ PASSBACK_BASE_BACKOFF_MS: 'soon' }, 'Invalid configuration: PASSBACK_BASE_BACKOFF_MS must be a whole number (got "soon")'],
    [{ PASSBACK_LEASE_MS: '1.5' }, 'Invalid configuration: PASSBACK_LEASE_MS must be a whole number (got "1.5")'],
  ])('when the environment is %j, then loading fails naming the variable', (env, message) => {
    expect(() => loadConfig({ DATA_DIR: tmp(), ...env })).toThrow(new ConfigError(message));
  });
});
