import { z } from 'zod';
import { scopeIncludes, scopePlatforms, type AdminScope } from '../admin/admin-scope';
import type { AssessmentService } from '../assessment/assessment-service';
import type { ScoreRepository } from '../assessment/score-repository';
import type { CourseRecord, LaunchRecords } from '../courses/launch-records';
import { nextLink } from '../lti/nrps';
import { PlatformRequestError, scopes, type PlatformClient } from '../lti/platform-client';
import type { GradingJob, JobKind, JobStore, ReconcileRow } from './jobs';
import type { JobWork } from './jobs-runner';
import type { LineItemService } from './line-items';
import type { LedgerFilter, Outbox, OutboxEntry, OutboxStatus } from './outbox';
import { resultContainerType, serviceUrl } from './score-message';

export type { ReconcileRow } from './jobs';

const resultSchema = z.object({
  userId: z.string(),
  resultScore: z.number().nullable().optional(),
  resultMaximum: z.number().nullable().optional(),
  timestamp: z.string().optional(),
  comment: z.string().nullable().optional(),
});

/**
 * What administrators (and faculty, for their course) can do with passback. Every method takes the
 * caller's scope and applies it in the query itself: a course, entry or job of a platform outside the
 * scope is indistinguishable from one that does not exist.
 */
export function createGradingAdmin(deps: {
  outbox: Outbox;
  records: LaunchRecords;
  assessment: AssessmentService;
  scores: ScoreRepository;
  lineItems: LineItemService;
  client: PlatformClient;
  jobs: JobStore;
  /** Called after a job is queued, to wake this process's runner. */
  onJobQueued?: () => void;
}) {
  const scoped = (scope: AdminScope, filter: LedgerFilter): LedgerFilter => ({ ...filter, platforms: scopePlatforms(scope) });

  /** The course when it is within the scope, else null (as if it did not exist). */
  async function courseIn(scope: AdminScope, courseId: string): Promise<CourseRecord | null> {
    const course = await deps.records.findCourse(courseId);
    return course && scopeIncludes(scope, course) ? course : null;
  }

  /** Recomputes one learner's scores and queues them again (Canvas: new_submission false). */
  async function resyncLearner(course: CourseRecord, userId: string): Promise<void> {
    await deps.assessment.recompute(
      {
        userId,
        courseId: course.id,
        issuer: course.issuer,
        clientId: course.clientId,
        deploymentId: course.deploymentId,
        resourceLinkId: undefined,
      },
      { kind: 'resync' },
    );
  }

  /** Reads one competency column's LMS results and compares them with our scores. */
  async function reconcileColumn(course: CourseRecord, competencyId: string): Promise<ReconcileRow[]> {
    const lineItemUrl = (await deps.lineItems.known(course.id)).get(competencyId);
    if (!lineItemUrl) return [];
    const learners = await deps.records.listLearners(course.id);
    const bySub = new Map(learners.map((l) => [l.sub, l]));
    // null: we report this competency without a number (insufficient evidence), so the LMS should hold a result
    // without a score.
    const ours = new Map<string, number | null>();
    for (const snapshot of await deps.scores.listForCourse(course.id)) {
      const score = snapshot.scores.find((s) => s.competencyId === competencyId);
      if (score) ours.set(snapshot.userId, score.score ?? null);
    }
    const results: z.infer<typeof resultSchema>[] = [];
    // Every page (Link: rel="next"), or learners on later pages would show as missing in the LMS.
    let url: string | undefined = serviceUrl(lineItemUrl, 'results');
    for (let page = 0; url && page < 1000; page += 1) {
      const res = await deps.client.request(course, [scopes.resultReadonly], url, { headers: { Accept: resultContainerType } });
      const text = await res.text();
      if (!res.ok) throw new PlatformRequestError(`results request failed with HTTP ${res.status}`, res.status, text.slice(0, 300));
      results.push(...z.array(resultSchema).parse(JSON.parse(text)));
      url = nextLink(res.headers.get('link'));
    }
    const rows: ReconcileRow[] = [];
    const seen = new Set<string>();
    for (const r of results) {
      seen.add(r.userId);
      const learner = bySub.get(r.userId);
      const lms =
        r.resultScore === null || r.resultScore === undefined
          ? undefined
          : Math.round((r.resultScore / (r.resultMaximum ?? 100)) * 10000) / 100;
      const mine = learner ? ours.get(learner.id) : undefined;
      const status =
        mine === undefined
          ? 'only-in-lms'
          : mine === null
            ? lms === undefined
              ? 'match'
              : 'differs'
            : lms === undefined
              ? 'missing-in-lms'
              : Math.abs(mine - lms) < 0.01
                ? 'match'
                : 'differs';
      rows.push({ learner: learner?.name ?? r.userId, userSub: r.userId, competencyId, ours: mine ?? undefined, lms, status });
    }
    for (const learner of learners) {
      const mine = ours.get(learner.id);
      if (mine !== undefined && !seen.has(learner.sub))
        rows.push({
          learner: learner.name,
          userSub: learner.sub,
          competencyId,
          ours: mine ?? undefined,
          lms: undefined,
          status: 'missing-in-lms',
        });
    }
    return rows;
  }

  /** How the background job runner does each kind of job. */
  const jobWork: JobWork = {
    async items(job) {
      const course = await deps.records.findCourse(job.courseId);
      if (!course) throw new Error('the course no longer exists');
      if (job.kind === 'resync') return (await deps.records.listLearners(course.id)).map((l) => l.id);
      return [...(await deps.lineItems.known(course.id)).keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    },
    async runItem(job, item) {
      const course = await deps.records.findCourse(job.courseId);
      if (!course) throw new Error('the course no longer exists');
      if (job.kind === 'resync') {
        await resyncLearner(course, item);
        return {};
      }
      return { rows: await reconcileColumn(course, item) };
    },
    describeError(error) {
      if (error instanceof PlatformRequestError) return `the LMS did not answer as expected (${error.message})`;
      if (error instanceof SyntaxError || error instanceof z.ZodError) return 'the LMS answered with data CoachLTI could not read';
      if (error instanceof Error && error.message === 'the course no longer exists') return error.message;
      return 'an internal error (details are in the server log)';
    },
  };

  return {
    ledger: (scope: AdminScope, filter: LedgerFilter): Promise<OutboxEntry[]> => deps.outbox.list(scoped(scope, filter)),
    counts: (scope: AdminScope, filter: LedgerFilter): Promise<Record<OutboxStatus, number>> => deps.outbox.counts(scoped(scope, filter)),

    /** One ledger entry, or null when it does not exist or is outside the scope. */
    async entry(scope: AdminScope, entryId: string): Promise<OutboxEntry | null> {
      const [entry] = await deps.outbox.list(scoped(scope, { entryId, limit: 1 }));
      return entry ?? null;
    },

    retry: (scope: AdminScope, ids: string[] | 'all-failed'): Promise<number> => deps.outbox.retry(ids, new Date(), scopePlatforms(scope)),

    course: courseIn,

    /** Reads every known competency column now and compares (tests, scripts); the web area queues a job. */
    async reconcileCourse(scope: AdminScope, courseId: string): Promise<ReconcileRow[]> {
      const course = await courseIn(scope, courseId);
      if (!course) return [];
      const rows: ReconcileRow[] = [];
      for (const competencyId of (await deps.lineItems.known(course.id)).keys())
        rows.push(...(await reconcileColumn(course, competencyId)));
      return rows;
    },

    /**
     * Queues a background resync or reconcile of a course (or returns the one already queued or running).
     * Null when the course is outside the scope.
     */
    async requestJob(
      scope: AdminScope,
      kind: JobKind,
      courseId: string,
      requestedBy: string,
    ): Promise<{ job: GradingJob; created: boolean } | null> {
      const course = await courseIn(scope, courseId);
      if (!course) return null;
      const queued = await deps.jobs.enqueue(
        {
          kind,
          platform: { issuer: course.issuer, clientId: course.clientId },
          courseId: course.id,
          courseTitle: course.title,
          requestedBy,
        },
        new Date(),
      );
      if (queued.created) deps.onJobQueued?.();
      return queued;
    },

    job: (scope: AdminScope, jobId: string): Promise<GradingJob | null> => deps.jobs.get(scopePlatforms(scope), jobId),

    jobs: (
      scope: AdminScope,
      options: { courseId?: string; kind?: JobKind; active?: boolean; limit?: number; skip?: number } = {},
    ): Promise<GradingJob[]> => deps.jobs.list(scopePlatforms(scope), options),

    /** The newest job of a kind for a course, with its results. */
    async latestJob(scope: AdminScope, kind: JobKind, courseId: string): Promise<GradingJob | null> {
      const [latest] = await deps.jobs.list(scopePlatforms(scope), { courseId, kind, limit: 1 });
      return latest ? deps.jobs.get(scopePlatforms(scope), latest.id) : null;
    },

    jobWork,

    /** Per learner of a course: synced, pending or failed (with the first reason), for the faculty badge. */
    async courseBadges(
      courseId: string,
    ): Promise<Map<string, { state: 'synced' | 'pending' | 'failed' | 'none'; reason: string | undefined }>> {
      const badges = new Map<string, { state: 'synced' | 'pending' | 'failed' | 'none'; reason: string | undefined }>();
      for (const e of await deps.outbox.forCourse(courseId)) {
        const current = badges.get(e.userId);
        const state = e.status === 'failed' ? 'failed' : e.status === 'pending' || e.status === 'sending' ? 'pending' : 'synced';
        const rank = { failed: 3, pending: 2, synced: 1, none: 0 } as const;
        if (!current || rank[state] > rank[current.state])
          badges.set(e.userId, { state, reason: e.status === 'failed' ? e.reason : undefined });
      }
      return badges;
    },
  };
}

export type GradingAdmin = ReturnType<typeof createGradingAdmin>;
