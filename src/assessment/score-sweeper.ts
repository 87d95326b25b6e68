import type { Logger } from '../shared/logger';
import type { AssessmentService } from './assessment-service';

export interface SweeperOptions {
  /** How often owed scores are looked for. */
  intervalMs: number;
  /** Marks younger than this are left to the request that wrote them (it settles them inline). */
  graceMs: number;
}

export const defaultSweeperOptions: SweeperOptions = { intervalMs: 30_000, graceMs: 10_000 };

/**
 * Pays "scores owed" that nobody paid: after a crash between completing an attempt (or a rating, or a
 * resync request) and the outbox write, or after that write failed. Runs once at start-up (every mark,
 * whatever its age) and then on an interval. Settling twice is harmless: versions order the results.
 */
export function createScoreSweeper(deps: {
  assessment: Pick<AssessmentService, 'sweepOwed'>;
  logger: Logger;
  options?: Partial<SweeperOptions>;
}) {
  const options = { ...defaultSweeperOptions, ...deps.options };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  function sweep(graceMs: number): Promise<number> {
    running ??= deps.assessment
      .sweepOwed(graceMs)
      .then((settled) => {
        if (settled > 0) deps.logger.info({ settled }, `owed scores settled for ${settled} learner(s)`);
        return settled;
      })
      .catch((error: unknown) => {
        deps.logger.error({ err: error }, 'owed-scores sweep failed');
        return 0;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  return {
    /** Start-up: settle everything owed, then keep sweeping. */
    async start(): Promise<number> {
      const settled = await sweep(0);
      timer ??= setInterval(() => void sweep(options.graceMs), options.intervalMs);
      timer.unref();
      return settled;
    },
    sweepNow: (graceMs = 0): Promise<number> => sweep(graceMs),
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

export type ScoreSweeper = ReturnType<typeof createScoreSweeper>;
