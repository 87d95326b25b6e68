import pino, { type Logger } from 'pino';

export type { Logger };

/** Keys that carry personal data or credentials wherever they appear (top level and two levels down). */
const personalKeys = [
  'name',
  'given_name',
  'family_name',
  'givenName',
  'familyName',
  'userName',
  'email',
  'text',
  'comment',
  'narrative',
  'token',
  'ltik',
  'refresh_token',
  'userInfo',
];

/**
 * How the process writes its logs. `LOG_FORMAT=auto` (the default): readable lines (pino-pretty) in development
 * when stdout is a terminal, JSON lines otherwise (piped to a file or a collector, tests, production); `pretty`
 * or `json` force one. pino-pretty is a devDependency (and runs in a worker thread, ≈ 20 MB): without it the
 * process falls back to JSON and says so.
 */
export type LogFormat = 'pretty' | 'json' | 'json-no-pretty';
export type LogFormatSetting = 'auto' | 'pretty' | 'json';

export function logFormatFor(
  env: string,
  resolve: (id: string) => string = require.resolve,
  setting: LogFormatSetting = 'auto',
  terminal: boolean = process.stdout.isTTY === true,
): LogFormat {
  if (setting === 'json') return 'json';
  if (setting === 'auto' && (env !== 'development' || !terminal)) return 'json';
  try {
    resolve('pino-pretty');
    return 'pretty';
  } catch {
    return 'json-no-pretty';
  }
}

/** The loud notice that the built-in test LMS is on, as a box of equal-width lines. */
export function devPlatformBanner(toolUrl: string): string {
  const lines = [
    'DEVELOPMENT TEST PLATFORM ENABLED',
    `${toolUrl}/dev/platform`,
    'Anyone who reaches this address can launch CoachLTI as anyone.',
    'For trying the tool on your machine only; never on with NODE_ENV=production.',
  ];
  const width = Math.max(...lines.map((l) => l.length));
  const edge = '*'.repeat(width + 4);
  return [edge, ...lines.map((l) => `* ${l.padEnd(width)} *`), edge].join('\n');
}

/**
 * Structured logs. Anything that can carry a credential is redacted here, once, so a careless
 * log call elsewhere cannot leak it (ltijs puts its `ltik` token in query strings and headers).
 * With `format: 'pretty'` and no destination, lines go through pino-pretty (a worker thread) to stdout
 * (or `prettyDestination`); redaction happens before, in this thread.
 */
export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  options: { format?: LogFormat; prettyDestination?: string | number } = {},
): Logger {
  if (!destination && options.format === 'pretty') {
    destination = pino.transport({
      target: 'pino-pretty',
      options: {
        destination: options.prettyDestination ?? 1,
        colorize: options.prettyDestination === undefined && Boolean(process.stdout.isTTY),
        translateTime: 'SYS:HH:MM:ss',
        ignore: 'pid,hostname,service',
        singleLine: false,
      },
    }) as pino.DestinationStream;
  }
  return pino(
    {
      level,
      base: { service: 'coachlti' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          'req.query.ltik',
          'req.query.launch',
          '*.password',
          '*.id_token',
          '*.access_token',
          '*.client_assertion',
          // Personal data: names, emails, free texts and tokens never reach the logs (issue 16).
          'req.body',
          'res.body',
          ...personalKeys.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** Removes token-like and personal query parameters (a search for a person's name) from a URL before it is logged. */
export function redactUrl(url: string): string {
  return url.replace(
    /([?&](?:ltik|launch|id_token|token|access_token|code|state|invite|registration_token|q|name|email|login_hint|lti_message_hint)=)[^&#]*/gi,
    '$1[redacted]',
  );
}
