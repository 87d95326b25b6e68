/**
 * What goes over the wire to AGS and what its answer means. Pure functions.
 */
export interface ScoreFields {
  scoreGiven: number;
  activityProgress: 'InProgress' | 'Completed';
  gradingProgress: 'FullyGraded' | 'PendingManual';
  comment: string;
  /** When the score was computed (ISO 8601 with milliseconds): the version the LMS compares. */
  timestamp: string;
}

export const scoreMaximum = 100;
export const scoreContentType = 'application/vnd.ims.lis.v1.score+json';
export const lineItemContentType = 'application/vnd.ims.lis.v2.lineitem+json';
export const lineItemContainerType = 'application/vnd.ims.lis.v2.lineitemcontainer+json';
export const resultContainerType = 'application/vnd.ims.lis.v2.resultcontainer+json';

/** AGS §3.4: the scores endpoint is the line item URL + "/scores", query string kept after the path. */
export function serviceUrl(lineItemUrl: string, service: 'scores' | 'results'): string {
  const url = new URL(lineItemUrl);
  url.pathname = `${url.pathname.replace(/\/$/, '')}/${service}`;
  return url.toString();
}

export function scoreBody(input: {
  userSub: string;
  score: ScoreFields;
  canvas: boolean;
  newSubmission: boolean;
}): Record<string, unknown> {
  const body: Record<string, unknown> = {
    userId: input.userSub,
    scoreGiven: input.score.scoreGiven,
    scoreMaximum,
    activityProgress: input.score.activityProgress,
    gradingProgress: input.score.gradingProgress,
    timestamp: input.score.timestamp,
    comment: input.score.comment,
  };
  // Canvas: without new_submission:false every resync would add a submission attempt.
  if (input.canvas) body['https://canvas.instructure.com/lti/submission'] = { new_submission: input.newSubmission };
  return body;
}

export type SendOutcome =
  | { kind: 'sent' }
  | { kind: 'retry'; delayMs: number | undefined; reason: string }
  | { kind: 'superseded'; reason: string }
  | { kind: 'skipped'; reason: string }
  | { kind: 'failed'; reason: string };

/** Seconds or an HTTP date (RFC 9110 §10.2.3) → milliseconds from now. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Maps a platform answer to what the outbox does next:
 * 2xx sent · 429/503 retry after Retry-After · other 5xx and 401 (after the token refresh) retry with backoff ·
 * 400/409 about the timestamp superseded (the LMS already holds this or a newer score) ·
 * 404/422 skipped (user not gradable, course concluded, line item gone) · other 4xx failed.
 */
export function classifyResponse(status: number, body: string, retryAfter: string | null, now: number): SendOutcome {
  const excerpt = body.replace(/\s+/g, ' ').slice(0, 300);
  if (status >= 200 && status < 300) return { kind: 'sent' };
  if (status === 429 || status === 503) return { kind: 'retry', delayMs: retryAfterMs(retryAfter, now), reason: `HTTP ${status}` };
  if (status >= 500 || status === 401 || status === 408) return { kind: 'retry', delayMs: undefined, reason: `HTTP ${status}` };
  if (status === 409 || (status === 400 && /timestamp|older|newer|before/i.test(body))) {
    return { kind: 'superseded', reason: `HTTP ${status}: the LMS already has this or a newer score${excerpt ? ` (${excerpt})` : ''}` };
  }
  if (status === 404 || status === 422) return { kind: 'skipped', reason: `HTTP ${status}: ${excerpt || 'not gradable'}` };
  if (status === 403 && /rate limit/i.test(body))
    return { kind: 'retry', delayMs: retryAfterMs(retryAfter, now), reason: 'HTTP 403 rate limit exceeded' };
  return { kind: 'failed', reason: `HTTP ${status}: ${excerpt}` };
}

/** Exponential backoff with full jitter: random in [base·2^(n−1)/2, base·2^(n−1)], capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function levelLabel(level: string): string {
  return level.charAt(0).toUpperCase() + level.slice(1);
}

export function competencyComment(score: number, level: string, modules: number): string {
  return `${levelLabel(level)} · ${Math.round(score)}/100 · from ${modules} module${modules === 1 ? '' : 's'}`;
}
