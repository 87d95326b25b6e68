import { Types, type Connection } from 'mongoose';
import { platformCondition, scopePlatforms, type AdminScope } from '../admin/admin-scope';
import type { ProficiencyLevel } from '../assessment/scoring';
import type { RubricLevel } from '../curriculum/content-schema';

/**
 * Read-only access to what the program dashboard needs. Reads only fields other work keeps stable:
 * courses (platform, title), learner memberships, competency scores (userId, courseId, competencyId,
 * score, level) and attempts (userId, courseId, moduleId, moduleVersion, number, status, answers).
 * Every method takes the administrator's scope and puts it in the course query; the other collections
 * are read only for the course ids that query returned.
 */
export interface ProgramCourse {
  id: string;
  title: string;
  label: string | undefined;
  issuer: string;
  clientId: string;
  /** The course's activity period: its first and latest launch. */
  firstActivity: Date | undefined;
  lastActivity: Date | undefined;
  /** The term the LMS sent (Canvas), if any. */
  termName: string | undefined;
  /**
   * The course's period: each end from the term dates, else the course dates (Moodle), else the activity
   * period; `startFrom`/`endFrom` say which.
   */
  start: Date | undefined;
  end: Date | undefined;
  startFrom: DateSource;
  endFrom: DateSource;
}

export type DateSource = 'term' | 'course' | 'activity';

/** Courses of that term (exact name) whose period overlaps [from, to] (either end open). */
export interface CourseFilter {
  activeFrom?: Date | undefined;
  activeTo?: Date | undefined;
  term?: string | undefined;
}

export interface CohortScore {
  userId: string;
  courseId: string;
  scores: { competencyId: string; score: number; level: ProficiencyLevel }[];
}

export interface CohortAnswer {
  itemId: string;
  kind: 'mcq' | 'reflection';
  selected: string[];
  selfLevel: RubricLevel | undefined;
  facultyLevel: RubricLevel | undefined;
  submittedAt: Date | undefined;
  facultyRatedAt: Date | undefined;
}

export interface CohortAttempt {
  userId: string;
  courseId: string;
  moduleId: string;
  moduleVersion: number;
  number: number;
  status: 'in_progress' | 'completed';
  answers: CohortAnswer[];
  startedAt: Date | undefined;
  completedAt: Date | undefined;
}

export interface CohortData {
  courses: ProgramCourse[];
  /** Learners of the courses (distinct user ids), plus anyone with scores or attempts there. */
  coaches: string[];
  /** Coaches with a learner membership: they launched CoachLTI in one of the courses. */
  launched: string[];
  scores: CohortScore[];
  attempts: CohortAttempt[];
}

export interface ProgramRepository {
  listCourses(scope: AdminScope, filter?: CourseFilter): Promise<ProgramCourse[]>;
  /** The term names known on the administrator's platforms, sorted. */
  listTerms(scope: AdminScope): Promise<string[]>;
  /** The cohort of the given courses; ids outside the scope (or unknown) are not in `courses`. */
  loadCohort(scope: AdminScope, courseIds: readonly string[]): Promise<CohortData>;
  /** Every score snapshot of the courses (history) computed within [from, to]; the courses are re-checked against the scope. */
  loadScoreHistory(scope: AdminScope, courseIds: readonly string[], from: Date, to: Date): Promise<DatedScore[]>;
}

export interface DatedScore extends CohortScore {
  computedAt: Date;
}

const levels = new Set(['novice', 'developing', 'proficient', 'expert']);
const isLevel = (v: unknown): v is ProficiencyLevel => typeof v === 'string' && levels.has(v);
const hex = (v: unknown): string => (v instanceof Types.ObjectId ? v.toHexString() : String(v));
const dateOf = (v: unknown): Date | undefined => (v instanceof Date && !Number.isNaN(v.getTime()) ? v : undefined);

function scoresOf(raw: unknown): CohortScore['scores'] {
  return (Array.isArray(raw) ? (raw as Record<string, unknown>[]) : []).flatMap((s) =>
    typeof s.competencyId === 'string' && typeof s.score === 'number' && isLevel(s.level)
      ? [{ competencyId: s.competencyId, score: s.score, level: s.level }]
      : [],
  );
}

function periodEnd(term: Date | undefined, course: Date | undefined, activity: Date | undefined): [Date | undefined, DateSource] {
  if (term) return [term, 'term'];
  if (course) return [course, 'course'];
  return [activity, 'activity'];
}

export function createProgramRepository(connection: Connection): ProgramRepository {
  const collection = (name: string) => connection.collection(name);

  async function scopedCourses(scope: AdminScope, ids?: readonly string[], filter: CourseFilter = {}): Promise<ProgramCourse[]> {
    const conditions: Record<string, unknown>[] = [];
    if (filter.term !== undefined) conditions.push({ termName: filter.term });
    const platforms = platformCondition(scopePlatforms(scope));
    if (platforms) conditions.push(platforms);
    if (ids) conditions.push({ _id: { $in: ids.filter((id) => Types.ObjectId.isValid(id)).map((id) => new Types.ObjectId(id)) } });
    const docs = await collection('courses')
      .find(conditions.length > 0 ? { $and: conditions } : {}, {
        projection: {
          title: 1,
          label: 1,
          issuer: 1,
          clientId: 1,
          createdAt: 1,
          lastLaunchAt: 1,
          termName: 1,
          termStart: 1,
          termEnd: 1,
          courseStart: 1,
          courseEnd: 1,
        },
      })
      .toArray();
    // The period falls back per end, so it is compared in memory (a platform has few courses).
    const { activeFrom, activeTo } = filter;
    return docs
      .map((d): ProgramCourse => {
        const firstActivity = dateOf(d.createdAt);
        const lastActivity = dateOf(d.lastLaunchAt);
        const [start, startFrom] = periodEnd(dateOf(d.termStart), dateOf(d.courseStart), firstActivity);
        const [end, endFrom] = periodEnd(dateOf(d.termEnd), dateOf(d.courseEnd), lastActivity);
        return {
          id: hex(d._id),
          title: typeof d.title === 'string' && d.title !== '' ? d.title : hex(d._id),
          label: typeof d.label === 'string' ? d.label : undefined,
          issuer: String(d.issuer),
          clientId: String(d.clientId),
          firstActivity,
          lastActivity,
          termName: typeof d.termName === 'string' && d.termName !== '' ? d.termName : undefined,
          start,
          end,
          startFrom,
          endFrom,
        };
      })
      .filter((c) => !(activeTo && c.start && c.start > activeTo) && !(activeFrom && c.end && c.end < activeFrom))
      .sort((a, b) => a.title.localeCompare(b.title) || a.id.localeCompare(b.id));
  }

  return {
    listCourses: (scope, filter) => scopedCourses(scope, undefined, filter),
    async listTerms(scope) {
      const platforms = platformCondition(scopePlatforms(scope));
      const docs = await collection('courses')
        .find({ ...(platforms ?? {}), termName: { $type: 'string' } }, { projection: { termName: 1 } })
        .toArray();
      return [...new Set(docs.map((d) => String(d.termName)).filter((t) => t !== ''))].sort((a, b) => a.localeCompare(b));
    },
    async loadScoreHistory(scope, courseIds, from, to) {
      const courses = await scopedCourses(scope, courseIds);
      if (courses.length === 0) return [];
      const docs = await collection('competency_score_history')
        .find(
          { courseId: { $in: courses.map((c) => new Types.ObjectId(c.id)) }, computedAt: { $gte: from, $lte: to } },
          { projection: { userId: 1, courseId: 1, scores: 1, computedAt: 1 } },
        )
        .toArray();
      return docs.flatMap((d) => {
        const computedAt = dateOf(d.computedAt);
        return computedAt ? [{ userId: hex(d.userId), courseId: hex(d.courseId), scores: scoresOf(d.scores), computedAt }] : [];
      });
    },
    async loadCohort(scope, courseIds) {
      const courses = await scopedCourses(scope, courseIds);
      const ids = courses.map((c) => new Types.ObjectId(c.id));
      if (ids.length === 0) return { courses, coaches: [], launched: [], scores: [], attempts: [] };
      const [memberships, scoreDocs, attemptDocs] = await Promise.all([
        collection('memberships')
          .find({ courseId: { $in: ids }, isLearner: true }, { projection: { userId: 1 } })
          .toArray(),
        collection('competency_scores')
          .find({ courseId: { $in: ids } }, { projection: { userId: 1, courseId: 1, scores: 1 } })
          .toArray(),
        collection('attempts')
          .find(
            { courseId: { $in: ids } },
            {
              projection: {
                userId: 1,
                courseId: 1,
                moduleId: 1,
                moduleVersion: 1,
                number: 1,
                status: 1,
                startedAt: 1,
                completedAt: 1,
                answers: 1,
              },
            },
          )
          .toArray(),
      ]);
      const scores: CohortScore[] = scoreDocs.map((d) => ({
        userId: hex(d.userId),
        courseId: hex(d.courseId),
        scores: scoresOf(d.scores),
      }));
      const attempts: CohortAttempt[] = attemptDocs.map((d) => ({
        userId: hex(d.userId),
        courseId: hex(d.courseId),
        moduleId: String(d.moduleId),
        moduleVersion: typeof d.moduleVersion === 'number' ? d.moduleVersion : 0,
        number: typeof d.number === 'number' ? d.number : 0,
        status: d.status === 'completed' ? 'completed' : 'in_progress',
        answers: (Array.isArray(d.answers) ? (d.answers as Record<string, unknown>[]) : []).map((a) => ({
          itemId: String(a.itemId),
          kind: a.kind === 'reflection' ? 'reflection' : 'mcq',
          selected: Array.isArray(a.selected) ? a.selected.map(String) : [],
          selfLevel: isLevel(a.selfLevel) ? a.selfLevel : undefined,
          facultyLevel: isLevel(a.facultyLevel) ? a.facultyLevel : undefined,
          submittedAt: dateOf(a.submittedAt),
          facultyRatedAt: dateOf(a.facultyRatedAt),
        })),
        startedAt: dateOf(d.startedAt),
        completedAt: dateOf(d.completedAt),
      }));
      const coaches = new Set<string>([
        ...memberships.map((m) => hex(m.userId)),
        ...scores.map((s) => s.userId),
        ...attempts.map((a) => a.userId),
      ]);
      const launched = [...new Set(memberships.map((m) => hex(m.userId)))].sort();
      return { courses, coaches: [...coaches].sort(), launched, scores, attempts };
    },
  };
}
