import { z } from 'zod';
import type { AssessmentService } from '../assessment/assessment-service';
import type { ScoreRepository } from '../assessment/score-repository';
import type { LaunchRecords } from '../courses/launch-records';
import { nextLink } from '../lti/nrps';
import { PlatformRequestError, scopes, type PlatformClient } from '../lti/platform-client';
import type { LineItemService } from './line-items';
import type { LedgerFilter, Outbox, OutboxEntry, OutboxStatus } from './outbox';
import { resultContainerType, serviceUrl } from './score-message';

const resultSchema = z.object({
  userId: z.string(),
  resultScore: z.number().nullable().optional(),
  resultMaximum: z.number().nullable().optional(),
  timestamp: z.string().optional(),
  comment: z.string().nullable().optional(),
});

export interface ReconcileRow {
  learner: string;
  userSub: string;
  competencyId: string;
  ours: number | undefined;
  lms: number | undefined;
  status: 'match' | 'differs' | 'missing-in-lms' | 'only-in-lms';
}

/** What administrators (and faculty, for their course) can do with passback. */
export function createGradingAdmin(deps: {
  outbox: Outbox;
  records: LaunchRecords;
  assessment: AssessmentService;
  scores: ScoreRepository;
  lineItems: LineItemService;
  client: PlatformClient;
}) {
  return {
    ledger: (filter: LedgerFilter): Promise<OutboxEntry[]> => deps.outbox.list(filter),
    counts: (filter: LedgerFilter): Promise<Record<OutboxStatus, number>> => deps.outbox.counts(filter),
    retry: (ids: string[] | 'all-failed'): Promise<number> => deps.outbox.retry(ids, new Date()),

    /** Recomputes every learner's scores in the course and queues them again (Canvas: new_submission false). */
    async resyncCourse(courseId: string): Promise<number> {
      const course = await deps.records.findCourse(courseId);
      if (!course) return 0;
      let learners = 0;
      for (const learner of await deps.records.listLearners(courseId)) {
        await deps.assessment.recompute(
          {
            userId: learner.id,
            courseId,
            issuer: course.issuer,
            clientId: course.clientId,
            deploymentId: course.deploymentId,
            resourceLinkId: undefined,
          },
          { kind: 'resync' },
        );
        learners += 1;
      }
      return learners;
    },

    /** Reads the LMS results of every competency column and lists where they differ from our scores. */
    async reconcileCourse(courseId: string): Promise<ReconcileRow[]> {
      const course = await deps.records.findCourse(courseId);
      if (!course) return [];
      const columns = await deps.lineItems.known(courseId);
      const learners = await deps.records.listLearners(courseId);
      const bySub = new Map(learners.map((l) => [l.sub, l]));
      const ours = new Map<string, Map<string, number>>();
      for (const snapshot of await deps.scores.listForCourse(courseId)) {
        ours.set(snapshot.userId, new Map(snapshot.scores.map((s) => [s.competencyId, s.score])));
      }
      const rows: ReconcileRow[] = [];
      for (const [competencyId, lineItemUrl] of columns) {
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
        const seen = new Set<string>();
        for (const r of results) {
          seen.add(r.userId);
          const learner = bySub.get(r.userId);
          const lms =
            r.resultScore === null || r.resultScore === undefined
              ? undefined
              : Math.round((r.resultScore / (r.resultMaximum ?? 100)) * 10000) / 100;
          const mine = learner ? ours.get(learner.id)?.get(competencyId) : undefined;
          const status =
            mine === undefined ? 'only-in-lms' : lms === undefined ? 'missing-in-lms' : Math.abs(mine - lms) < 0.01 ? 'match' : 'differs';
          rows.push({ learner: learner?.name ?? r.userId, userSub: r.userId, competencyId, ours: mine, lms, status });
        }
        for (const learner of learners) {
          const mine = ours.get(learner.id)?.get(competencyId);
          if (mine !== undefined && !seen.has(learner.sub))
            rows.push({ learner: learner.name, userSub: learner.sub, competencyId, ours: mine, lms: undefined, status: 'missing-in-lms' });
        }
      }
      return rows.sort(
        (a, b) => a.learner.localeCompare(b.learner) || a.competencyId.localeCompare(b.competencyId, 'en', { numeric: true }),
      );
    },

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
