import { stringify } from 'csv-stringify';
import { z } from 'zod';
import type { ReconcileRow } from '../grading/grading-admin';
import type { GradingJob, JobState } from '../grading/jobs';
import { outboxStatuses, type LedgerFilter, type OutboxEntry, type OutboxStatus } from '../grading/outbox';
import { BadRequestError } from '../shared/errors';

/** The ledger filter as the GET form sends it: every field optional, an empty field means "any". */
const blank = (value: unknown): unknown => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const objectId = z
  .string()
  .trim()
  .regex(/^[a-f0-9]{24}$/i, 'must be a 24-character id');
const day = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date (YYYY-MM-DD)')
  .refine(
    (d) => !Number.isNaN(Date.parse(`${d}T00:00:00.000Z`)) && new Date(`${d}T00:00:00.000Z`).toISOString().startsWith(d),
    'is not a real date',
  );

/** A course or learner field: a 24-character id (the page's own links) or text to look up by name. */
const searchText = z.string().trim().max(200, 'is too long (200 characters at most)');

const isObjectId = (value: string | undefined): value is string => value !== undefined && objectId.safeParse(value).success;

export const pageSize = 100;

export const ledgerQuerySchema = z
  .object({
    platform: z.preprocess(blank, z.string().trim().max(500, 'is too long').optional()),
    course: z.preprocess(blank, searchText.optional()),
    learner: z.preprocess(blank, searchText.optional()),
    column: z.preprocess(
      blank,
      z
        .string()
        .trim()
        .regex(/^(?:module\s+)?(C\d{1,2}\.\d{1,2}|M\d{1,3})$/i, 'must be a competency id (C2.2) or a module id (M01)')
        .transform((v) => v.replace(/^module\s+/i, '').toUpperCase())
        .optional(),
    ),
    status: z.preprocess(
      blank,
      z.enum(outboxStatuses as [OutboxStatus, ...OutboxStatus[]], { message: `must be one of ${outboxStatuses.join(', ')}` }).optional(),
    ),
    from: z.preprocess(blank, day.optional()),
    to: z.preprocess(blank, day.optional()),
    page: z.preprocess(
      blank,
      z.coerce.number({ invalid_type_error: 'must be a number' }).int('must be a whole number').min(1).max(10_000).default(1),
    ),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: 'must not be after the "to" date', path: ['from'] });

export type LedgerQuery = z.infer<typeof ledgerQuerySchema>;

export interface ParsedLedgerQuery {
  query: LedgerQuery;
  filter: LedgerFilter;
  /** Text to resolve to course ids (title) and user ids (name or email) within the admin's scope. */
  search: { courseText: string | undefined; learnerText: string | undefined };
  /** The filter fields that are set, as query parameters (for links, the CSV export and the audit log). */
  params: Record<string, string>;
}

const fieldLabels: Record<string, string> = {
  platform: 'Platform',
  course: 'Course',
  learner: 'Learner',
  column: 'Competency or module',
  status: 'Status',
  from: 'From',
  to: 'To',
  page: 'Page',
};

/** Validates the ledger query; a bad value is a 400 page naming the field. */
export function parseLedgerQuery(raw: unknown): ParsedLedgerQuery {
  const parsed = ledgerQuerySchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new BadRequestError(
      'The ledger filter could not be used. Correct the highlighted value and try again.',
      parsed.error.issues.map((i) => `${fieldLabels[String(i.path[0])] ?? String(i.path[0] ?? 'Filter')}: ${i.message}`),
    );
  }
  const q = parsed.data;
  const filter: LedgerFilter = {
    issuer: q.platform,
    courseId: isObjectId(q.course) ? q.course.toLowerCase() : undefined,
    userId: isObjectId(q.learner) ? q.learner.toLowerCase() : undefined,
    target: q.column,
    status: q.status,
    from: q.from ? new Date(`${q.from}T00:00:00.000Z`) : undefined,
    to: q.to ? new Date(`${q.to}T23:59:59.999Z`) : undefined,
  };
  const params: Record<string, string> = {};
  for (const key of ['platform', 'course', 'learner', 'column', 'status', 'from', 'to'] as const) {
    const value = q[key];
    if (value !== undefined) params[key] = value;
  }
  const search = {
    courseText: q.course !== undefined && !isObjectId(q.course) ? q.course : undefined,
    learnerText: q.learner !== undefined && !isObjectId(q.learner) ? q.learner : undefined,
  };
  return { query: q, filter, params, search };
}

export function queryString(params: Record<string, string>): string {
  const s = new URLSearchParams(params).toString();
  return s ? `?${s}` : '';
}

export function formatTime(at: Date | undefined | null): string {
  if (!at) return '';
  return `${at.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}

export function formatScore(score: number | undefined): string {
  return score === undefined ? '' : String(Math.round(score * 100) / 100);
}

export function columnLabel(target: OutboxEntry['target']): string {
  return target.kind === 'module' ? `module ${target.id}` : target.id;
}

export const statusLabels: Record<OutboxStatus, string> = {
  pending: 'Pending',
  sending: 'Sending',
  sent: 'Sent',
  failed: 'Failed',
  superseded: 'Superseded',
  skipped: 'Skipped',
};

const retryable = new Set<OutboxStatus>(['failed', 'skipped', 'superseded']);

export function ledgerRow(entry: OutboxEntry, platformName: (issuer: string) => string) {
  return {
    id: entry.id,
    platform: platformName(entry.issuer),
    issuer: entry.issuer,
    courseId: entry.courseId,
    courseTitle: entry.courseTitle,
    learner: entry.userName,
    userId: entry.userId,
    column: columnLabel(entry.target),
    score: formatScore(entry.score?.scoreGiven),
    status: entry.status,
    statusLabel: statusLabels[entry.status] ?? entry.status,
    attemptCount: entry.attemptCount,
    attemptWord: entry.attemptCount === 1 ? 'attempt' : 'attempts',
    updated: formatTime(entry.updatedAt),
    updatedIso: entry.updatedAt?.toISOString(),
    // A sent entry's reason is left over from an earlier attempt: it no longer applies.
    reason: entry.status === 'sent' ? '' : (entry.reason ?? ''),
    retryable: retryable.has(entry.status),
    attempts: [...entry.attempts].reverse().map((a) => ({
      at: formatTime(a.at),
      atIso: a.at?.toISOString(),
      http: typeof a.httpStatus === 'number' ? String(a.httpStatus) : 'network',
      outcome: a.outcome,
      excerpt: a.excerpt,
      duration: `${a.durationMs} ms`,
    })),
  };
}

export const reconcileLabels: Record<ReconcileRow['status'], string> = {
  match: 'Match',
  differs: 'Differs',
  'missing-in-lms': 'Missing in the LMS',
  'only-in-lms': 'Only in the LMS',
};

/** Spreadsheets run cells that start with = + - @ as formulas: such text cells get a leading quote. */
export function csvSafe(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export const csvColumns = [
  'entry_id',
  'platform',
  'issuer',
  'client_id',
  'course_id',
  'course_title',
  'learner_user_id',
  'learner_lms_id',
  'learner_name',
  'column',
  'score',
  'activity_progress',
  'grading_progress',
  'status',
  'attempts',
  'last_http_status',
  'first_queued_at',
  'updated_at',
  'sent_at',
  'reason',
];

export function csvRecord(entry: OutboxEntry, platformName: (issuer: string) => string): string[] {
  const last = entry.attempts[entry.attempts.length - 1];
  return [
    entry.id,
    csvSafe(platformName(entry.issuer)),
    csvSafe(entry.issuer),
    csvSafe(entry.clientId),
    entry.courseId,
    csvSafe(entry.courseTitle),
    entry.userId,
    csvSafe(entry.userSub),
    csvSafe(entry.userName),
    columnLabel(entry.target),
    formatScore(entry.score?.scoreGiven),
    entry.score?.activityProgress ?? '',
    entry.score?.gradingProgress ?? '',
    entry.status,
    String(entry.attemptCount),
    last ? (typeof last.httpStatus === 'number' ? String(last.httpStatus) : 'network') : '',
    entry.firstQueuedAt?.toISOString() ?? '',
    entry.updatedAt?.toISOString() ?? '',
    entry.sentAt?.toISOString() ?? '',
    csvSafe(entry.status === 'sent' ? '' : (entry.reason ?? '')),
  ];
}

/** The CSV text: a header row, then one row per entry. */
export function toCsv(records: string[][]): Promise<string> {
  return new Promise((resolve, reject) => {
    stringify(records, { header: true, columns: csvColumns, record_delimiter: '\r\n' }, (error, output) =>
      error ? reject(error) : resolve(output),
    );
  });
}

export const jobStateLabels: Record<JobState, string> = { queued: 'Queued', running: 'Running', done: 'Done', failed: 'Failed' };

/** Job states shown with the ledger's status colours. */
const jobStateClass: Record<JobState, string> = { queued: 'pending', running: 'sending', done: 'sent', failed: 'failed' };

export function jobRow(job: GradingJob, platformName: (issuer: string) => string) {
  const { total, done, failed } = job.progress;
  const unit = job.kind === 'resync' ? (total === 1 ? 'learner' : 'learners') : total === 1 ? 'column' : 'columns';
  return {
    id: job.id,
    href: `/admin/jobs/${job.id}`,
    kind: job.kind,
    kindLabel: job.kind === 'resync' ? 'Resync' : 'Reconcile',
    courseId: job.courseId,
    courseTitle: job.courseTitle,
    platform: platformName(job.platform.issuer),
    requestedBy: job.requestedBy,
    state: job.state,
    stateClass: jobStateClass[job.state],
    stateLabel: jobStateLabels[job.state],
    active: job.state === 'queued' || job.state === 'running',
    progressText:
      job.state === 'queued' && total === 0
        ? 'waiting to start'
        : `${done + failed} of ${total} ${unit}${failed > 0 ? ` (${failed} failed)` : ''}`,
    done: done + failed,
    total,
    failed,
    errors: job.errors,
    created: formatTime(job.createdAt),
    createdIso: job.createdAt.toISOString(),
    finished: formatTime(job.finishedAt),
    finishedIso: job.finishedAt?.toISOString(),
    attempts: job.attempts,
  };
}
