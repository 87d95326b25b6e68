import { z } from 'zod';

/**
 * Term and course dates the LMS sends as LTI custom parameters (variable substitution, LTI Core §5.4):
 * Canvas fills term_* ($Canvas.term.*), Moodle fills course_* ($CourseSection.timeFrame.*).
 * A platform that does not know a variable sends it back literally ("$Canvas.term.name"): that, an empty
 * value, a malformed date or an absurdly long value is ignored, never stored.
 */
export const termParameters = {
  term_name: '$Canvas.term.name',
  term_start: '$Canvas.term.startAt',
  term_end: '$Canvas.term.endAt',
  course_start: '$CourseSection.timeFrame.begin',
  course_end: '$CourseSection.timeFrame.end',
} as const;

export interface CourseTerm {
  termName?: string;
  termStart?: Date;
  termEnd?: Date;
  courseStart?: Date;
  courseEnd?: Date;
}

// ISO 8601 (date, or date-time with optional seconds, fraction and zone) and Canvas's "2018-01-12 00:00:00 -0700".
const datePattern = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$/;

/** A date a platform sent, or undefined; a date with no zone is read as UTC. */
export function parseLmsDate(raw: string): Date | undefined {
  // Older Moodle (before the ISO 8601 resolver) sent the course's Unix timestamp (seconds).
  if (/^\d{9,10}$/.test(raw.trim())) return inRange(new Date(Number(raw.trim()) * 1000));
  const m = datePattern.exec(raw.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', zone = 'Z'] = m;
  const offset = zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${offset}`);
  if (Number.isNaN(date.getTime())) return undefined;
  // Reject rolled-over calendar dates (2026-02-30) and out-of-range times, which Date would silently accept or shift.
  const local = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (local.getUTCMonth() !== Number(mo) - 1 || local.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59)
    return undefined;
  return inRange(date);
}

function inRange(date: Date): Date | undefined {
  const year = date.getUTCFullYear();
  return year >= 1970 && year <= 2200 ? date : undefined;
}

const expanded = (max: number) =>
  z
    .string()
    .max(max) // before trimming: a padded value is as absurd as a long one
    .trim()
    .min(1)
    .refine((v) => !v.startsWith('$'), 'was not expanded by the platform');
const dateValue = expanded(40).transform(
  (v, ctx) => parseLmsDate(v) ?? (ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'is not a date' }), z.NEVER),
);

/** Each field is validated on its own: one bad value drops only itself. */
const fields = {
  termName: ['term_name', expanded(120)],
  termStart: ['term_start', dateValue],
  termEnd: ['term_end', dateValue],
  courseStart: ['course_start', dateValue],
  courseEnd: ['course_end', dateValue],
} as const;

/** The valid term and course dates among a launch's custom parameters (absent keys stay absent). */
export function parseCourseTerm(custom: Readonly<Record<string, string>>): CourseTerm {
  const out: Record<string, string | Date> = {};
  for (const [field, [key, schema]] of Object.entries(fields)) {
    const parsed = (schema as z.ZodType<string | Date>).safeParse(custom[key]);
    if (parsed.success) out[field] = parsed.data;
  }
  const term = out as CourseTerm;
  // An end before its start is not a period: keep neither end of that pair.
  if (term.termStart && term.termEnd && term.termEnd < term.termStart) {
    delete term.termStart;
    delete term.termEnd;
  }
  if (term.courseStart && term.courseEnd && term.courseEnd < term.courseStart) {
    delete term.courseStart;
    delete term.courseEnd;
  }
  return term;
}
