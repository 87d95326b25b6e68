import { z } from 'zod';
import type { Attempt } from '../assessment/attempt-repository';
import type { ScoreSnapshot } from '../assessment/score-repository';
import type { CompetencyScore, ProficiencyLevel } from '../assessment/scoring';
import type { Framework } from '../competencies/framework';

/**
 * The faculty course overview as plain data: every coach on the LMS roster (and every coach who launched) ×
 * the 13 competencies, module progress, last activity, ratings waiting and passback badge. Knows nothing of
 * HTTP or the database; the route gathers the inputs, the view and the CSV present the rows.
 */

export type CellState = ProficiencyLevel | 'insufficient' | 'not-started';
export type ProgressState = 'not-started' | 'in-progress' | 'done';
export type BadgeState = 'synced' | 'pending' | 'failed' | 'none';

export const cellLabel: Record<CellState, string> = {
  novice: 'Novice',
  developing: 'Developing',
  proficient: 'Proficient',
  expert: 'Expert',
  insufficient: 'Insufficient evidence',
  'not-started': 'Not started',
};
export const progressLabel: Record<ProgressState, string> = { 'not-started': 'Not started', 'in-progress': 'In progress', done: 'Done' };
export const badgeLabel: Record<BadgeState, string> = { synced: 'Synced', pending: 'Pending', failed: 'Failed', none: 'No scores yet' };

export interface OverviewCell {
  competencyId: string;
  state: CellState;
  label: string;
  score: number | undefined;
  /** What is missing (insufficient evidence) or why the level is capped. */
  note: string | undefined;
}

export interface DomainSummary {
  domainId: string;
  /** Mean of the scored competencies, one decimal; undefined when none is scored. */
  mean: number | undefined;
  scored: number;
  total: number;
}

export interface ModuleProgress {
  moduleId: string;
  title: string;
  state: ProgressState;
  startedAt: Date | undefined;
  completedAt: Date | undefined;
  dueAt: Date | undefined;
  overdue: boolean;
}

export interface OverviewRow {
  /** Our user id; absent for a coach on the roster who never opened CoachLTI. */
  userId: string | undefined;
  name: string;
  launched: boolean;
  rosterStatus: 'Active' | 'Inactive' | 'Deleted' | undefined;
  cells: OverviewCell[];
  domains: DomainSummary[];
  modules: ModuleProgress[];
  progress: ProgressState;
  modulesDone: number;
  modulesInProgress: number;
  /** Titles of required modules past their due date and not done. */
  overdue: string[];
  lastActivity: Date | undefined;
  ratingsWaiting: number;
  badge: BadgeState;
  badgeReason: string | undefined;
}

export interface OverviewInput {
  framework: Framework;
  /** LMS roster learners (NRPS), keyed by the LMS user id (our user's `sub`); undefined when there is no roster service. */
  roster: { userId: string; name: string; status: 'Active' | 'Inactive' | 'Deleted' }[] | undefined;
  /** Coaches who launched in this course. */
  learners: { id: string; sub: string; name: string }[];
  snapshots: ScoreSnapshot[];
  attempts: Attempt[];
  /** The modules the course counts (its required ones, else the catalog), with due dates where set. */
  modules: { id: string; title: string; dueAt?: Date | undefined }[];
  now?: Date;
  waitingByUser: Map<string, number>;
  badges: Map<string, { state: BadgeState; reason?: string | undefined }>;
}

function cellOf(competencyId: string, score: CompetencyScore | undefined, started: boolean): OverviewCell {
  if (!score || (!started && score.status !== 'scored'))
    return { competencyId, state: 'not-started', label: cellLabel['not-started'], score: undefined, note: undefined };
  if (score.status !== 'scored' || !score.level)
    return { competencyId, state: 'insufficient', label: cellLabel.insufficient, score: undefined, note: score.missing };
  return { competencyId, state: score.level, label: cellLabel[score.level], score: score.score, note: score.levelCap };
}

function latest(...dates: (Date | undefined)[]): Date | undefined {
  let out: Date | undefined;
  for (const d of dates) if (d && (!out || d > out)) out = d;
  return out;
}

export function buildOverview(input: OverviewInput): OverviewRow[] {
  const competencies = input.framework.domains.flatMap((d) => d.competencies);
  const bySub = new Map(input.learners.map((l) => [l.sub, l]));
  const people: { user: OverviewInput['learners'][number] | undefined; name: string; status: OverviewRow['rosterStatus'] }[] = [];
  const seen = new Set<string>();
  for (const m of input.roster ?? []) {
    if (m.status === 'Deleted') continue;
    const user = bySub.get(m.userId);
    if (user) seen.add(user.id);
    people.push({ user, name: user?.name ?? m.name, status: m.status });
  }
  // Coaches who launched but are not (or no longer) on the roster still have work to see.
  for (const l of input.learners) if (!seen.has(l.id)) people.push({ user: l, name: l.name, status: undefined });

  const snapshotOf = new Map(input.snapshots.map((s) => [s.userId, s]));
  const attemptsOf = new Map<string, Attempt[]>();
  for (const a of input.attempts) attemptsOf.set(a.userId, [...(attemptsOf.get(a.userId) ?? []), a]);

  return people.map(({ user, name, status }) => {
    const attempts = user ? (attemptsOf.get(user.id) ?? []) : [];
    const snapshot = user ? snapshotOf.get(user.id) : undefined;
    const modules = input.modules.map((m): ModuleProgress => {
      const mine = attempts.filter((a) => a.moduleId === m.id);
      const done = mine.filter((a) => a.status === 'completed');
      return {
        moduleId: m.id,
        title: m.title,
        state: done.length > 0 ? 'done' : mine.length > 0 ? 'in-progress' : 'not-started',
        startedAt: mine[0]?.startedAt,
        completedAt: latest(...done.map((a) => a.completedAt)),
        dueAt: m.dueAt,
        overdue: Boolean(m.dueAt && m.dueAt < (input.now ?? new Date()) && done.length === 0),
      };
    });
    const modulesDone = modules.filter((m) => m.state === 'done').length;
    const modulesInProgress = modules.filter((m) => m.state === 'in-progress').length;
    const progress: ProgressState =
      attempts.length === 0 ? 'not-started' : modules.length > 0 && modulesDone === modules.length ? 'done' : 'in-progress';
    const cells = competencies.map((c) =>
      cellOf(
        c.id,
        snapshot?.scores.find((s) => s.competencyId === c.id),
        attempts.length > 0,
      ),
    );
    const domains = input.framework.domains.map((d): DomainSummary => {
      const scored = cells.filter((c) => d.competencies.some((k) => k.id === c.competencyId) && c.score !== undefined);
      const mean = scored.length > 0 ? Math.round((scored.reduce((t, c) => t + c.score!, 0) / scored.length) * 10) / 10 : undefined;
      return { domainId: d.id, mean, scored: scored.length, total: d.competencies.length };
    });
    const badge = user ? input.badges.get(user.id) : undefined;
    return {
      userId: user?.id,
      name,
      launched: Boolean(user),
      rosterStatus: status,
      cells,
      domains,
      modules,
      progress,
      modulesDone,
      modulesInProgress,
      overdue: modules.filter((m) => m.overdue).map((m) => m.title),
      lastActivity: latest(...attempts.flatMap((a) => [a.startedAt, a.completedAt, ...a.answers.map((x) => x.submittedAt)])),
      ratingsWaiting: user ? (input.waitingByUser.get(user.id) ?? 0) : 0,
      badge: badge?.state ?? 'none',
      badgeReason: badge?.reason,
    };
  });
}

/** Sort and filter, read from the query string (plain links and a GET form: no JavaScript needed). */
export const overviewQuery = z.object({
  sort: z
    .string()
    .regex(/^(name|activity|waiting|progress|C\d+\.\d+)$/)
    .catch('name')
    .default('name'),
  dir: z.enum(['asc', 'desc']).catch('asc').default('asc'),
  competency: z
    .string()
    .regex(/^C\d+\.\d+$/)
    .optional()
    .catch(undefined),
  level: z.enum(['novice', 'developing', 'proficient', 'expert', 'insufficient', 'not-started']).optional().catch(undefined),
  progress: z.enum(['not-started', 'in-progress', 'done']).optional().catch(undefined),
  waiting: z.enum(['yes']).optional().catch(undefined),
});
export type OverviewQuery = z.infer<typeof overviewQuery>;

const levelRank: Record<CellState, number> = {
  'not-started': -2,
  insufficient: -1,
  novice: 0,
  developing: 1,
  proficient: 2,
  expert: 3,
};
const progressRank: Record<ProgressState, number> = { 'not-started': 0, 'in-progress': 1, done: 2 };

export function selectRows(rows: OverviewRow[], q: OverviewQuery): OverviewRow[] {
  const picked = rows.filter((r) => {
    if (q.progress && r.progress !== q.progress) return false;
    if (q.waiting === 'yes' && r.ratingsWaiting === 0) return false;
    if (q.level) {
      const cells = q.competency ? r.cells.filter((c) => c.competencyId === q.competency) : r.cells;
      if (!cells.some((c) => c.state === q.level)) return false;
    }
    return true;
  });
  const byName = (a: OverviewRow, b: OverviewRow) => a.name.localeCompare(b.name);
  const key = (r: OverviewRow): number => {
    if (q.sort === 'activity') return r.lastActivity?.getTime() ?? -1;
    if (q.sort === 'waiting') return r.ratingsWaiting;
    if (q.sort === 'progress') return progressRank[r.progress] * 1000 + r.modulesDone;
    const cell = r.cells.find((c) => c.competencyId === q.sort);
    return cell ? (cell.score ?? levelRank[cell.state] - 10) : 0;
  };
  const sign = q.dir === 'desc' ? -1 : 1;
  return [...picked].sort((a, b) => (q.sort === 'name' ? sign * byName(a, b) : sign * (key(a) - key(b)) || byName(a, b)));
}

/** A CSV cell, quoted, and defused against formula injection in spreadsheets. */
function csvCell(value: string | number | undefined): string {
  let text = value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

const isoDate = (d: Date | undefined) => (d ? d.toISOString() : '');

export function overviewCsv(framework: Framework, rows: OverviewRow[]): string {
  const competencies = framework.domains.flatMap((d) => d.competencies);
  const header = [
    'Coach',
    'Opened CoachLTI',
    'Progress',
    'Modules done',
    'Modules in progress',
    'Last activity',
    'Ratings waiting',
    'Overdue modules',
    'Gradebook',
    ...competencies.flatMap((c) => [`${c.id} level`, `${c.id} score`]),
    ...framework.domains.map((d) => `${d.id} mean score`),
  ];
  const lines = rows.map((r) =>
    [
      r.name,
      r.launched ? 'yes' : 'no',
      progressLabel[r.progress],
      r.modulesDone,
      r.modulesInProgress,
      isoDate(r.lastActivity),
      r.ratingsWaiting,
      r.overdue.join('; '),
      badgeLabel[r.badge],
      ...r.cells.flatMap((c) => [c.label, c.score]),
      ...r.domains.map((d) => d.mean),
    ]
      .map(csvCell)
      .join(','),
  );
  return `${[header.map(csvCell).join(','), ...lines].join('\r\n')}\r\n`;
}
