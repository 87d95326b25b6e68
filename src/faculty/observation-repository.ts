import { randomUUID } from 'node:crypto';
import { Schema, Types, type Connection, type Model } from 'mongoose';
import type { RubricLevel } from '../curriculum/content-schema';
import type { FieldCrypto } from '../privacy/field-crypto';
import { openAnswer, sealedText } from '../privacy/sealed-fields';

/** A faculty member's direct observation of a coach's practice (several faculty may observe the same coach). */
export interface Observation {
  id: string;
  userId: string;
  courseId: string;
  observerId: string;
  observerName: string;
  observedOn: Date;
  setting: 'live' | 'recorded' | 'simulated';
  durationMinutes: number;
  instrumentVersion: number;
  ratings: { competencyId: string; level: RubricLevel }[];
  /** Feedback for the coach: sealed at rest (src/privacy/sealed-fields.ts, field `narrative`). */
  narrative: string;
  createdAt: Date;
}

export type NewObservation = Omit<Observation, 'id' | 'createdAt'>;

/** Scores owed after an observation: written with the observation, cleared once the recomputed scores are published. */
export interface OwedObservation {
  id: string;
  userId: string;
  courseId: string;
  token: string;
}

export interface ObservationRepository {
  /** Inserts the observation and marks the coach's scores owed in the same single-document write. */
  add(input: NewObservation, at: Date): Promise<Observation>;
  listFor(userId: string, courseId: string): Promise<Observation[]>;
  listOwed(markedBefore: Date, limit: number): Promise<OwedObservation[]>;
  listOwedFor(userId: string, courseId: string): Promise<OwedObservation[]>;
  clearOwed(id: string, token: string): Promise<void>;
}

interface ObservationDoc extends Omit<Observation, 'id' | 'userId' | 'courseId'> {
  _id: Types.ObjectId;
  userId: Types.ObjectId;
  courseId: Types.ObjectId;
  owed?: { token: string; at: Date } | null;
}

export function createObservationRepository(connection: Connection, crypto?: FieldCrypto): ObservationRepository {
  const schema = new Schema<ObservationDoc>(
    {
      userId: { type: Schema.Types.ObjectId, required: true },
      courseId: { type: Schema.Types.ObjectId, required: true },
      observerId: { type: String, required: true },
      observerName: { type: String, required: true },
      observedOn: { type: Date, required: true },
      setting: { type: String, required: true },
      durationMinutes: { type: Number, required: true },
      instrumentVersion: { type: Number, required: true },
      ratings: [{ _id: false, competencyId: String, level: String }],
      narrative: sealedText(crypto),
      createdAt: { type: Date, required: true },
      owed: { type: new Schema({ token: String, at: Date }, { _id: false }), default: null },
    },
    { collection: 'observations', versionKey: false },
  );
  // Indexes: migrations/20261126010000-faculty-indexes.js.
  const model: Model<ObservationDoc> =
    (connection.models.Observation as Model<ObservationDoc> | undefined) ?? connection.model<ObservationDoc>('Observation', schema);

  const toObservation = (doc: ObservationDoc): Observation => {
    const open = openAnswer(doc, crypto);
    return {
      id: doc._id.toHexString(),
      userId: doc.userId.toHexString(),
      courseId: doc.courseId.toHexString(),
      observerId: doc.observerId,
      observerName: doc.observerName,
      observedOn: doc.observedOn,
      setting: doc.setting,
      durationMinutes: doc.durationMinutes,
      instrumentVersion: doc.instrumentVersion,
      ratings: doc.ratings.map((r) => ({ competencyId: r.competencyId, level: r.level })),
      narrative: typeof open.narrative === 'string' ? open.narrative : '',
      createdAt: doc.createdAt,
    };
  };
  const toOwed = (doc: ObservationDoc): OwedObservation => ({
    id: doc._id.toHexString(),
    userId: doc.userId.toHexString(),
    courseId: doc.courseId.toHexString(),
    token: doc.owed!.token,
  });

  return {
    async add(input, at) {
      const doc = await model.create({
        ...input,
        userId: new Types.ObjectId(input.userId),
        courseId: new Types.ObjectId(input.courseId),
        createdAt: at,
        owed: { token: randomUUID(), at },
      });
      return toObservation(doc.toObject() as ObservationDoc);
    },
    async listFor(userId, courseId) {
      if (!Types.ObjectId.isValid(userId) || !Types.ObjectId.isValid(courseId)) return [];
      const docs = await model
        .find({ userId: new Types.ObjectId(userId), courseId: new Types.ObjectId(courseId) })
        .sort({ observedOn: 1, createdAt: 1 })
        .lean<ObservationDoc[]>();
      return docs.map(toObservation);
    },
    async listOwed(markedBefore, limit) {
      const docs = await model
        .find({ 'owed.at': { $lte: markedBefore } })
        .sort({ 'owed.at': 1 })
        .limit(limit)
        .lean<ObservationDoc[]>();
      return docs.map(toOwed);
    },
    async listOwedFor(userId, courseId) {
      const docs = await model
        .find({ userId: new Types.ObjectId(userId), courseId: new Types.ObjectId(courseId), owed: { $ne: null } })
        .lean<ObservationDoc[]>();
      return docs.filter((d) => d.owed).map(toOwed);
    },
    async clearOwed(id, token) {
      await model.updateOne({ _id: new Types.ObjectId(id), 'owed.token': token }, { $set: { owed: null } });
    },
  };
}
