import type { Connection } from 'mongoose';
import type { Logger } from '../shared/logger';

/**
 * Short-lived records the tool and ltijs write on every login and launch. Real MongoDB would expire some of
 * them by TTL index, the embedded database never does, and some have no TTL at all: a periodic sweep keeps
 * every one of these collections bounded on both.
 */
export interface SweepRule {
  collection: string;
  /** Date field compared with the cut-off. */
  field: string;
  /** Documents whose field is older than this are removed; 0 means "older than now" (an expiry date). */
  maxAgeMs: number;
  why: string;
}

const minute = 60_000;
const hour = 60 * minute;

export const sweepRules: readonly SweepRule[] = Object.freeze([
  {
    collection: 'lti_login_attempts',
    field: 'createdAt',
    maxAgeMs: hour,
    why: 'login state and nonce; a launch must answer within 10 minutes',
  },
  { collection: 'lti_nonces', field: 'createdAt', maxAgeMs: hour, why: 'replay guard; tokens older than 10 minutes are refused anyway' },
  { collection: 'states', field: 'createdAt', maxAgeMs: 10 * minute, why: "ltijs login state (ltijs's TTL: 10 minutes)" },
  { collection: 'nonces', field: 'createdAt', maxAgeMs: 10 * minute, why: 'ltijs nonces (unused: CoachLTI checks nonces itself)' },
  { collection: 'idtokens', field: 'createdAt', maxAgeMs: 24 * hour, why: "ltijs launch records (ltijs's TTL: 24 hours)" },
  { collection: 'contexttokens', field: 'createdAt', maxAgeMs: 24 * hour, why: "ltijs context records (ltijs's TTL: 24 hours)" },
  { collection: 'accesstokens', field: 'createdAt', maxAgeMs: hour, why: "ltijs's cached LMS access tokens (1 hour)" },
  { collection: 'sessions', field: 'expires', maxAgeMs: 0, why: 'expired sessions (connect-mongo sets the expiry)' },
  {
    collection: 'lti_deep_link_responses',
    field: 'createdAt',
    maxAgeMs: 9 * hour,
    why: 'spent deep-linking launches (tokens live 8 hours)',
  },
]);

export interface Housekeeping {
  /** One pass over every rule; returns documents removed per collection. */
  sweep(now?: Date): Promise<Record<string, number>>;
  start(intervalMs?: number): void;
  stop(): void;
}

export function createHousekeeping(deps: { connection: Connection; logger: Logger; rules?: readonly SweepRule[] }): Housekeeping {
  const rules = deps.rules ?? sweepRules;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;

  async function sweep(now = new Date()): Promise<Record<string, number>> {
    const db = deps.connection.db;
    if (!db) return {};
    const removed: Record<string, number> = {};
    for (const rule of rules) {
      const cutoff = new Date(now.getTime() - rule.maxAgeMs);
      const result = await db.collection(rule.collection).deleteMany({ [rule.field]: { $lt: cutoff } });
      removed[rule.collection] = result.deletedCount;
    }
    const total = Object.values(removed).reduce((a, b) => a + b, 0);
    if (total > 0) deps.logger.info({ removed }, `housekeeping removed ${total} expired record(s)`);
    return removed;
  }

  return {
    sweep,
    start(intervalMs = 10 * minute) {
      if (timer) return;
      const tick = () => {
        if (running) return;
        running = sweep()
          .catch((error: unknown) => deps.logger.warn({ err: error }, 'housekeeping sweep failed; will try again'))
          .finally(() => (running = undefined));
      };
      tick();
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
