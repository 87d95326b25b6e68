import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
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
import { platformKey, type PlatformThrottle } from './platform-throttle';
import {
  backoffMs,
  classifyResponse,
  configurationReason,
  lineItemContentType,
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
  /** Entries claimed per outbox round trip. */
  batchSize: number;
  /** Results are recorded in one bulk write per this many ms (or per 50 results). */
  finishFlushMs: number;
  /** How long a course's line items are trusted without asking (a 404 on a column refetches at once). */
  lineItemCacheMs: number;
  leaseMs: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** Give up (status failed) when an entry has been retried this long. */
  retryHorizonMs: number;
  idlePollMs: number;
}

export const defaultWorkerOptions: WorkerOptions = {
  perPlatformConcurrency: 8,
  concurrency: 16,
  batchSize: 100,
  finishFlushMs: 20,
  lineItemCacheMs: 300_000,
  leaseMs: 60_000,
  baseBackoffMs: 2_000,
  maxBackoffMs: 3_600_000,
  retryHorizonMs: 72 * 3_600_000,
  idlePollMs: 1_000,
};

/**
 * Sends outbox entries to the LMS. Entries are claimed in batches with a lease, so several processes can run
 * workers and a crashed worker's entries are picked up again when its lease expires. Delivery is at least once;
 * the score timestamp makes a repeat harmless (the LMS refuses a non-newer timestamp: recorded superseded).
 * Per score it does no database work but its share of one batch claim and one bulk result write: the course,
 * the column choices and the line items are cached (briefly, or until the LMS answers 404 for a column).
 */
export function createPassbackWorker(deps: {
  outbox: Outbox;
  /** Ideally throttled (throttledClient): every request then respects the platform's rate and Retry-After. */
  client: PlatformClient;
  lineItems: LineItemService;
  records: LaunchRecords;
  framework: () => Promise<Framework>;
  /** Faculty's column choices: switched-off columns are neither created nor sent. */
  settings?: Pick<CourseGradingSettings, 'disabledCompetencies'>;
  /** The throttle behind `client`: paused platforms are not claimed for, and their queued entries handed back. */
  throttle?: Pick<PlatformThrottle, 'pauseLeft'>;
  logger: Logger;
  options?: Partial<WorkerOptions>;
  now?: () => number;
  fault?: FaultPoint;
}) {
  const fault = deps.fault ?? noFaultPoint;
  const options = { ...defaultWorkerOptions, ...deps.options };
  const now = deps.now ?? Date.now;
  const owner = randomUUID();
  let running = 0;
  let queued = 0;
  /** Until then, claiming for platforms other than those in hand is known to find nothing (see claimMore). */
  let othersQuietUntil = 0;
  let stopped = true;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;

  interface Lane {
    platform: { issuer: string; clientId: string };
    entries: { entry: OutboxEntry; leaseUntil: number }[];
    inFlight: number;
  }
  const lanes = new Map<string, Lane>();
  /** Entries this worker leases (queued, in flight or awaiting their recorded result): renewed every second. */
  const held = new Map<string, Lane['entries'][number]>();
  // Cache ages use the real clock: tests may freeze `now`, which schedules retries, not cache lifetimes.
  const clock = (): number => performance.now();

  /** Short-lived memo with single flight: many sends of one course share one read. */
  function memo<T>(ttlMs: number, load: (key: string) => Promise<T>) {
    const cache = new Map<string, { at: number; value: Promise<T> }>();
    return {
      get(key: string): Promise<T> {
        const hit = cache.get(key);
        if (hit && clock() - hit.at < ttlMs) return hit.value;
        const value = load(key);
        cache.set(key, { at: clock(), value });
        value.catch(() => cache.delete(key));
        return value;
      },
      drop(key: string): void {
        cache.delete(key);
      },
    };
  }
  // Course records carry the granted scopes (renewed at each launch); column choices change on the dashboard.
  const courses = memo(2_000, (id) => deps.records.findCourse(id));
  const disabledOf = memo(2_000, async (id) => (await deps.settings?.disabledCompetencies(id)) ?? new Set<string>());
  const framework = memo(60_000, () => deps.framework());
  const lineItemMaps = new Map<string, { at: number; map: Promise<Map<string, string>> }>();

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
    let disabled = await disabledOf.get(entry.courseId);
    if (disabled.has(entry.target.id)) {
      // A skip is final for this entry: decide it on fresh settings, not on a copy from before faculty switched it on.
      disabledOf.drop(entry.courseId);
      disabled = await disabledOf.get(entry.courseId);
      if (disabled.has(entry.target.id)) throw new NotSent('skipped', 'the column was switched off by faculty');
    }
    const fw = await framework.get('');
    const competency = fw.domains.flatMap((d) => d.competencies).find((c) => c.id === entry.target.id);
    if (!competency) throw new PlatformRequestError(`unknown competency ${entry.target.id}`, 404, '');
    // Only enabled columns are ever created.
    const enabled = fw.domains.flatMap((d) => d.competencies.map((c) => ({ id: c.id, name: c.name }))).filter((c) => !disabled.has(c.id));
    const url = (await lineItemMap(course, enabled, competency.id)).get(competency.id);
    if (!url) throw new PlatformRequestError(`no line item for ${competency.id}`, 404, '');
    return url;
  }

  /** The course's columns from the cache, or one ensure per course at a time (a missing column asks again once). */
  async function lineItemMap(
    course: CourseRecord,
    enabled: { id: string; name: string }[],
    competencyId: string,
  ): Promise<Map<string, string>> {
    for (let round = 0; ; round += 1) {
      let cached = lineItemMaps.get(course.id);
      if (!cached || clock() - cached.at >= options.lineItemCacheMs) {
        const mine = { at: clock(), map: deps.lineItems.ensure(course, enabled) };
        mine.map.catch(() => {
          if (lineItemMaps.get(course.id) === mine) lineItemMaps.delete(course.id);
        });
        lineItemMaps.set(course.id, mine);
        cached = mine;
      }
      const map = await cached.map;
      if (map.has(competencyId) || round === 1) return map;
      if (lineItemMaps.get(course.id) === cached) lineItemMaps.delete(course.id);
    }
  }

  /** After a 404 on a competency column: is the column gone from the LMS? Then it is forgotten (and recreated). */
  async function columnGone(entry: OutboxEntry, course: CourseRecord, lineItemUrl: string): Promise<boolean> {
    const readScope = course.agsScopes.includes(scopes.lineItem) ? scopes.lineItem : scopes.lineItemReadonly;
    try {
      const res = await deps.client.request({ ...entry, agsScopes: course.agsScopes }, [readScope], lineItemUrl, {
        headers: { Accept: lineItemContentType },
      });
      await res.text();
      if (res.status !== 404) return false;
    } catch {
      return false;
    }
    lineItemMaps.delete(course.id);
    await deps.lineItems.forget(course.id, entry.target.id, lineItemUrl);
    return true;
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

  async function post(entry: OutboxEntry, course: CourseRecord, lineItemUrl: string): Promise<{ res: Response; text: string }> {
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
    return { res, text: await res.text() };
  }

  // Results are recorded in bulk: one write per flush instead of one per score.
  let finishes: Parameters<Outbox['finishMany']>[1] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  function flush(): Promise<void> {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    const items = finishes;
    finishes = [];
    if (items.length > 0)
      flushing = flushing
        .then(() => deps.outbox.finishMany(owner, items))
        // Unrecorded sends keep the lease until it runs out (no longer renewed), then are sent again: at least once.
        .catch((error: unknown) => deps.logger.error({ err: error, count: items.length }, 'recording passback results failed'))
        .then(() => items.forEach((i) => held.delete(i.entry.id)));
    return flushing;
  }
  function recordFinish(item: Parameters<Outbox['finishMany']>[1][number]): void {
    finishes.push(item);
    if (finishes.length >= 50) void flush();
    else flushTimer ??= setTimeout(() => void flush(), options.finishFlushMs);
  }

  async function send(entry: OutboxEntry): Promise<void> {
    const started = now();
    let outcome: SendOutcome;
    let httpStatus: number | undefined;
    let excerpt = '';
    try {
      const course = await courses.get(entry.courseId);
      if (!course) throw new PlatformRequestError('the course is unknown', 404, '');
      let lineItemUrl = await resolveLineItem(entry, course);
      let { res, text } = await post(entry, course, lineItemUrl);
      // The LMS deleted the column: recreate it once and send again.
      if (res.status === 404 && entry.target.kind === 'competency' && (await columnGone(entry, course, lineItemUrl))) {
        lineItemUrl = await resolveLineItem(entry, course);
        ({ res, text } = await post(entry, course, lineItemUrl));
      }
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
    recordFinish({
      entry,
      result: {
        status,
        reason,
        nextAttemptAt: next,
        attempt: { at: new Date(started), version: entry.version, httpStatus, outcome: status, excerpt, durationMs: finishedAt - started },
      },
      now: new Date(finishedAt),
    });
  }

  // On the worker's clock (tests may set it), whatever clock the throttle keeps.
  const pausedUntil = (key: string): number => {
    const left = deps.throttle?.pauseLeft(key) ?? 0;
    return left > 0 ? now() + left : 0;
  };

  /** Starts sends from the lanes up to the limits; hands back what a paused platform or a short lease cannot send. */
  function pump(): void {
    const t = now();
    for (const [key, lane] of lanes) {
      const paused = pausedUntil(key);
      // Sending late would outlive the lease (another worker may then take the entry): hand it back instead.
      const margin = options.leaseMs / 4;
      const giveBack = lane.entries.filter((c) => paused > t || c.leaseUntil - t < margin);
      if (giveBack.length > 0) {
        lane.entries = lane.entries.filter((c) => !giveBack.includes(c));
        queued -= giveBack.length;
        for (const c of giveBack) held.delete(c.entry.id);
        deps.outbox
          .release(
            giveBack.map((c) => c.entry.id),
            owner,
            new Date(Math.max(paused, t)),
            new Date(t),
          )
          .catch((error: unknown) => deps.logger.error({ err: error }, 'handing back passback entries failed'));
      }
      while (lane.entries.length > 0 && lane.inFlight < options.perPlatformConcurrency && running < options.concurrency) {
        const { entry } = lane.entries.shift()!;
        queued -= 1;
        running += 1;
        lane.inFlight += 1;
        void send(entry)
          .catch((error: unknown) => deps.logger.error({ err: error, entry: entry.id }, 'passback send failed unexpectedly'))
          .finally(() => {
            running -= 1;
            lane.inFlight -= 1;
            pump();
            wake?.();
          });
      }
      if (lane.entries.length === 0 && lane.inFlight === 0) lanes.delete(key);
    }
  }

  async function claimMore(): Promise<number> {
    const t = now();
    // Entries in hand: several rounds of sends, and at least a whole batch per platform, so a claim (on the
    // embedded database a scan and sort of the due entries) brings a full batch rather than a few entries.
    // A platform with enough in hand (or paused) is not claimed for.
    const holdPerPlatform = Math.max(options.perPlatformConcurrency * 4, options.batchSize);
    const room = Math.max(options.concurrency * 4, options.batchSize * 2) - running - queued;
    if (room < Math.min(options.batchSize, options.concurrency * 2)) return 0;
    const exclude = [...lanes.entries()]
      .filter(([key, lane]) => pausedUntil(key) > t || lane.entries.length + lane.inFlight >= holdPerPlatform)
      .map(([, lane]) => lane.platform);
    // Every platform in hand is full and the last claim found nothing for any other: a claim now would only
    // cost a query (a scan on the embedded database) per finished send. Ask again after a short while, or
    // as soon as a platform's lane has room (it is then no longer excluded).
    if (exclude.length > 0 && exclude.length === lanes.size && t < othersQuietUntil) return 0;
    const leaseUntil = t + options.leaseMs;
    const claimed = await deps.outbox.claimBatch(owner, new Date(t), options.leaseMs, Math.min(options.batchSize, room), exclude);
    if (claimed.length === 0 && exclude.length > 0) othersQuietUntil = t + Math.min(options.idlePollMs, 200);
    for (const entry of claimed) {
      const key = platformKey(entry);
      let lane = lanes.get(key);
      if (!lane) {
        lane = { platform: { issuer: entry.issuer, clientId: entry.clientId }, entries: [], inFlight: 0 };
        lanes.set(key, lane);
      }
      const claimed = { entry, leaseUntil };
      lane.entries.push(claimed);
      held.set(entry.id, claimed);
      queued += 1;
    }
    pump();
    return claimed.length;
  }

  async function run(): Promise<void> {
    let lastRelease = 0;
    while (!stopped) {
      if (now() - lastRelease > 1000) {
        lastRelease = now();
        const until = now() + options.leaseMs;
        const mine = [...held.values()];
        await deps.outbox
          .renew(
            mine.map((c) => c.entry.id),
            owner,
            new Date(until),
          )
          .then(() => mine.forEach((c) => (c.leaseUntil = until)))
          .catch((error: unknown) => deps.logger.error({ err: error }, 'lease renewal failed'));
        await deps.outbox
          .releaseExpiredLeases(new Date(now()))
          .catch((error: unknown) => deps.logger.error({ err: error }, 'lease release failed'));
      }
      const claimed = await claimMore().catch((error: unknown) => {
        deps.logger.error({ err: error }, 'outbox claim failed');
        return 0;
      });
      if (claimed > 0) continue;
      // Nothing due, or enough in hand: wait for a send to finish, a nudge, or the poll interval.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, running + queued > 0 ? Math.min(options.idlePollMs, 50) : options.idlePollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    // Stopping: what is claimed but not started goes back at once; what is in flight finishes and is recorded.
    const left = [...lanes.values()].flatMap((lane) => lane.entries.splice(0).map((c) => c.entry.id));
    queued = 0;
    for (const id of left) held.delete(id);
    await deps.outbox
      .release(left, owner, new Date(now()), new Date(now()))
      .catch((error: unknown) => deps.logger.error({ err: error }, 'handing back passback entries failed'));
    while (running > 0) await new Promise((r) => setTimeout(r, 20));
    await flush();
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
