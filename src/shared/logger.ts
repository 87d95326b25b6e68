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
 * Structured JSON logs. Anything that can carry a credential is redacted here, once, so a careless
 * log call elsewhere cannot leak it (ltijs puts its `ltik` token in query strings and headers).
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
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
