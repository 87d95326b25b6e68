import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/logger';
import type { ClaimedJob, JobStore, ReconcileRow } from './jobs';

/** What a job kind does, item by item (learners for a resync, competency columns for a reconcile). */
export interface JobWork {
  /** Every item of the job, in order; throwing fails the job with `describeError`. */
  items(job: ClaimedJob): Promise<string[]>;
  /** Does one item; reconcile returns its rows. Throwing counts the item as failed and goes on. */
  runItem(job: ClaimedJob, item: string): Promise<{ rows?: ReconcileRow[] }>;
  /** A message safe to show administrators (no internal hosts or stack text). */
  describeError(error: unknown): string;
}

export interface JobRunnerOptions {
  leaseMs: number;
  idlePollMs: number;
  /** A job claimed this many times without finishing (its process kept dying) is given up. */
  maxAttempts: number;
}

export const defaultJobRunnerOptions: JobRunnerOptions = { leaseMs: 60_000, idlePollMs: 2_000, maxAttempts: 5 };

/**
 * Runs background jobs one at a time in this process (web or `npm run worker`); several processes share
 * the queue through leases. The lease is renewed after every item and by a heartbeat during a slow one.
 */
export function createJobRunner(deps: {
  store: JobStore;
  work: JobWork;
  logger: Logger;
  options?: Partial<JobRunnerOptions>;
  now?: () => number;
}) {
  const options = { ...defaultJobRunnerOptions, ...deps.options };
  const now = deps.now ?? Date.now;
  const owner = `jobs-${randomUUID()}`;
  let started = false;
  let stopping = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;

  async function run(job: ClaimedJob): Promise<void> {
    const log = deps.logger.child({ job: job.id, kind: job.kind, course: job.courseId });
    if (job.attempts > options.maxAttempts) {
      await deps.store.finish(
        job.id,
        owner,
        'failed',
        `gave up after ${options.maxAttempts} attempts (the process running it stopped each time)`,
        new Date(now()),
      );
      log.warn('background job given up');
      return;
    }
    let lost = false;
    const heartbeat = setInterval(
      () => {
        deps.store
          .heartbeat(job.id, owner, new Date(now()), options.leaseMs)
          .then((ours) => {
            if (!ours) lost = true;
          })
          .catch((error: unknown) => log.warn({ err: error }, 'job heartbeat failed'));
      },
      Math.max(50, Math.floor(options.leaseMs / 3)),
    );
    try {
      let items: string[];
      try {
        items = await deps.work.items(job);
      } catch (error) {
        log.warn({ err: error }, 'background job could not start');
        await deps.store.finish(job.id, owner, 'failed', deps.work.describeError(error), new Date(now()));
        return;
      }
      if (!(await deps.store.setTotal(job.id, owner, items.length, new Date(now())))) return;
      const done = new Set(job.processed);
      let failed = 0;
      for (const item of items) {
        if (lost) return; // another runner holds it now
        if (stopping) {
          await deps.store.release(job.id, owner, new Date(now()));
          return;
        }
        if (done.has(item)) continue;
        let outcome: { ok: true; rows?: ReconcileRow[] } | { ok: false; error: string };
        try {
          outcome = { ok: true, rows: (await deps.work.runItem(job, item)).rows };
        } catch (error) {
          log.warn({ err: error, item }, 'background job item failed');
          outcome = { ok: false, error: `${item}: ${deps.work.describeError(error)}` };
          failed += 1;
        }
        if (!(await deps.store.recordItem(job.id, owner, item, outcome, new Date(now()), options.leaseMs))) return;
      }
      const allFailed = items.length > 0 && failed + job.progress.failed >= items.length;
      if (await deps.store.finish(job.id, owner, allFailed ? 'failed' : 'done', undefined, new Date(now())))
        log.info({ items: items.length, failed }, 'background job finished');
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Claims and runs one job; false when none was due. */
  async function runOnce(): Promise<boolean> {
    const job = await deps.store.claim(owner, new Date(now()), options.leaseMs);
    if (!job) return false;
    await run(job);
    return true;
  }

  async function loopUntilStopped(): Promise<void> {
    while (!stopping) {
      const worked = await runOnce().catch((error: unknown) => {
        deps.logger.error({ err: error }, 'background job runner failed');
        return false;
      });
      if (worked || stopping) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.idlePollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  return {
    owner,
    runOnce,
    start(): void {
      if (started) return;
      started = true;
      stopping = false;
      loop = loopUntilStopped();
    },
    /** Wakes an idle runner (a job was queued in this process). */
    nudge(): void {
      wake?.();
    },
    /** Stops after the current item; an unfinished job goes back to the queue for the next runner. */
    async stop(): Promise<void> {
      stopping = true;
      wake?.();
      await loop;
      started = false;
    },
  };
}

export type JobRunner = ReturnType<typeof createJobRunner>;
