import { randomUUID } from 'node:crypto';
import type { Framework } from '../competencies/framework';
import type { LaunchRecords } from '../courses/launch-records';
import { z } from 'zod';
import type { CourseRecord } from '../courses/launch-records';
import { PlatformRequestError, ScopeNotGrantedError, scopes, type PlatformClient } from '../lti/platform-client';
import { noFaultPoint, type FaultPoint } from '../shared/fault-points';
import type { Logger } from '../shared/logger';
import type { CourseGradingSettings } from './course-settings';
import type { LineItemService } from './line-items';
import type { Outbox, OutboxEntry, OutboxStatus } from './outbox';
import {
  backoffMs,
  classifyResponse,
  configurationReason,
  resultContainerType,
  resultSchema,
  scoreBody,
  scoreContentType,
  scoreMaximum,
  serviceUrl,
  type SendOutcome,
} from './score-message';

export interface WorkerOptions {
  /** Concurrent sends per platform in this process. */
  perPlatformConcurrency: number;
  /** Total concurrent sends in this process. */
  concurrency: number;
  leaseMs: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** Give up (status failed) when an entry has been retried this long. */
  retryHorizonMs: number;
  idlePollMs: number;
}

export const defaultWorkerOptions: WorkerOptions = {
  perPlatformConcurrency: 4,
  concurrency: 8,
  leaseMs: 60_000,
  baseBackoffMs: 2_000,
  maxBackoffMs: 3_600_000,
  retryHorizonMs: 72 * 3_600_000,
  idlePollMs: 1_000,
};

/**
 * Sends outbox entries to the LMS. Entries are claimed with a lease, so several processes can run workers
 * and a crashed worker's entries are picked up again when its lease expires. Delivery is at least once;
 * the score timestamp makes a repeat harmless (the LMS refuses a non-newer timestamp: recorded superseded).
 */
export function createPassbackWorker(deps: {
  outbox: Outbox;
  client: PlatformClient;
  lineItems: LineItemService;
  records: LaunchRecords;
  framework: () => Promise<Framework>;
  /** Faculty's column choices: switched-off columns are neither created nor sent. */
  settings?: Pick<CourseGradingSettings, 'disabledCompetencies'>;
  logger: Logger;
  options?: Partial<WorkerOptions>;
  now?: () => number;
  fault?: FaultPoint;
}) {
  const fault = deps.fault ?? noFaultPoint;
  const options = { ...defaultWorkerOptions, ...deps.options };
  const now = deps.now ?? Date.now;
  const owner = randomUUID();
  const inFlight = new Map<string, number>();
  let running = 0;
  let stopped = true;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;

  /** Thrown when the entry must not be sent at all (the column was switched off). */
  class NotSent extends Error {
    constructor(
      readonly kind: 'skipped' | 'failed',
      reason: string,
    ) {
      super(reason);
    }
  }

  async function resolveLineItem(entry: OutboxEntry, course: CourseRecord): Promise<string> {
    if (entry.target.kind === 'module') {
      if (!entry.target.lineItemUrl) throw new PlatformRequestError('the module has no line item in this LMS link', 404, '');
      return entry.target.lineItemUrl;
    }
    const disabled = (await deps.settings?.disabledCompetencies(entry.courseId)) ?? new Set<string>();
    if (disabled.has(entry.target.id)) throw new NotSent('skipped', 'the column was switched off by faculty');
    const framework = await deps.framework();
    const competency = framework.domains.flatMap((d) => d.competencies).find((c) => c.id === entry.target.id);
    if (!competency) throw new PlatformRequestError(`unknown competency ${entry.target.id}`, 404, '');
    // Only enabled columns are ever created.
    const enabled = framework.domains
      .flatMap((d) => d.competencies.map((c) => ({ id: c.id, name: c.name })))
      .filter((c) => !disabled.has(c.id));
    const map = await deps.lineItems.ensure(course, enabled);
    const url = map.get(competency.id);
    if (!url) throw new PlatformRequestError(`no line item for ${competency.id}`, 404, '');
    return url;
  }

  /**
   * After a 409/400 "not newer": what does the LMS hold for this user? Equal to ours means an earlier try of
   * this very score arrived (its answer was lost): delivered. Otherwise the LMS holds something else.
   */
  async function confirm(entry: OutboxEntry, course: CourseRecord, lineItemUrl: string, reason: string): Promise<SendOutcome> {
    if (!course.agsScopes.includes(scopes.resultReadonly))
      return { kind: 'superseded', reason: `${reason}; not confirmed: the LMS did not grant result reading (result.readonly scope)` };
    try {
      const url = new URL(serviceUrl(lineItemUrl, 'results'));
      url.searchParams.set('user_id', entry.userSub);
      const res = await deps.client.request({ ...entry, agsScopes: course.agsScopes }, [scopes.resultReadonly], url.toString(), {
        headers: { Accept: resultContainerType },
      });
      const text = await res.text();
      if (!res.ok) return { kind: 'superseded', reason: `${reason}; not confirmed: results answered HTTP ${res.status}` };
      const results = z.array(resultSchema).parse(JSON.parse(text));
      const mine = results.find((r) => r.userId === entry.userSub);
      const lms =
        mine?.resultScore === null || mine?.resultScore === undefined
          ? undefined
          : Math.round((mine.resultScore / (mine.resultMaximum ?? scoreMaximum)) * scoreMaximum * 100) / 100;
      const ours = entry.score.scoreGiven;
      if (lms === undefined ? ours === undefined : ours !== undefined && Math.abs(lms - ours) < 0.005)
        return {
          kind: 'sent',
          confirmed: `confirmed: the LMS already holds this score (${lms}) from an earlier try (HTTP 409/400 on the repeat)`,
        };
      return {
        kind: 'superseded',
        reason: `the LMS holds ${lms ?? 'no score'}${mine?.timestamp ? ` (timestamp ${mine.timestamp})` : ''}, ours is ${ours ?? 'no score'} (timestamp ${entry.score.timestamp})`,
      };
    } catch (error) {
      return { kind: 'superseded', reason: `${reason}; not confirmed: ${(error as Error).message.slice(0, 200)}` };
    }
  }

  async function send(entry: OutboxEntry): Promise<void> {
    const started = now();
    let outcome: SendOutcome;
    let httpStatus: number | undefined;
    let excerpt = '';
    try {
      const course = await deps.records.findCourse(entry.courseId);
      if (!course) throw new PlatformRequestError('the course is unknown', 404, '');
      const lineItemUrl = await resolveLineItem(entry, course);
      const res = await deps.client.request({ ...entry, agsScopes: course.agsScopes }, [scopes.score], serviceUrl(lineItemUrl, 'scores'), {
        method: 'POST',
        headers: { 'Content-Type': scoreContentType },
        body: JSON.stringify(
          scoreBody({
            userSub: entry.userSub,
            score: entry.score,
            canvas: entry.productFamily === 'canvas',
            newSubmission: entry.newSubmission,
          }),
        ),
      });
      const text = await res.text();
      // The LMS has answered but nothing is recorded yet: the repeat after a crash must not raise a false alarm.
      fault('mid-send');
      httpStatus = res.status;
      excerpt = text.replace(/\s+/g, ' ').slice(0, 300);
      outcome = classifyResponse(res.status, text, res.headers.get('retry-after'), now());
      if (outcome.kind === 'superseded') outcome = await confirm(entry, course, lineItemUrl, outcome.reason);
    } catch (error) {
      if (error instanceof NotSent) {
        outcome = { kind: error.kind, reason: error.message };
      } else if (error instanceof ScopeNotGrantedError) {
        outcome = { kind: 'failed', reason: configurationReason(error.missing) };
      } else if (error instanceof PlatformRequestError && error.status !== undefined) {
        httpStatus = error.status;
        excerpt = `${error.message} ${error.bodyExcerpt}`.trim().slice(0, 300);
        outcome = classifyResponse(error.status, error.bodyExcerpt, null, now());
      } else {
        // Timeouts, connection resets, DNS: transient.
        excerpt = (error as Error).message.slice(0, 300);
        outcome = { kind: 'retry', delayMs: undefined, reason: `network: ${excerpt}` };
      }
    }
    const finishedAt = now();
    let status: OutboxStatus;
    let reason: string | undefined;
    let next = new Date(finishedAt);
    switch (outcome.kind) {
      case 'sent':
        status = 'sent';
        reason = outcome.confirmed;
        break;
      case 'retry': {
        const age = finishedAt - entry.firstQueuedAt.getTime();
        if (age >= options.retryHorizonMs) {
          status = 'failed';
          reason = `gave up after ${Math.round(age / 3_600_000)} h: ${outcome.reason}`;
        } else {
          status = 'pending';
          reason = outcome.reason;
          next = new Date(finishedAt + (outcome.delayMs ?? backoffMs(entry.attemptCount + 1, options.baseBackoffMs, options.maxBackoffMs)));
        }
        break;
      }
      default:
        status = outcome.kind;
        reason = outcome.reason;
    }
    await deps.outbox.finish(
      entry,
      owner,
      {
        status,
        reason,
        nextAttemptAt: next,
        attempt: { at: new Date(started), version: entry.version, httpStatus, outcome: status, excerpt, durationMs: finishedAt - started },
      },
      new Date(finishedAt),
    );
  }

  async function claimNext(): Promise<OutboxEntry | null> {
    const saturated = [...inFlight.entries()].filter(([, n]) => n >= options.perPlatformConcurrency).map(([issuer]) => issuer);
    return deps.outbox.claim(owner, new Date(now()), options.leaseMs, saturated);
  }

  async function run(): Promise<void> {
    let lastRelease = 0;
    while (!stopped) {
      if (now() - lastRelease > 1000) {
        lastRelease = now();
        await deps.outbox
          .releaseExpiredLeases(new Date(now()))
          .catch((error: unknown) => deps.logger.error({ err: error }, 'lease release failed'));
      }
      let claimed: OutboxEntry | null = null;
      if (running < options.concurrency) {
        claimed = await claimNext().catch((error: unknown) => {
          deps.logger.error({ err: error }, 'outbox claim failed');
          return null;
        });
      }
      if (claimed) {
        const entry = claimed;
        running += 1;
        inFlight.set(entry.issuer, (inFlight.get(entry.issuer) ?? 0) + 1);
        void send(entry)
          .catch((error: unknown) => deps.logger.error({ err: error, entry: entry.id }, 'passback send failed unexpectedly'))
          .finally(() => {
            running -= 1;
            inFlight.set(entry.issuer, (inFlight.get(entry.issuer) ?? 1) - 1);
            wake?.();
          });
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.idlePollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    while (running > 0) await new Promise((r) => setTimeout(r, 20));
  }

  return {
    owner,
    start(): void {
      if (!stopped) return;
      stopped = false;
      loop = run();
    },
    /** Wakes an idle worker (new entries were queued). */
    nudge(): void {
      wake?.();
    },
    async stop(): Promise<void> {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}

export type PassbackWorker = ReturnType<typeof createPassbackWorker>;
