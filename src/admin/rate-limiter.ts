import type { RequestHandler } from 'express';
import { AppError } from '../shared/errors';

export class TooManyRequestsError extends AppError {
  readonly status = 429;
  readonly code = 'too_many_requests';
  readonly title = 'Too many attempts';
}

/**
 * A small in-memory sliding-window limiter: at most `max` hits per key within `windowMs`.
 * Per process (several processes each allow `max`), which is enough to slow password guessing.
 */
export function createRateLimiter(options: { max: number; windowMs: number; now?: () => number; maxKeys?: number }) {
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 50_000;
  const hits = new Map<string, number[]>();

  function sweep(at: number): void {
    for (const [key, times] of hits) {
      const live = times.filter((t) => t > at - options.windowMs);
      if (live.length === 0) hits.delete(key);
      else hits.set(key, live);
    }
  }

  return {
    /** Records a hit; returns whether it is allowed and, if not, the seconds until it would be. */
    hit(key: string): { allowed: boolean; retryAfterSeconds: number } {
      const at = now();
      if (hits.size >= maxKeys) sweep(at);
      const live = (hits.get(key) ?? []).filter((t) => t > at - options.windowMs);
      if (live.length >= options.max) {
        hits.set(key, live);
        const oldest = live[0] ?? at;
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + options.windowMs - at) / 1000)) };
      }
      live.push(at);
      hits.set(key, live);
      return { allowed: true, retryAfterSeconds: 0 };
    },
    reset(): void {
      hits.clear();
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

/** Express middleware: 429 with Retry-After once the client's IP has used up its allowance. */
export function rateLimit(limiter: RateLimiter, message: string): RequestHandler {
  return (req, res, next) => {
    const result = limiter.hit(req.ip ?? req.socket.remoteAddress ?? 'unknown');
    if (result.allowed) {
      next();
      return;
    }
    res.setHeader('Retry-After', String(result.retryAfterSeconds));
    next(new TooManyRequestsError(message));
  };
}
