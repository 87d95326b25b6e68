/**
 * One way to show scores, levels and times on every page (profile, result, faculty overview, drill-down,
 * gradebook comment). CSV exports and the API keep full precision and machine values instead.
 */

/**
 * A competency or module score (0–100) as a whole number, rounded down: the number shown never reaches a
 * level threshold (40, 65, 85) the score itself has not reached, so "39 · Novice" never reads "40 · Novice".
 */
export function formatScore(score: number): string {
  // Guard against binary noise such as 64.99999999 for a stored 65.
  return String(Math.floor(Math.round(score * 1000) / 1000));
}

/** "36 / 100". */
export const scoreOutOf100 = (score: number): string => `${formatScore(score)} / 100`;

/** A proficiency or rubric level in sentence case: "Novice", "Developing", "Proficient", "Expert". */
export function formatLevel(level: string): string {
  return level.length === 0 ? level : level.charAt(0).toUpperCase() + level.slice(1).toLowerCase();
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** "25 Nov 2026" (UTC). */
export function formatDate(d: Date): string {
  return `${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** "25 Nov 2026, 14:03 UTC": for a person; put the ISO form in <time datetime>. */
export function formatDateTime(d: Date): string {
  return `${formatDate(d)}, ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}
