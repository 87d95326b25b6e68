import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, devPlatformBanner, logFormatFor } from '../../src/shared/logger';
import { startTestServer } from '../support/test-server';

jest.setTimeout(60_000);

describe('logs a developer reads', () => {
  test('when the environment is development, stdout is a terminal and pino-pretty is installed, then logs are pretty; in test and production, piped, or without it, JSON', () => {
    const installed = () => '/x/node_modules/pino-pretty/index.js';
    const missing = () => {
      throw new Error('Cannot find module');
    };
    expect(logFormatFor('development', installed, 'auto', true)).toBe('pretty');
    expect(logFormatFor('development', missing, 'auto', true)).toBe('json-no-pretty');
    expect(logFormatFor('development', installed, 'auto', false)).toBe('json');
    expect(logFormatFor('test', installed, 'auto', true)).toBe('json');
    expect(logFormatFor('production', installed, 'auto', true)).toBe('json');
  });

  test('when LOG_FORMAT forces a format, then it wins over the environment and the terminal', () => {
    const installed = () => '/x/node_modules/pino-pretty/index.js';
    expect(logFormatFor('production', installed, 'pretty', false)).toBe('pretty');
    expect(logFormatFor('development', installed, 'json', true)).toBe('json');
  });

  test('when a pretty logger writes, then the line is human-readable text, with personal data still redacted', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'coachlti-logs-')), 'out.log');
    const logger = createLogger('info', undefined, { format: 'pretty', prettyDestination: file });
    logger.info({ email: 'ada@example.edu', port: 3000 }, 'CoachLTI listening on port 3000');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    // The transport runs in a worker thread: wait for its line to reach the file.
    let text = '';
    for (const until = Date.now() + 10_000; Date.now() < until && !text.includes('listening');) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        text = '';
      }
    }
    expect(text).toMatch(/INFO.*CoachLTI listening on port 3000/);
    expect(text.trim().startsWith('{')).toBe(false);
    expect(text).not.toContain('ada@example.edu');
    expect(text).toContain('[redacted]');
  });

  test('when the test platform is on, then the log carries a multi-line banner naming its address and the risk', async () => {
    const banner = devPlatformBanner('http://localhost:3000');
    const lines = banner.split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(banner).toContain('DEVELOPMENT TEST PLATFORM ENABLED');
    expect(banner).toContain('http://localhost:3000/dev/platform');
    expect(banner).toMatch(/anyone/i);
    // A box: every line as wide as the first.
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);

    const server = await startTestServer();
    try {
      expect(server.logs.messages()).toContain(devPlatformBanner(server.config.toolUrl));
    } finally {
      await server.stop();
    }
  });
});
