import { randomUUID } from 'node:crypto';
import { Schema, Types, type Connection, type Model } from 'mongoose';
import type { ScoreFields } from './score-message';

/**
 * The durable passback outbox: one entry per (course, learner, gradebook column). A newer score replaces a
 * pending older one (coalescing), so the LMS receives the latest value, not a queue of stale ones.
 */
export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'superseded' | 'skipped';
export const outboxStatuses: OutboxStatus[] = ['pending', 'sending', 'sent', 'failed', 'superseded', 'skipped'];

export interface AttemptRecord {
  at: Date;
  version: number;
  httpStatus: number | undefined;
  outcome: string;
  excerpt: string;
  durationMs: number;
}

export interface OutboxTarget {
  kind: 'competency' | 'module';
  /** Competency id (C2.2) or module id (M01). */
  id: string;
  /** Known at enqueue for module columns; competency columns are resolved at send time. */
  lineItemUrl: string | undefined;
}

export interface OutboxEntry {
  id: string;
  key: string;
  issuer: string;
  clientId: string;
  productFamily: string | undefined;
  courseId: string;
  contextId: string;
  courseTitle: string;
  userId: string;
  userSub: string;
  userName: string;
  target: OutboxTarget;
  score: ScoreFields;
  version: number;
  newSubmission: boolean;
  status: OutboxStatus;
  reason: string | undefined;
  attemptCount: number;
  attempts: AttemptRecord[];
  nextAttemptAt: Date;
  firstQueuedAt: Date;
  updatedAt: Date;
  sentAt: Date | undefined;
}

type OutboxDoc = Omit<OutboxEntry, 'id'> & { _id: Types.ObjectId; lease?: { owner: string; claim?: string; until: Date } | null };

export type EnqueueInput = Omit<
  OutboxEntry,
  'id' | 'key' | 'status' | 'reason' | 'attemptCount' | 'attempts' | 'nextAttemptAt' | 'firstQueuedAt' | 'updatedAt' | 'sentAt'
>;

export interface LedgerFilter {
  /** Administrator scope: only these platforms (issuer + client id); an empty list matches nothing. */
  platforms?: { issuer: string; clientId: string }[];
  entryId?: string;
  issuer?: string;
  courseId?: string;
  userId?: string;
  /** Any of these courses or learners (a search by title, name or email resolved to ids). */
  courseIds?: string[];
  userIds?: string[];
  target?: string;
  status?: OutboxStatus;
  from?: Date;
  to?: Date;
  limit?: number;
  skip?: number;
}

export function outboxKey(
  courseId: string,
  userId: string,
  target: { kind: string; id: string; lineItemUrl?: string | undefined },
): string {
  // A module may be linked twice in a course with two line items: each is its own column.
  const column = target.kind === 'module' && target.lineItemUrl ? `@${target.lineItemUrl}` : '';
  return `${courseId}|${userId}|${target.kind}:${target.id}${column}`;
}

/**
 * The next AGS timestamp of a column: the proposed one (when computed), or 1 ms after the last one queued
 * if the clock went back. Moodle compares timestamps to the second, so there the step is a whole second.
 */
export function nextTimestamp(proposed: string, last: string | undefined, productFamily: string | undefined): string {
  const at = Date.parse(proposed);
  if (last === undefined || Number.isNaN(Date.parse(last))) return new Date(at).toISOString();
  const step = productFamily === 'moodle' ? 1000 : 1;
  return new Date(Math.max(at, Date.parse(last) + step)).toISOString();
}

function sameScore(existing: OutboxDoc, input: EnqueueInput): boolean {
  const a = existing.score;
  const b = input.score;
  return (
    a !== undefined &&
    a.scoreGiven === b.scoreGiven &&
    a.activityProgress === b.activityProgress &&
    a.gradingProgress === b.gradingProgress &&
    a.comment === b.comment &&
    existing.target?.lineItemUrl === input.target.lineItemUrl
  );
}

const toEntry = (d: OutboxDoc): OutboxEntry => {
  // The lease is the worker's business, not the ledger's.
  const rest: Partial<OutboxDoc> = { ...d };
  delete rest.lease;
  delete rest._id;
  return { ...(rest as Omit<OutboxDoc, '_id' | 'lease'>), id: d._id.toHexString() };
};

export function createOutbox(connection: Connection) {
  const model: Model<OutboxDoc> =
    (connection.models.PassbackOutbox as Model<OutboxDoc> | undefined) ??
    connection.model<OutboxDoc>(
      'PassbackOutbox',
      new Schema<OutboxDoc>({}, { collection: 'passback_outbox', versionKey: false, strict: false }),
    );

  /**
   * Writes the newest score for its key. An older (or equal) version never replaces a newer one; a newer one
   * resets the entry (an in-flight send of the older one then records only its attempt).
   * The AGS timestamp strictly increases per key whatever the clocks do: max(proposed, last + step).
   * Compare-and-set on the stored version; a first insert that loses the race retries as an update.
   */
  async function write(
    input: EnqueueInput,
    now: Date,
    options: { skipUnchanged?: boolean; status: 'pending' | 'skipped'; reason: string | undefined },
  ): Promise<'queued' | 'stale' | 'unchanged'> {
    const key = outboxKey(input.courseId, input.userId, input.target);
    for (let round = 0; round < 20; round += 1) {
      const existing = await model.findOne({ key }).lean<OutboxDoc>();
      if (existing && typeof existing.version === 'number' && existing.version >= input.version) return 'stale';
      if (existing && options.skipUnchanged && sameScore(existing, input) && ['pending', 'sending', 'sent'].includes(existing.status))
        return 'unchanged';
      const timestamp = nextTimestamp(input.score.timestamp, existing?.score?.timestamp, input.productFamily);
      // The 72 h give-up window counts from the first time this delivery was queued, not from every update.
      const undelivered = existing && (existing.status === 'pending' || existing.status === 'sending');
      const set = {
        ...input,
        score: { ...input.score, timestamp },
        key,
        status: options.status,
        ...(options.reason === undefined ? {} : { reason: options.reason }),
        nextAttemptAt: now,
        firstQueuedAt: undelivered ? existing.firstQueuedAt : now,
        updatedAt: now,
      };
      if (existing) {
        const updated = await model.updateOne(
          { _id: existing._id, version: existing.version },
          { $set: set, ...(options.reason === undefined ? { $unset: { reason: 1 } } : {}) },
        );
        if (updated.modifiedCount === 1) return 'queued';
        continue;
      }
      try {
        await model.create({ ...set, attempts: [], attemptCount: 0 });
        return 'queued';
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
        // Another writer inserted first: read it and compare versions again.
      }
    }
    throw new Error(`outbox entry ${key} is contended: gave up after 20 rounds`);
  }

  /** One write per entry, by _id, only while `owner` holds its lease (each a single-document guard). */
  async function whileLeasedBy(ids: string[], owner: string, update: Record<string, unknown>): Promise<void> {
    if (ids.length === 0) return;
    await model.bulkWrite(
      ids.map((id) => ({ updateOne: { filter: { _id: new Types.ObjectId(id), 'lease.owner': owner }, update } })),
      { ordered: false },
    );
  }

  return {
    enqueue(input: EnqueueInput, now: Date, options: { skipUnchanged?: boolean } = {}): Promise<'queued' | 'stale' | 'unchanged'> {
      return write(input, now, { ...options, status: 'pending', reason: undefined });
    },

    /**
     * enqueue() for one learner's scores at once (a recomputation's 13+ columns): one read of their keys and
     * one insert of the new ones; entries that exist (or were inserted meanwhile) take the one-by-one path,
     * with the same ordering rules.
     */
    async enqueueMany(
      inputs: EnqueueInput[],
      now: Date,
      options: { skipUnchanged?: boolean } = {},
    ): Promise<('queued' | 'stale' | 'unchanged')[]> {
      const keys = inputs.map((i) => outboxKey(i.courseId, i.userId, i.target));
      const existing = new Set((await model.find({ key: { $in: keys } }, { key: 1 }).lean<{ key: string }[]>()).map((d) => d.key));
      const fresh = inputs
        .map((input, i) => ({ input, i, key: keys[i]! }))
        .filter((x) => !existing.has(x.key) && keys.indexOf(x.key) === x.i);
      const out: ('queued' | 'stale' | 'unchanged' | undefined)[] = inputs.map(() => undefined);
      if (fresh.length > 0) {
        const docs = fresh.map(({ input, key }) => ({
          ...input,
          score: { ...input.score, timestamp: nextTimestamp(input.score.timestamp, undefined, input.productFamily) },
          key,
          status: 'pending',
          nextAttemptAt: now,
          firstQueuedAt: now,
          updatedAt: now,
          attempts: [],
          attemptCount: 0,
        }));
        try {
          // ignoreUndefined: stored exactly as create() stores them (no nulls for absent fields).
          await model.collection.insertMany(docs, { ordered: false, ignoreUndefined: true });
          for (const { i } of fresh) out[i] = 'queued';
        } catch (error) {
          // Some keys were inserted by another writer first: those go through write() below.
          const reported = (error as { writeErrors?: { index: number; code?: number } | { index: number; code?: number }[] }).writeErrors;
          const writeErrors = reported === undefined ? undefined : Array.isArray(reported) ? reported : [reported];
          if (!writeErrors || writeErrors.some((w) => w.code !== 11000)) throw error;
          const failed = new Set(writeErrors.map((w) => w.index));
          fresh.forEach(({ i }, n) => {
            if (!failed.has(n)) out[i] = 'queued';
          });
        }
      }
      for (const [i, input] of inputs.entries())
        if (out[i] === undefined) out[i] = await write(input, now, { ...options, status: 'pending', reason: undefined });
      return out as ('queued' | 'stale' | 'unchanged')[];
    },

    /** Records an entry that is not sent at all (a non-learner), so the ledger shows why. Same ordering rules. */
    async recordSkipped(input: EnqueueInput, reason: string, now: Date): Promise<void> {
      await write(input, now, { status: 'skipped', reason });
    },

    /**
     * Returns sending entries whose worker died (lease expired) to pending, and frees pending entries whose
     * lease expired (a newer score arrived while a worker that has since died was sending the older one).
     */
    async releaseExpiredLeases(now: Date): Promise<number> {
      const result = await model.updateMany(
        { status: 'sending', 'lease.until': { $lt: now } },
        { $set: { status: 'pending', lease: null, updatedAt: now } },
      );
      await model.updateMany({ status: 'pending', 'lease.until': { $lt: now } }, { $set: { lease: null } });
      return result.modifiedCount;
    },

    /**
     * Claims up to `limit` due entries in two steps: read the ids of due entries, then one bulk write that takes
     * each of them only if it is still pending and free (per document atomic, so two workers never both win
     * one), stamped with a fresh claim token; the entries won are those carrying that token. No transaction.
     * `exclude`: platforms (issuer + client id) this worker cannot send to now (saturated or paused).
     */
    async claimBatch(
      owner: string,
      now: Date,
      leaseMs: number,
      limit: number,
      exclude: { issuer: string; clientId: string }[] = [],
    ): Promise<OutboxEntry[]> {
      // Free: no lease (an expired one is cleared by releaseExpiredLeases).
      const due = await model
        .find(
          {
            status: 'pending',
            nextAttemptAt: { $lte: now },
            ...(exclude.length > 0 ? { $nor: exclude.map((p) => ({ issuer: p.issuer, clientId: p.clientId })) } : {}),
            'lease.owner': null,
          },
          { _id: 1 },
        )
        .sort({ nextAttemptAt: 1 })
        .limit(limit)
        .lean<{ _id: Types.ObjectId }[]>();
      if (due.length === 0) return [];
      const claim = randomUUID();
      const lease = { owner, claim, until: new Date(now.getTime() + leaseMs) };
      // One guarded write per entry, by _id (an index on every server): taken only if still pending and free.
      const won = await model.bulkWrite(
        due.map((d) => ({
          updateOne: {
            filter: { _id: d._id, status: 'pending', 'lease.owner': null },
            update: { $set: { status: 'sending', lease, updatedAt: now } },
          },
        })),
        { ordered: false },
      );
      if (won.modifiedCount === 0) return [];
      // Read back by _id and keep the entries this claim won.
      const docs = await model.find({ _id: { $in: due.map((d) => d._id) } }).lean<OutboxDoc[]>();
      return docs.filter((d) => d.lease?.claim === claim).map(toEntry);
    },

    /** A live worker keeps its entries (queued or in flight): the lease runs out only when the worker stops renewing. */
    async renew(ids: string[], owner: string, until: Date): Promise<void> {
      await whileLeasedBy(ids, owner, { $set: { 'lease.until': until } });
    },

    /** Hands claimed entries back unsent (their platform paused): pending again from `nextAttemptAt`. */
    async release(ids: string[], owner: string, nextAttemptAt: Date, now: Date): Promise<void> {
      await whileLeasedBy(ids, owner, { $set: { status: 'pending', lease: null, nextAttemptAt, updatedAt: now } });
    },

    /**
     * Records many sends in two bulk writes: the results whose version still matches, then (only if some
     * did not match) the attempt alone for the entries this owner still leases, i.e. those a newer score replaced.
     */
    async finishMany(
      owner: string,
      items: {
        entry: OutboxEntry;
        result: { status: OutboxStatus; reason: string | undefined; nextAttemptAt: Date; attempt: AttemptRecord };
        now: Date;
      }[],
    ): Promise<void> {
      if (items.length === 0) return;
      const push = (attempt: AttemptRecord) => ({ $push: { attempts: { $each: [attempt], $slice: -50 } }, $inc: { attemptCount: 1 } });
      const primary = await model.bulkWrite(
        items.map(({ entry, result, now }) => ({
          updateOne: {
            filter: { _id: new Types.ObjectId(entry.id), version: entry.version, 'lease.owner': owner },
            update: {
              $set: {
                status: result.status,
                nextAttemptAt: result.nextAttemptAt,
                lease: null,
                updatedAt: now,
                ...(result.reason === undefined ? {} : { reason: result.reason }),
                ...(result.status === 'sent' ? { sentAt: now } : {}),
              },
              ...(result.reason === undefined ? { $unset: { reason: 1 } } : {}),
              ...push(result.attempt),
            },
          },
        })),
        { ordered: false },
      );
      if (primary.modifiedCount === items.length) return;
      // Entries finished above no longer carry our lease, so only the replaced ones match here.
      await model.bulkWrite(
        items.map(({ entry, result, now }) => ({
          updateOne: {
            filter: { _id: new Types.ObjectId(entry.id), 'lease.owner': owner },
            update: { $set: { lease: null, updatedAt: now }, ...push(result.attempt) },
          },
        })),
        { ordered: false },
      );
    },

    async list(filter: LedgerFilter): Promise<OutboxEntry[]> {
      const docs = await model
        .find(ledgerQuery(filter))
        .sort({ updatedAt: -1 })
        .skip(filter.skip ?? 0)
        .limit(filter.limit ?? 200)
        .lean<OutboxDoc[]>();
      return docs.map(toEntry);
    },

    async counts(filter: LedgerFilter): Promise<Record<OutboxStatus, number>> {
      const out = Object.fromEntries(outboxStatuses.map((s) => [s, 0])) as Record<OutboxStatus, number>;
      for (const status of outboxStatuses)
        out[status] = await model.countDocuments({ ...ledgerQuery({ ...filter, status: undefined }), status });
      return out;
    },

    /** Puts failed (or given) entries back in the queue now, only on `platforms` when given (admin scope). */
    async retry(ids: string[] | 'all-failed', now: Date, platforms?: LedgerFilter['platforms']): Promise<number> {
      const filter =
        ids === 'all-failed'
          ? { status: 'failed' }
          : {
              _id: { $in: ids.filter((i) => Types.ObjectId.isValid(i)).map((i) => new Types.ObjectId(i)) },
              status: { $in: ['failed', 'skipped', 'superseded'] },
            };
      const result = await model.updateMany(
        { ...filter, ...ledgerQuery({ platforms }) },
        {
          $set: { status: 'pending', nextAttemptAt: now, firstQueuedAt: now, updatedAt: now },
          $unset: { reason: 1 },
        },
      );
      return result.modifiedCount;
    },

    async forCourse(courseId: string): Promise<OutboxEntry[]> {
      return (await model.find({ courseId }).lean<OutboxDoc[]>()).map(toEntry);
    },

    async pendingCount(): Promise<number> {
      return model.countDocuments({ status: { $in: ['pending', 'sending'] } });
    },
  };
}

function ledgerQuery(filter: LedgerFilter): Record<string, unknown> {
  const q: Record<string, unknown> = {};
  if (filter.platforms)
    q.$and = [
      filter.platforms.length === 0
        ? { issuer: { $in: [] } }
        : { $or: filter.platforms.map((p) => ({ issuer: p.issuer, clientId: p.clientId })) },
    ];
  if (filter.entryId) q._id = Types.ObjectId.isValid(filter.entryId) ? new Types.ObjectId(filter.entryId) : { $in: [] };
  if (filter.issuer) q.issuer = filter.issuer;
  if (filter.courseId) q.courseId = filter.courseId;
  if (filter.userId) q.userId = filter.userId;
  const within: Record<string, unknown>[] = [];
  if (filter.courseIds) within.push({ courseId: { $in: filter.courseIds } });
  if (filter.userIds) within.push({ userId: { $in: filter.userIds } });
  if (within.length > 0) q.$and = [...((q.$and as Record<string, unknown>[] | undefined) ?? []), ...within];
  if (filter.target) q['target.id'] = filter.target;
  if (filter.status) q.status = filter.status;
  if (filter.from || filter.to) q.updatedAt = { ...(filter.from ? { $gte: filter.from } : {}), ...(filter.to ? { $lte: filter.to } : {}) };
  return q;
}

export type Outbox = ReturnType<typeof createOutbox>;
