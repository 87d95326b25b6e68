import { Schema, Types, type Connection, type Model } from 'mongoose';
import { platformCondition, type PlatformKey } from '../admin/admin-scope';

/**
 * Durable background jobs for work too long for one HTTP request (resync and reconcile a course), in
 * `grading_jobs`. A job goes queued → running → done | failed. A runner holds it with a lease it renews
 * while working; when a process dies the lease expires and another runner takes the job over, skipping
 * the items already recorded as processed. No transactions and no TTL: a state machine and leases.
 */
export type JobKind = 'resync' | 'reconcile';
export type JobState = 'queued' | 'running' | 'done' | 'failed';
export const jobKinds: JobKind[] = ['resync', 'reconcile'];

export interface ReconcileRow {
  learner: string;
  userSub: string;
  competencyId: string;
  ours: number | undefined;
  lms: number | undefined;
  status: 'match' | 'differs' | 'missing-in-lms' | 'only-in-lms';
}

export interface GradingJob {
  id: string;
  kind: JobKind;
  platform: PlatformKey;
  courseId: string;
  courseTitle: string;
  /** The actor id of who asked (admin email, "lti:<user id>"). */
  requestedBy: string;
  state: JobState;
  /** Items are learners (resync) or competency columns (reconcile). */
  progress: { total: number; done: number; failed: number };
  /** How many times a runner has claimed it (more than once after a crash). */
  attempts: number;
  /** Why items or the job failed, newest last (bounded). */
  errors: string[];
  /** Reconcile results, accumulated per column. */
  rows: ReconcileRow[];
  createdAt: Date;
  startedAt: Date | undefined;
  finishedAt: Date | undefined;
  updatedAt: Date;
}

export interface ClaimedJob extends GradingJob {
  /** Items already done by an earlier holder of the job. */
  processed: string[];
}

interface JobDoc {
  _id: Types.ObjectId;
  kind: JobKind;
  issuer: string;
  clientId: string;
  courseId: string;
  courseTitle: string;
  requestedBy: string;
  state: JobState;
  progress: { total: number; done: number; failed: number };
  attempts: number;
  errors: string[];
  rows: ReconcileRow[];
  processed: string[];
  /** Set while queued or running: one active job per kind and course (unique sparse index). */
  activeKey?: string;
  lease: { owner: string; until: Date } | null;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  updatedAt: Date;
}

const maxErrors = 20;

const toJob = (d: JobDoc): ClaimedJob => ({
  id: d._id.toHexString(),
  kind: d.kind,
  platform: { issuer: d.issuer, clientId: d.clientId },
  courseId: d.courseId,
  courseTitle: d.courseTitle,
  requestedBy: d.requestedBy,
  state: d.state,
  progress: { total: d.progress?.total ?? 0, done: d.progress?.done ?? 0, failed: d.progress?.failed ?? 0 },
  attempts: d.attempts ?? 0,
  errors: d.errors ?? [],
  rows: (d.rows ?? []).map((r) => ({ ...r, ours: r.ours ?? undefined, lms: r.lms ?? undefined })),
  processed: d.processed ?? [],
  createdAt: d.createdAt,
  startedAt: d.startedAt ?? undefined,
  finishedAt: d.finishedAt ?? undefined,
  updatedAt: d.updatedAt,
});

function publicJob(job: ClaimedJob): GradingJob {
  const rest: Partial<ClaimedJob> = { ...job };
  delete rest.processed;
  return rest as GradingJob;
}

export interface EnqueueJobInput {
  kind: JobKind;
  platform: PlatformKey;
  courseId: string;
  courseTitle: string;
  requestedBy: string;
}

export function activeKeyOf(kind: JobKind, courseId: string): string {
  return `${kind}|${courseId}`;
}

export function createJobStore(connection: Connection) {
  const model: Model<JobDoc> =
    (connection.models.GradingJob as Model<JobDoc> | undefined) ??
    connection.model<JobDoc>('GradingJob', new Schema<JobDoc>({}, { collection: 'grading_jobs', versionKey: false, strict: false }));

  /** Restricts a query to the platforms (admin scope); undefined means every platform. */
  const scoped = (platforms: PlatformKey[] | undefined, query: Record<string, unknown>): Record<string, unknown> => {
    const condition = platformCondition(platforms);
    return condition ? { ...query, $and: [condition] } : query;
  };

  return {
    /**
     * Queues a job, or returns the one already queued or running for the same kind and course (asking
     * twice does not do the work twice).
     */
    async enqueue(input: EnqueueJobInput, now: Date): Promise<{ job: GradingJob; created: boolean }> {
      const activeKey = activeKeyOf(input.kind, input.courseId);
      for (let attempt = 0; ; attempt += 1) {
        const existing = await model.findOne({ activeKey }).lean<JobDoc>();
        if (existing) return { job: publicJob(toJob(existing)), created: false };
        try {
          const doc = await model.create({
            kind: input.kind,
            issuer: input.platform.issuer,
            clientId: input.platform.clientId,
            courseId: input.courseId,
            courseTitle: input.courseTitle,
            requestedBy: input.requestedBy.slice(0, 300),
            state: 'queued',
            progress: { total: 0, done: 0, failed: 0 },
            attempts: 0,
            errors: [],
            rows: [],
            processed: [],
            activeKey,
            lease: null,
            createdAt: now,
            updatedAt: now,
          });
          return { job: publicJob(toJob(doc.toObject() as JobDoc)), created: true };
        } catch (error) {
          // Another request queued the same job a moment ago: return that one.
          if ((error as { code?: number }).code !== 11000 || attempt > 2) throw error;
        }
      }
    },

    /** Takes the oldest queued job, or a running one whose holder's lease expired (its process died). */
    async claim(owner: string, now: Date, leaseMs: number): Promise<ClaimedJob | null> {
      const doc = await model
        .findOneAndUpdate(
          { $or: [{ state: 'queued' }, { state: 'running', 'lease.until': { $lt: now } }] },
          {
            $set: { state: 'running', lease: { owner, until: new Date(now.getTime() + leaseMs) }, updatedAt: now },
            $min: { startedAt: now },
            $inc: { attempts: 1 },
          },
          { sort: { createdAt: 1 }, new: true },
        )
        .lean<JobDoc>();
      return doc ? toJob(doc) : null;
    },

    /** Extends the lease; false when the job is no longer ours (taken over or finished). */
    async heartbeat(id: string, owner: string, now: Date, leaseMs: number): Promise<boolean> {
      const result = await model.updateOne(
        { _id: new Types.ObjectId(id), state: 'running', 'lease.owner': owner },
        { $set: { 'lease.until': new Date(now.getTime() + leaseMs), updatedAt: now } },
      );
      return result.matchedCount > 0;
    },

    async setTotal(id: string, owner: string, total: number, now: Date): Promise<boolean> {
      const result = await model.updateOne(
        { _id: new Types.ObjectId(id), state: 'running', 'lease.owner': owner },
        { $set: { 'progress.total': total, updatedAt: now } },
      );
      return result.matchedCount > 0;
    },

    /**
     * Records one processed item (once: an item already recorded is not counted again) and renews the
     * lease. False when the job is no longer ours.
     */
    async recordItem(
      id: string,
      owner: string,
      item: string,
      outcome: { ok: true; rows?: ReconcileRow[] } | { ok: false; error: string },
      now: Date,
      leaseMs: number,
    ): Promise<boolean> {
      const _id = new Types.ObjectId(id);
      const lease = { 'lease.until': new Date(now.getTime() + leaseMs), updatedAt: now };
      const result = await model.updateOne(
        { _id, state: 'running', 'lease.owner': owner, processed: { $ne: item } },
        {
          $set: lease,
          $inc: outcome.ok ? { 'progress.done': 1 } : { 'progress.failed': 1 },
          $push: {
            processed: item,
            ...(outcome.ok
              ? { rows: { $each: outcome.rows ?? [] } }
              : { errors: { $each: [outcome.error.slice(0, 300)], $slice: -maxErrors } }),
          },
        },
      );
      if (result.matchedCount > 0) return true;
      return (await model.updateOne({ _id, state: 'running', 'lease.owner': owner }, { $set: lease })).matchedCount > 0;
    },

    /** Hands a job back to the queue at once (graceful shutdown); what was processed stays recorded. */
    async release(id: string, owner: string, now: Date): Promise<void> {
      await model.updateOne(
        { _id: new Types.ObjectId(id), state: 'running', 'lease.owner': owner },
        { $set: { state: 'queued', lease: null, updatedAt: now }, $inc: { attempts: -1 } },
      );
    },

    /** Ends the job (only its lease holder can); a new job of the same kind and course may then be queued. */
    async finish(id: string, owner: string, state: 'done' | 'failed', error: string | undefined, now: Date): Promise<boolean> {
      const result = await model.updateOne(
        { _id: new Types.ObjectId(id), state: 'running', 'lease.owner': owner },
        {
          $set: { state, lease: null, finishedAt: now, updatedAt: now },
          $unset: { activeKey: 1 },
          ...(error ? { $push: { errors: { $each: [error.slice(0, 300)], $slice: -maxErrors } } } : {}),
        },
      );
      return result.matchedCount > 0;
    },

    async get(platforms: PlatformKey[] | undefined, id: string): Promise<GradingJob | null> {
      if (!Types.ObjectId.isValid(id)) return null;
      const doc = await model.findOne(scoped(platforms, { _id: new Types.ObjectId(id) })).lean<JobDoc>();
      return doc ? publicJob(toJob(doc)) : null;
    },

    /** Newest first. */
    async list(
      platforms: PlatformKey[] | undefined,
      options: { courseId?: string; kind?: JobKind; active?: boolean; limit?: number; skip?: number } = {},
    ): Promise<GradingJob[]> {
      const query: Record<string, unknown> = {};
      if (options.courseId) query.courseId = options.courseId;
      if (options.kind) query.kind = options.kind;
      if (options.active) query.state = { $in: ['queued', 'running'] };
      const docs = await model
        .find(scoped(platforms, query), { processed: 0, rows: 0 })
        .sort({ createdAt: -1, _id: -1 })
        .skip(options.skip ?? 0)
        .limit(options.limit ?? 50)
        .lean<JobDoc[]>();
      return docs.map((d) => publicJob(toJob(d)));
    },
  };
}

export type JobStore = ReturnType<typeof createJobStore>;
