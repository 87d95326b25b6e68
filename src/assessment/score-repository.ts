import { Schema, Types, type Connection, type Model } from 'mongoose';
import type { CompetencyScore } from './scoring';
import type { DomainEvent } from '../shared/events';

/** The latest competency scores per coach and course, and a record of every domain event. */
export interface ScoreSnapshot {
  userId: string;
  courseId: string | null;
  scores: CompetencyScore[];
  computedAt: Date;
}

interface SnapshotDoc {
  _id: Types.ObjectId;
  userId: Types.ObjectId;
  courseId: Types.ObjectId | null;
  scores: CompetencyScore[];
  computedAt: Date;
}

export interface ScoreRepository {
  save(snapshot: ScoreSnapshot): Promise<void>;
  find(userId: string, courseId: string | null): Promise<ScoreSnapshot | null>;
  listForCourse(courseId: string): Promise<ScoreSnapshot[]>;
  recordEvent(event: DomainEvent): Promise<void>;
  countEvents(filter: { type: DomainEvent['type']; userId?: string }): Promise<number>;
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
        },
        { collection: 'competency_scores', versionKey: false },
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
  const toSnapshot = (d: SnapshotDoc): ScoreSnapshot => ({
    userId: d.userId.toHexString(),
    courseId: d.courseId ? d.courseId.toHexString() : null,
    scores: d.scores,
    computedAt: d.computedAt,
  });
  const key = (userId: string, courseId: string | null) => ({
    userId: new Types.ObjectId(userId),
    courseId: courseId ? new Types.ObjectId(courseId) : null,
  });

  return {
    async save(snapshot) {
      // Only a newer computation replaces the stored one (two completions racing keep the later).
      await snapshots.updateOne(
        { ...key(snapshot.userId, snapshot.courseId), computedAt: { $lt: snapshot.computedAt } },
        { $set: { scores: snapshot.scores, computedAt: snapshot.computedAt } },
      );
      await snapshots
        .updateOne(
          key(snapshot.userId, snapshot.courseId),
          { $setOnInsert: { scores: snapshot.scores, computedAt: snapshot.computedAt } },
          { upsert: true },
        )
        .catch((error: { code?: number }) => {
          if (error.code !== 11000) throw error;
        });
    },
    async find(userId, courseId) {
      const doc = await snapshots.findOne(key(userId, courseId)).lean<SnapshotDoc>();
      return doc ? toSnapshot(doc) : null;
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
