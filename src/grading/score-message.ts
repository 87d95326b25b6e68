import { z } from 'zod';
import { formatLevel, formatScore } from '../shared/format';

/**
 * What goes over the wire to AGS and what its answer means. Pure functions.
 */
export interface ScoreFields {
  /** Absent when there is no number to report (insufficient evidence): the LMS shows the comment only. */
  scoreGiven?: number;
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
    // AGS §3.4.8: without scoreGiven the result carries no score (and scoreMaximum is then left out too).
    ...(typeof input.score.scoreGiven === 'number' ? { scoreGiven: input.score.scoreGiven, scoreMaximum } : {}),
    activityProgress: input.score.activityProgress,
    gradingProgress: input.score.gradingProgress,
    timestamp: input.score.timestamp,
    comment: input.score.comment,
  };
  // Canvas: without new_submission:false every resync would add a submission attempt.
  if (input.canvas) body['https://canvas.instructure.com/lti/submission'] = { new_submission: input.newSubmission };
  return body;
}

/** One AGS result (AGS 2.0 §3.5). */
export const resultSchema = z.object({
  userId: z.string(),
  resultScore: z.number().nullable().optional(),
  resultMaximum: z.number().nullable().optional(),
  timestamp: z.string().optional(),
  comment: z.string().nullable().optional(),
});

const lmsSetting =
  'Canvas: add the scope to the developer key (Admin → Developer Keys → the CoachLTI key → LTI Advantage Services); ' +
  'Moodle: set the tool\'s IMS LTI Assignment and Grade Services to "Use this service for grade sync and column management"';

/** The ledger reason when a scope was not granted: what cannot be done and which LMS setting to change. */
export function configurationReason(missing: string[]): string {
  const names = missing.map((s) => s.slice(s.lastIndexOf('/') + 1));
  if (names.includes('lineitem')) return `the LMS did not grant column creation (lineitem scope). ${lmsSetting}, then retry.`;
  return `the LMS did not grant ${names.map((n) => `${n} scope`).join(', ')}. ${lmsSetting}, then retry.`;
}

export type SendOutcome =
  | { kind: 'sent'; confirmed?: string }
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
 * 2xx sent · 429/503 retry after Retry-After · other 5xx retry with backoff · 401/403 (with a fresh token) failed:
 * configuration ·
 * 400/409 about the timestamp superseded (the LMS already holds this or a newer score) ·
 * 404/422 skipped (user not gradable, course concluded, line item gone) · other 4xx failed.
 */
export function classifyResponse(status: number, body: string, retryAfter: string | null, now: number): SendOutcome {
  const excerpt = body.replace(/\s+/g, ' ').slice(0, 300);
  if (status >= 200 && status < 300) return { kind: 'sent' };
  if (status === 429 || status === 503) return { kind: 'retry', delayMs: retryAfterMs(retryAfter, now), reason: `HTTP ${status}` };
  if (status >= 500 || status === 408) return { kind: 'retry', delayMs: undefined, reason: `HTTP ${status}` };
  if (status === 409 || (status === 400 && /timestamp|older|newer|before/i.test(body))) {
    return { kind: 'superseded', reason: `HTTP ${status}: the LMS already has this or a newer score${excerpt ? ` (${excerpt})` : ''}` };
  }
  if (status === 404 || status === 422) return { kind: 'skipped', reason: `HTTP ${status}: ${excerpt || 'not gradable'}` };
  if (status === 403 && /rate limit/i.test(body))
    return { kind: 'retry', delayMs: retryAfterMs(retryAfter, now), reason: 'HTTP 403 rate limit exceeded' };
  // The platform client already retried with a freshly fetched token: the LMS refuses the tool itself.
  if (status === 401 || status === 403)
    return {
      kind: 'failed',
      reason: `configuration: the LMS refused access (HTTP ${status}) with a new access token${excerpt ? ` (${excerpt})` : ''}. ${lmsSetting}; check the tool is enabled, then retry.`,
    };
  return { kind: 'failed', reason: `HTTP ${status}: ${excerpt}` };
}

/** Exponential backoff with full jitter: random in [base·2^(n−1)/2, base·2^(n−1)], capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function levelLabel(level: string): string {
  return formatLevel(level);
}

export function competencyComment(score: number, level: string, modules: number): string {
  return `${levelLabel(level)} · ${formatScore(score)}/100 · from ${modules} module${modules === 1 ? '' : 's'}`;
}

/** What the scoring engine reports for one competency (see src/assessment/scoring.ts). */
export interface CompetencyOutcome {
  status: 'scored' | 'insufficient-evidence';
  score?: number | undefined;
  level?: string | undefined;
  modules: string[];
  pendingFacultyRating: boolean;
  /** With insufficient evidence: what is missing. */
  missing?: string | undefined;
}

/**
 * The gradebook fields of a competency (activityProgress and timestamp are the caller's):
 * - scored: the number, `FullyGraded`, or `PendingManual` while a reflection awaits a faculty rating (the number
 *   then comes from rated evidence only; Canvas shows it flagged for grading, Moodle keeps its last FullyGraded
 *   value until the rating arrives, so Moodle never shows a provisional number);
 * - insufficient evidence: no number at all, the comment says so; `PendingManual` while ratings are awaited (Canvas
 *   lists it as needing grading), otherwise `FullyGraded` so Moodle records the comment.
 */
export function competencyScoreFields(s: CompetencyOutcome): Pick<ScoreFields, 'scoreGiven' | 'gradingProgress' | 'comment'> {
  const gradingProgress = s.pendingFacultyRating ? 'PendingManual' : 'FullyGraded';
  const awaiting = s.pendingFacultyRating ? ' · reflections awaiting faculty rating' : '';
  const from = `from ${s.modules.length} module${s.modules.length === 1 ? '' : 's'}`;
  if (s.status !== 'scored' || s.score === undefined || s.level === undefined)
    return { gradingProgress, comment: `Insufficient evidence · ${s.missing ?? 'not enough evidence yet'} · ${from}` };
  return { scoreGiven: s.score, gradingProgress, comment: `${competencyComment(s.score, s.level, s.modules.length)}${awaiting}` };
}
