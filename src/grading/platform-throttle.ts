import { retryAfterMs } from './score-message';
import type { PlatformClient, PlatformTarget } from '../lti/platform-client';

/** A platform as the LMS sees the tool: issuer + client id (every Canvas instance shares one issuer). */
export const platformKey = (p: { issuer: string; clientId: string }): string => `${p.issuer}#${p.clientId}`;

export interface ThrottleOptions {
  /** Requests per second per platform (0: unlimited). */
  ratePerSecond: number;
  /** Per-platform overrides, keyed by `<issuer>#<client id>`. */
  overrides?: ReadonlyMap<string, number>;
  /** Pause after a 429/503 without Retry-After. */
  defaultPauseMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Bucket {
  rate: number;
  capacity: number;
  tokens: number;
  refilledAt: number;
  pausedUntil: number;
}

/**
 * Per-platform request rate (token bucket) and back-off. A bucket holds a tenth of a second's worth of requests,
 * so any one-second window sees at most 1.1 × the rate. A 429/503 pauses that platform only, for its
 * Retry-After (other platforms keep sending).
 */
export function createPlatformThrottle(options: ThrottleOptions) {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const buckets = new Map<string, Bucket>();

  function bucket(key: string): Bucket {
    let b = buckets.get(key);
    if (!b) {
      const rate = options.overrides?.get(key) ?? options.ratePerSecond;
      const capacity = Math.max(1, rate / 10);
      b = { rate, capacity, tokens: capacity, refilledAt: now(), pausedUntil: 0 };
      buckets.set(key, b);
    }
    return b;
  }

  /** How long before this platform may be sent another request (0: now). */
  function waitMs(key: string): number {
    const b = bucket(key);
    const t = now();
    if (b.pausedUntil > t) return b.pausedUntil - t;
    if (b.rate <= 0) return 0;
    b.tokens = Math.min(b.capacity, b.tokens + ((t - b.refilledAt) * b.rate) / 1000);
    b.refilledAt = t;
    return b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) * 1000) / b.rate);
  }

  return {
    /** Waits for the platform's turn (its rate, any pause) and spends one request. */
    async take(key: string): Promise<void> {
      for (let wait = waitMs(key); wait > 0; wait = waitMs(key)) await sleep(wait);
      const b = bucket(key);
      if (b.rate > 0) b.tokens -= 1;
    },
    /** The platform asked the tool to back off: nothing is sent to it before then. */
    pause(key: string, ms: number): void {
      const b = bucket(key);
      b.pausedUntil = Math.max(b.pausedUntil, now() + ms);
    },
    /** How much longer the platform is paused, in ms (0: not paused); independent of the caller's clock. */
    pauseLeft(key: string): number {
      return Math.max(0, (buckets.get(key)?.pausedUntil ?? 0) - now());
    },
    /** Until when the platform is paused (epoch ms; in the past when it is not). */
    pausedUntil(key: string): number {
      return buckets.get(key)?.pausedUntil ?? 0;
    },
    /** Notes a platform answer: 429, 503 or a 403 rate limit pause the platform for Retry-After. */
    observe(key: string, status: number, retryAfter: string | null, rateLimited403 = false): void {
      if (status === 429 || status === 503 || rateLimited403)
        this.pause(key, retryAfterMs(retryAfter, now()) ?? options.defaultPauseMs ?? 1_000);
    },
  };
}

export type PlatformThrottle = ReturnType<typeof createPlatformThrottle>;

/**
 * The platform client with every AGS request throttled per platform: it waits for the platform's rate and any
 * pause, and a 429/503 answer pauses that platform for its Retry-After.
 */
export function throttledClient(client: PlatformClient, throttle: PlatformThrottle): PlatformClient {
  return {
    ...client,
    async request(platform: PlatformTarget, scopeList: readonly string[], url: string, init?: Parameters<PlatformClient['request']>[3]) {
      const key = platformKey(platform);
      await throttle.take(key);
      const res = await client.request(platform, scopeList, url, init);
      if (res.status === 429 || res.status === 503) throttle.observe(key, res.status, res.headers.get('retry-after'));
      else if (res.status === 403 && /rate limit/i.test(await res.clone().text()))
        throttle.observe(key, res.status, res.headers.get('retry-after'), true);
      return res;
    },
  };
}
