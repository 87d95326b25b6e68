import { globalScope } from '../admin/admin-scope';
import type { Logger } from '../shared/logger';
import type { PrivacyService } from './privacy-service';

/**
 * The scheduled retention sweep (no TTL indexes: the embedded database has none, and a sweep can keep
 * scores while deleting texts). Runs in the web process and in `npm run worker`; two processes sweeping
 * at once do the same idempotent $unsets.
 */
export function createRetentionSweeper(deps: { privacy: PrivacyService; logger: Logger; intervalMs: number }) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const sweep = async (): Promise<number> => {
    const deleted = await deps.privacy.runRetention(globalScope, 'system:retention-sweep');
    if (deleted.length > 0) deps.logger.info({ texts: deleted.length }, `retention sweep deleted ${deleted.length} free text(s)`);
    return deleted.length;
  };
  const tick = (): void => {
    running = sweep()
      .then(() => undefined)
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'retention sweep failed; it runs again at the next interval'));
  };
  return {
    sweep,
    start(): void {
      if (deps.intervalMs <= 0 || timer) return;
      timer = setInterval(tick, deps.intervalMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

export type RetentionSweeper = ReturnType<typeof createRetentionSweeper>;
