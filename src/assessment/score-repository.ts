import { Schema, Types, type Connection, type Model } from 'mongoose';
import type { CompetencyScore } from './scoring';
import type { DomainEvent } from '../shared/events';

/** The latest competency scores per coach and course, and a record of every domain event. */
export interface ScoreSnapshot {
  userId: string;
  courseId: string | null;
  scores: CompetencyScore[];
  computedAt: Date;
  /** The learner × course sequence number taken before the attempts were read: orders computations. */
  version: number;
}

interface SnapshotDoc {
  _id: Types.ObjectId;
  userId: Types.ObjectId;
  courseId: Types.ObjectId | null;
  scores: CompetencyScore[];
  computedAt: Date;
  version?: number;
}

/** A recompute asked for without an attempt write (a resync, a column switched on), owed until done. */
export interface RecomputeRequest {
  userId: string;
  courseId: string;
  token: string;
  at: Date;
  kind: 'resync' | 'backfill';
}

export interface ScoreRepository {
  /** Next value of the learner × course sequence ($inc on one counter document). */
  nextVersion(userId: string, courseId: string | null): Promise<number>;
  /** Marks a recompute owed (one write); the sweeper does it if the caller dies. */
  requestRecompute(userId: string, courseId: string, mark: { token: string; at: Date; kind: RecomputeRequest['kind'] }): Promise<void>;
  listRequests(markedBefore: Date, limit: number): Promise<RecomputeRequest[]>;
  findRequest(userId: string, courseId: string): Promise<RecomputeRequest | null>;
  clearRequest(userId: string, courseId: string, token: string): Promise<void>;
  /** Stores the snapshot unless a computation with a higher version is stored already. */
  save(snapshot: ScoreSnapshot): Promise<void>;
  find(userId: string, courseId: string | null): Promise<ScoreSnapshot | null>;
  listForCourse(courseId: string): Promise<ScoreSnapshot[]>;
  /** Every snapshot ever computed for a learner × course, oldest first (append-only; the latest is `find`). */
  history(userId: string, courseId: string | null, limit?: number): Promise<ScoreSnapshot[]>;
  recordEvent(event: DomainEvent): Promise<void>;
  countEvents(filter: { type: DomainEvent['type']; userId?: string }): Promise<number>;
}

/**
 * Snapshots stored before the evidence model (no `status`, no `evidence`) read as scored, with a note saying so; the
 * next recomputation (a rating, a finished module, a resync) replaces them.
 */
function fromStored(raw: Partial<CompetencyScore> & { competencyId: string }): CompetencyScore {
  if (raw.status && raw.evidence) return raw as CompetencyScore;
  return {
    competencyId: raw.competencyId,
    status: typeof raw.score === 'number' ? 'scored' : 'insufficient-evidence',
    ...(typeof raw.score === 'number' ? { score: raw.score } : {}),
    ...(raw.level ? { level: raw.level } : {}),
    levelCap: 'computed by the earlier score model; replaced at the next recomputation',
    modules: raw.modules ?? [],
    evidence: { primaryItems: 0, secondaryItems: 0, kinds: [], ratedPerformances: 0, pending: 0 },
    pendingFacultyRating: raw.pendingFacultyRating ?? false,
  };
}

export function createScoreRepository(connection: Connection): ScoreRepository {
  const snapshots: Model<SnapshotDoc> =
    connection.models.CompetencyScoreSnapshot ??
    connection.model<SnapshotDoc>(
      'CompetencyScoreSnapshot',
      new Schema<SnapshotDoc>(
        {
          userId: Schema.Types.ObjectId,
          courseId: { type: Schema.Types.ObjectId, default: null },
          scores: Schema.Types.Mixed,
          computedAt: Date,
          version: Number,
        },
        { collection: 'competency_scores', versionKey: false },
      ),
    );
  // Append-only: one document per learner × course × version (unique index), never updated or removed.
  const history: Model<SnapshotDoc> =
    connection.models.CompetencyScoreHistory ??
    connection.model<SnapshotDoc>(
      'CompetencyScoreHistory',
      new Schema<SnapshotDoc>(
        {
          userId: Schema.Types.ObjectId,
          courseId: { type: Schema.Types.ObjectId, default: null },
          scores: Schema.Types.Mixed,
          computedAt: Date,
          version: Number,
        },
        { collection: 'competency_score_history', versionKey: false },
      ),
    );
  interface EventDoc {
    type: string;
    userId: string;
    courseId: string;
    payload: unknown;
    recordedAt: Date;
  }
  const events: Model<EventDoc> =
    connection.models.DomainEventRecord ??
    connection.model<EventDoc>(
      'DomainEventRecord',
      new Schema<EventDoc>(
        { type: String, userId: String, courseId: String, payload: Schema.Types.Mixed, recordedAt: Date },
        { collection: 'domain_events', versionKey: false },
      ),
    );
  interface SequenceDoc {
    _id: string;
    userId: string;
    courseId: string | null;
    value: number;
    request?: { token: string; at: Date; kind?: RecomputeRequest['kind'] } | null;
  }
  const sequences: Model<SequenceDoc> =
    (connection.models.ScoreSequence as Model<SequenceDoc> | undefined) ??
    connection.model<SequenceDoc>(
      'ScoreSequence',
      new Schema<SequenceDoc>(
        { _id: String, userId: String, courseId: String, value: Number, request: Schema.Types.Mixed },
        { collection: 'score_sequences', versionKey: false },
      ),
    );
  const seqId = (userId: string, courseId: string | null): string => `${userId}|${courseId ?? '-'}`;
  const toRequest = (d: SequenceDoc): RecomputeRequest | null =>
    d.request && d.courseId
      ? { userId: d.userId, courseId: d.courseId, token: d.request.token, at: d.request.at, kind: d.request.kind ?? 'resync' }
      : null;
  /** Upsert by _id; two first writers racing: the loser retries as an update. */
  async function upsertSequence(userId: string, courseId: string | null, update: Record<string, unknown>): Promise<SequenceDoc> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const doc = await sequences
          .findOneAndUpdate(
            { _id: seqId(userId, courseId) },
            { ...update, $setOnInsert: { userId, courseId } },
            { upsert: true, new: true },
          )
          .lean<SequenceDoc>();
        if (!doc) throw new Error('sequence upsert returned nothing');
        return doc;
      } catch (error) {
        if ((error as { code?: number }).code !== 11000 || attempt > 3) throw error;
      }
    }
  }
  const toSnapshot = (d: SnapshotDoc): ScoreSnapshot => ({
    userId: d.userId.toHexString(),
    courseId: d.courseId ? d.courseId.toHexString() : null,
    scores: d.scores.map(fromStored),
    computedAt: d.computedAt,
    version: d.version ?? 0,
  });
  const key = (userId: string, courseId: string | null) => ({
    userId: new Types.ObjectId(userId),
    courseId: courseId ? new Types.ObjectId(courseId) : null,
  });

  return {
    async nextVersion(userId, courseId) {
      return (await upsertSequence(userId, courseId, { $inc: { value: 1 } })).value;
    },
    async requestRecompute(userId, courseId, mark) {
      // A pending resync is not downgraded to a backfill (a resync sends more).
      const doc = await sequences.findById(seqId(userId, courseId)).lean<SequenceDoc>();
      const existing = doc ? toRequest(doc) : null;
      const kind = existing?.kind === 'resync' ? 'resync' : mark.kind;
      await upsertSequence(userId, courseId, { $set: { request: { token: mark.token, at: mark.at, kind } } });
    },
    async listRequests(markedBefore, limit) {
      const docs = await sequences
        .find({ 'request.at': { $lte: markedBefore } })
        .sort({ 'request.at': 1 })
        .limit(limit)
        .lean<SequenceDoc[]>();
      return docs.flatMap((d) => toRequest(d) ?? []);
    },
    async findRequest(userId, courseId) {
      const doc = await sequences.findById(seqId(userId, courseId)).lean<SequenceDoc>();
      return doc ? toRequest(doc) : null;
    },
    async clearRequest(userId, courseId, token) {
      await sequences.updateOne({ _id: seqId(userId, courseId), 'request.token': token }, { $unset: { request: 1 } });
    },
    async save(snapshot) {
      // History first: a crash after it leaves the owed mark, and the repeat insert of the same version is ignored.
      await history
        .create({
          ...key(snapshot.userId, snapshot.courseId),
          scores: snapshot.scores,
          computedAt: snapshot.computedAt,
          version: snapshot.version,
        })
        .catch((error: { code?: number }) => {
          if (error.code !== 11000) throw error;
        });
      // Only a computation with a higher sequence number replaces the stored one (the wall clock plays no part).
      const fields = { scores: snapshot.scores, computedAt: snapshot.computedAt, version: snapshot.version };
      await snapshots.updateOne(
        { ...key(snapshot.userId, snapshot.courseId), $or: [{ version: { $lt: snapshot.version } }, { version: { $exists: false } }] },
        { $set: fields },
      );
      await snapshots
        .updateOne(key(snapshot.userId, snapshot.courseId), { $setOnInsert: fields }, { upsert: true })
        .catch((error: { code?: number }) => {
          if (error.code !== 11000) throw error;
        });
    },
    async find(userId, courseId) {
      const doc = await snapshots.findOne(key(userId, courseId)).lean<SnapshotDoc>();
      return doc ? toSnapshot(doc) : null;
    },
    async history(userId, courseId, limit = 200) {
      const docs = await history.find(key(userId, courseId)).sort({ version: -1 }).limit(limit).lean<SnapshotDoc[]>();
      return docs.reverse().map(toSnapshot);
    },
    async listForCourse(courseId) {
      const docs = await snapshots.find({ courseId: new Types.ObjectId(courseId) }).lean<SnapshotDoc[]>();
      return docs.map(toSnapshot);
    },
    async recordEvent(event) {
      await events.create({
        type: event.type,
        userId: event.user.userId,
        courseId: event.context.courseId,
        payload: event,
        recordedAt: new Date(),
      });
    },
    async countEvents(filter) {
      return events.countDocuments({ type: filter.type, ...(filter.userId ? { userId: filter.userId } : {}) });
    },
  };
}
