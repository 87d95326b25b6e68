import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { faultTargets, type FaultPlan, type FaultTarget } from './types';

const rate = z.number().min(0).max(1).optional();
const planSchema = z
  .object({
    seed: z.number().int(),
    rate500: rate,
    rate429: rate,
    retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
    rateReset: rate,
    rateTimeout: rate,
    timeoutDelayMs: z.number().int().min(0).max(600_000).optional(),
    appliesTo: z.array(z.enum(faultTargets)).optional(),
  })
  .strict()
  .refine((p) => (p.rate500 ?? 0) + (p.rate429 ?? 0) + (p.rateReset ?? 0) + (p.rateTimeout ?? 0) <= 1, {
    message: 'the rates add up to more than 1',
  });

export type FaultOutcome = 'ok' | '500' | '429' | 'reset' | 'timeout';

/** mulberry32: tiny, fast and fully determined by the seed, which is all a fault plan needs. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Faults {
  set(plan: FaultPlan): void;
  clear(): void;
  /** Applies the plan to one request; true when the fault answered (or will kill) it. */
  intercept(target: FaultTarget, req: Request, res: Response): boolean;
}

/**
 * Injected failures for resilience tests and benchmarks. One draw per request of an affected kind, in
 * arrival order, so the same seed and the same request sequence give the same outcomes.
 */
export function createFaults(logger: Logger): Faults {
  let plan: z.infer<typeof planSchema> | undefined;
  let next: (() => number) | undefined;

  function draw(target: FaultTarget): FaultOutcome {
    if (!plan || !next) return 'ok';
    if (plan.appliesTo && !plan.appliesTo.includes(target)) return 'ok';
    const r = next();
    let edge = plan.rate500 ?? 0;
    if (r < edge) return '500';
    edge += plan.rate429 ?? 0;
    if (r < edge) return '429';
    edge += plan.rateReset ?? 0;
    if (r < edge) return 'reset';
    edge += plan.rateTimeout ?? 0;
    if (r < edge) return 'timeout';
    return 'ok';
  }

  return {
    set(input) {
      const parsed = planSchema.safeParse(input);
      if (!parsed.success) throw new Error(`invalid fault plan: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
      plan = parsed.data;
      next = mulberry32(plan.seed);
      logger.info({ plan }, 'devplatform: fault plan set');
    },
    clear() {
      plan = undefined;
      next = undefined;
    },
    intercept(target, req, res) {
      const outcome = draw(target);
      if (outcome === 'ok') return false;
      logger.info({ target, outcome, path: req.path }, 'devplatform: injected fault');
      switch (outcome) {
        case '500':
          res.status(500).json({ error: { code: 'injected_fault', message: 'Injected server error (fault plan).' } });
          break;
        case '429':
          res
            .status(429)
            .set('Retry-After', String(plan?.retryAfterSeconds ?? 1))
            .json({ error: { code: 'rate_limited', message: 'Too many requests (fault plan).' } });
          break;
        case 'reset':
          req.socket.destroy();
          break;
        case 'timeout': {
          const timer = setTimeout(() => req.socket.destroy(), plan?.timeoutDelayMs ?? 30_000);
          // The client usually gives up first; then there is nothing left to hold.
          req.socket.once('close', () => clearTimeout(timer));
          break;
        }
      }
      return true;
    },
  };
}
