import { createPlatformThrottle } from '../../src/grading/platform-throttle';

/** A throttle on a fake clock: sleeping advances time, nothing really waits. */
function fakeThrottle(ratePerSecond: number, overrides?: Map<string, number>) {
  let t = 1_000_000;
  const throttle = createPlatformThrottle({
    ratePerSecond,
    overrides,
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
  });
  return { throttle, now: () => t };
}

function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i += 1) {
    while (times[i]! - times[j]! >= windowMs) j += 1;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('per-platform request throttle', () => {
  test('when 100 requests go to a platform limited to 20 per second, then no one-second window holds more than 22 of them', async () => {
    const { throttle, now } = fakeThrottle(20);
    const times: number[] = [];
    for (let i = 0; i < 100; i += 1) {
      await throttle.take('lms#1');
      times.push(now());
    }
    expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(22);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(4_800);
  });

  test('when one platform has an override, then it gets its own rate and the others the default', async () => {
    const { throttle, now } = fakeThrottle(1000, new Map([['slow#1', 5]]));
    const start = now();
    for (let i = 0; i < 11; i += 1) await throttle.take('slow#1');
    expect(now() - start).toBeGreaterThanOrEqual(1_800);
    const fastStart = now();
    for (let i = 0; i < 100; i += 1) await throttle.take('fast#1');
    expect(now() - fastStart).toBeLessThan(200);
  });

  test('when a platform answers 429 with Retry-After 3, then that platform waits 3 s and another platform does not wait', async () => {
    const { throttle, now } = fakeThrottle(0);
    throttle.observe('busy#1', 429, '3');
    expect(throttle.pausedUntil('busy#1')).toBe(now() + 3_000);
    const other = now();
    await throttle.take('calm#1');
    expect(now()).toBe(other);
    const before = now();
    await throttle.take('busy#1');
    expect(now() - before).toBe(3_000);
  });

  test('when a platform answers 503 with an HTTP date or 429 without Retry-After, then it pauses until that date or for one second', async () => {
    const { throttle, now } = fakeThrottle(0);
    throttle.observe('a#1', 503, new Date(now() + 5_000).toUTCString());
    // An HTTP date has whole seconds: the pause ends within the second before the stated time.
    expect(throttle.pausedUntil('a#1') - now()).toBeGreaterThan(3_999);
    expect(throttle.pausedUntil('a#1') - now()).toBeLessThanOrEqual(5_000);
    throttle.observe('b#1', 429, null);
    expect(throttle.pausedUntil('b#1') - now()).toBe(1_000);
    throttle.observe('c#1', 500, '30');
    expect(throttle.pausedUntil('c#1')).toBe(0);
  });
});
