import { Schema, Types, type Connection, type Model } from 'mongoose';
import type { RubricLevel } from '../curriculum/content-schema';
import type { FieldCrypto } from '../privacy/field-crypto';
import { openAnswer, sealedText } from '../privacy/sealed-fields';

/** A coach's work on one module in one course. Answers are write-once per item within an attempt. */
export interface StoredAnswer {
  itemId: string;
  kind: 'mcq' | 'reflection';
  selected: string[];
  text: string | undefined;
  selfLevel: RubricLevel | undefined;
  facultyLevel: RubricLevel | undefined;
  facultyRatedBy: string | undefined;
  /** The rating of record's criterion levels and the comment the coach sees (kept next to the level). */
  facultyCriteria?: CriterionRating[] | undefined;
  facultyComment?: string | undefined;
  facultyRatedAt?: Date | undefined;
  /** An optional second, independent rating by another faculty member (agreement is shown; the first counts). */
  secondRating?: FacultyRating | undefined;
  /** Scenario questions: the parallel form served (absent: the original) and the option order shown. */
  variantId?: string | undefined;
  displayedOrder?: string[] | undefined;
  submittedAt: Date;
}

export interface CriterionRating {
  criterionId: string;
  level: RubricLevel;
}

/** One faculty member's rating of a reflection: per criterion, the resulting level, and a comment for the coach. */
export interface FacultyRating {
  raterId: string;
  criteria: CriterionRating[];
  level: RubricLevel;
  comment: string;
  ratedAt: Date;
}

/** Which form of a scenario question an attempt serves (chosen when the attempt opens). */
export interface ServedFormRecord {
  itemId: string;
  variantId: string | null;
}

export interface Attempt {
  id: string;
  userId: string;
  courseId: string | null;
  moduleId: string;
  moduleVersion: number;
  number: number;
  status: 'in_progress' | 'completed';
  furthestSection: number;
  answers: StoredAnswer[];
  forms: ServedFormRecord[];
  startedAt: Date;
  completedAt: Date | undefined;
}

/**
 * "Scores owed": written in the same single-document update that completes an attempt or rates one of its
 * reflections, and cleared (by token) only once the recomputed scores are in the outbox, so a crash in
 * between leaves a mark the sweeper finds.
 */
export interface OwedMark {
  token: string;
  at: Date;
  kind: 'module-completed' | 'faculty-rating';
}

export interface OwedAttempt {
  attemptId: string;
  userId: string;
  courseId: string | null;
  mark: OwedMark;
}

interface AttemptDoc {
  _id: Types.ObjectId;
  userId: Types.ObjectId;
  courseId: Types.ObjectId | null;
  moduleId: string;
  moduleVersion: number;
  number: number;
  status: 'in_progress' | 'completed';
  /** Set while in progress: one open attempt per coach, course and module (unique, sparse). */
  openKey?: string;
  /** The idempotency key of the form that started the attempt (unique, sparse). */
  startKey?: string;
  furthestSection: number;
  answers: StoredAnswer[];
  forms?: ServedFormRecord[];
  startedAt: Date;
  completedAt?: Date;
  scoresOwed?: OwedMark | null;
}

const mapAttempt = (d: AttemptDoc): Attempt => ({
  id: d._id.toHexString(),
  userId: d.userId.toHexString(),
  courseId: d.courseId ? d.courseId.toHexString() : null,
  moduleId: d.moduleId,
  moduleVersion: d.moduleVersion,
  number: d.number,
  status: d.status,
  furthestSection: d.furthestSection,
  answers: d.answers.map((a) => ({ ...a, selected: [...a.selected] })),
  forms: (d.forms ?? []).map((f) => ({ itemId: f.itemId, variantId: f.variantId ?? null })),
  startedAt: d.startedAt,
  completedAt: d.completedAt,
});

const toOwed = (d: AttemptDoc): OwedAttempt[] =>
  d.scoresOwed
    ? [
        {
          attemptId: d._id.toHexString(),
          userId: d.userId.toHexString(),
          courseId: d.courseId ? d.courseId.toHexString() : null,
          mark: d.scoresOwed,
        },
      ]
    : [];

const oid = (id: string): Types.ObjectId => new Types.ObjectId(id);
const openKeyOf = (userId: string, courseId: string | null, moduleId: string): string => `${userId}|${courseId ?? '-'}|${moduleId}`;

export interface AttemptRepository {
  findOpen(userId: string, courseId: string | null, moduleId: string): Promise<Attempt | null>;
  findById(id: string): Promise<Attempt | null>;
  listForUser(userId: string, courseId: string | null): Promise<Attempt[]>;
  listCompletedForUser(userId: string, courseId: string | null): Promise<Attempt[]>;
  /** A coach's attempts at one module in every course, oldest first (which forms they have been served). */
  listForUserModule(userId: string, moduleId: string): Promise<Attempt[]>;
  listCompletedForCourse(courseId: string): Promise<Attempt[]>;
  /** Every attempt in a course, open or completed, oldest first (the faculty overview's module progress). */
  listForCourse(courseId: string): Promise<Attempt[]>;
  /** Opens an attempt unless one is open already (or this start key was used): returns the open one. */
  open(input: {
    userId: string;
    courseId: string | null;
    moduleId: string;
    moduleVersion: number;
    startKey: string;
    forms?: ServedFormRecord[];
  }): Promise<Attempt>;
  /** Adds the answer if the item has none yet in this open attempt; false when it was already answered. */
  addAnswer(attemptId: string, answer: StoredAnswer): Promise<boolean>;
  visitSection(attemptId: string, index: number): Promise<void>;
  /** Completes an open attempt once, marking its scores owed in the same write; false if it was already completed. */
  complete(attemptId: string, at: Date, owed: OwedMark): Promise<boolean>;
  /** Rates a reflection and marks the attempt's scores owed in the same write. */
  rateReflection(attemptId: string, itemId: string, rating: FacultyRating, owed: OwedMark): Promise<boolean>;
  /** Adds a second rating (no rescoring: the first rating counts); false if there is none to add it to. */
  addSecondRating(attemptId: string, itemId: string, rating: FacultyRating): Promise<boolean>;
  /** Attempts whose scores are owed, marked before `markedBefore`, oldest first. */
  listOwed(markedBefore: Date, limit: number): Promise<OwedAttempt[]>;
  listOwedFor(userId: string, courseId: string | null): Promise<OwedAttempt[]>;
  /** Clears the mark unless it was renewed (a different token) meanwhile. */
  clearOwed(attemptId: string, token: string): Promise<void>;
}

/** Puts the second rater's comment (stored sealed beside the rating) back into the rating. */
function withSecondComment<T extends StoredAnswer & { secondComment?: string }>(answer: T): StoredAnswer {
  const { secondComment, ...rest } = answer;
  if (!rest.secondRating) return rest;
  return { ...rest, secondRating: { ...rest.secondRating, comment: secondComment ?? rest.secondRating.comment } };
}

/** `crypto` seals reflection text and comments at rest (src/privacy); without it sealed values read as absent. */
export function createAttemptRepository(connection: Connection, crypto?: FieldCrypto): AttemptRepository {
  const toAttempt = (d: AttemptDoc): Attempt =>
    mapAttempt({
      ...d,
      answers: d.answers.map((a) => withSecondComment(openAnswer(a as StoredAnswer & { secondComment?: string }, crypto))),
    });
  const answerSchema = new Schema<StoredAnswer & { comment?: string; secondComment?: string }>(
    {
      itemId: String,
      kind: String,
      selected: [String],
      text: sealedText(crypto),
      comment: sealedText(crypto),
      selfLevel: String,
      facultyLevel: String,
      facultyRatedBy: String,
      facultyCriteria: { type: Schema.Types.Mixed, default: undefined },
      facultyComment: sealedText(crypto),
      secondComment: sealedText(crypto),
      facultyRatedAt: Date,
      secondRating: { type: Schema.Types.Mixed, default: undefined },
      variantId: String,
      displayedOrder: { type: [String], default: undefined },
      submittedAt: Date,
    },
    { _id: false },
  );
  const model: Model<AttemptDoc> =
    connection.models.Attempt ??
    connection.model<AttemptDoc>(
      'Attempt',
      new Schema<AttemptDoc>(
        {
          userId: Schema.Types.ObjectId,
          courseId: { type: Schema.Types.ObjectId, default: null },
          moduleId: String,
          moduleVersion: Number,
          number: Number,
          status: String,
          openKey: String,
          startKey: String,
          furthestSection: Number,
          answers: [answerSchema],
          forms: { type: Schema.Types.Mixed, default: undefined },
          startedAt: Date,
          completedAt: Date,
          scoresOwed: { type: Schema.Types.Mixed, default: undefined },
        },
        { collection: 'attempts', versionKey: false },
      ),
    );
  const scope = (userId: string, courseId: string | null) => ({ userId: oid(userId), courseId: courseId ? oid(courseId) : null });

  return {
    async findOpen(userId, courseId, moduleId) {
      const doc = await model.findOne({ openKey: openKeyOf(userId, courseId, moduleId) }).lean<AttemptDoc>();
      return doc ? toAttempt(doc) : null;
    },
    async findById(id) {
      if (!Types.ObjectId.isValid(id)) return null;
      const doc = await model.findById(id).lean<AttemptDoc>();
      return doc ? toAttempt(doc) : null;
    },
    async listForUser(userId, courseId) {
      const docs = await model.find(scope(userId, courseId)).sort({ startedAt: 1 }).lean<AttemptDoc[]>();
      return docs.map(toAttempt);
    },
    async listForUserModule(userId, moduleId) {
      const docs = await model
        .find({ userId: oid(userId), moduleId })
        .sort({ startedAt: 1 })
        .lean<AttemptDoc[]>();
      return docs.map(toAttempt);
    },
    async listCompletedForUser(userId, courseId) {
      const docs = await model
        .find({ ...scope(userId, courseId), status: 'completed' })
        .sort({ completedAt: 1 })
        .lean<AttemptDoc[]>();
      return docs.map(toAttempt);
    },
    async listForCourse(courseId) {
      const docs = await model
        .find({ courseId: oid(courseId) })
        .sort({ startedAt: 1 })
        .lean<AttemptDoc[]>();
      return docs.map(toAttempt);
    },
    async listCompletedForCourse(courseId) {
      const docs = await model
        .find({ courseId: oid(courseId), status: 'completed' })
        .sort({ completedAt: 1 })
        .lean<AttemptDoc[]>();
      return docs.map(toAttempt);
    },
    async open(input) {
      const openKey = openKeyOf(input.userId, input.courseId, input.moduleId);
      const existing = await model.findOne({ $or: [{ openKey }, { startKey: input.startKey }] }).lean<AttemptDoc>();
      if (existing) return toAttempt(existing);
      const previous = await model.countDocuments({ ...scope(input.userId, input.courseId), moduleId: input.moduleId });
      try {
        const created = await model.create({
          ...scope(input.userId, input.courseId),
          moduleId: input.moduleId,
          moduleVersion: input.moduleVersion,
          number: previous + 1,
          status: 'in_progress',
          openKey,
          startKey: input.startKey,
          furthestSection: 0,
          answers: [],
          forms: input.forms ?? [],
          startedAt: new Date(),
        });
        return toAttempt(created.toObject());
      } catch (error) {
        // A concurrent start won the unique index: return the attempt it opened.
        if ((error as { code?: number }).code !== 11000) throw error;
        const winner = await model.findOne({ $or: [{ openKey }, { startKey: input.startKey }] }).lean<AttemptDoc>();
        if (!winner) throw error;
        return toAttempt(winner);
      }
    },
    async addAnswer(attemptId, answer) {
      const result = await model.updateOne(
        { _id: oid(attemptId), status: 'in_progress', 'answers.itemId': { $ne: answer.itemId } },
        { $push: { answers: answer } },
      );
      return result.modifiedCount === 1;
    },
    async visitSection(attemptId, index) {
      await model.updateOne({ _id: oid(attemptId), status: 'in_progress' }, { $max: { furthestSection: index } });
    },
    async complete(attemptId, at, owed) {
      const result = await model.updateOne(
        { _id: oid(attemptId), status: 'in_progress' },
        { $set: { status: 'completed', completedAt: at, scoresOwed: owed }, $unset: { openKey: 1 } },
      );
      return result.modifiedCount === 1;
    },
    async listOwed(markedBefore, limit) {
      const docs = await model
        .find({ 'scoresOwed.at': { $lte: markedBefore } })
        .sort({ 'scoresOwed.at': 1 })
        .limit(limit)
        .lean<AttemptDoc[]>();
      return docs.flatMap(toOwed);
    },
    async listOwedFor(userId, courseId) {
      const docs = await model.find({ ...scope(userId, courseId), 'scoresOwed.token': { $exists: true } }).lean<AttemptDoc[]>();
      return docs.flatMap(toOwed);
    },
    async clearOwed(attemptId, token) {
      await model.updateOne({ _id: oid(attemptId), 'scoresOwed.token': token }, { $unset: { scoresOwed: 1 } });
    },
    async rateReflection(attemptId, itemId, rating, owed) {
      if (!Types.ObjectId.isValid(attemptId)) return false;
      // By index rather than the positional operator, which the embedded database does not support with $elemMatch.
      const doc = await model.findById(attemptId).lean<AttemptDoc>();
      const index = doc?.answers.findIndex((a) => a.itemId === itemId && a.kind === 'reflection') ?? -1;
      if (index < 0) return false;
      const at = `answers.${index}`;
      const result = await model.updateOne(
        { _id: oid(attemptId), [`${at}.itemId`]: itemId },
        {
          $set: {
            [`${at}.facultyLevel`]: rating.level,
            [`${at}.facultyRatedBy`]: rating.raterId,
            [`${at}.facultyCriteria`]: rating.criteria,
            [`${at}.facultyComment`]: rating.comment,
            [`${at}.facultyRatedAt`]: rating.ratedAt,
            scoresOwed: owed,
          },
        },
      );
      return result.matchedCount === 1;
    },
    async addSecondRating(attemptId, itemId, rating) {
      if (!Types.ObjectId.isValid(attemptId)) return false;
      const doc = await model.findById(attemptId).lean<AttemptDoc>();
      const index = doc?.answers.findIndex((a) => a.itemId === itemId && a.kind === 'reflection' && a.facultyLevel) ?? -1;
      if (index < 0) return false;
      const result = await model.updateOne(
        { _id: oid(attemptId), [`answers.${index}.itemId`]: itemId },
        // The comment is stored as its own sealed field (encrypted at rest), the rest of the rating beside it.
        { $set: { [`answers.${index}.secondRating`]: { ...rating, comment: '' }, [`answers.${index}.secondComment`]: rating.comment } },
      );
      return result.matchedCount === 1;
    },
  };
}
