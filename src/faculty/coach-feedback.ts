import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { AssessmentService } from '../assessment/assessment-service';

/** One piece of faculty feedback a coach receives: a rating with its comment, or an observation. */
export interface FeedbackItem {
  kind: 'rating' | 'observation';
  at: Date;
  title: string;
  result: string;
  comment: string;
  isNew: boolean;
}

export interface CoachFeedback {
  items: FeedbackItem[];
  newRatings: number;
  newObservations: number;
  /** "2 new comments, 1 new observation" — undefined when nothing is new. */
  summary: string | undefined;
}

const levelText = { novice: 'Novice', developing: 'Developing', proficient: 'Proficient', expert: 'Expert' } as const;
const plural = (n: number, word: string) => `${n} new ${word}${n === 1 ? '' : 's'}`;

/** Pure: the coach's feedback, newest first, with what arrived after `seenAt`. */
export function presentFeedback(
  ratings: { at: Date; title: string; level: keyof typeof levelText; comment: string }[],
  observations: { at: Date; title: string; result: string; comment: string }[],
  seenAt: Date | undefined,
): CoachFeedback {
  const isNew = (d: Date) => !seenAt || d > seenAt;
  const items: FeedbackItem[] = [
    ...ratings.map((r) => ({
      kind: 'rating' as const,
      at: r.at,
      title: r.title,
      result: levelText[r.level],
      comment: r.comment,
      isNew: isNew(r.at),
    })),
    ...observations.map((o) => ({
      kind: 'observation' as const,
      at: o.at,
      title: o.title,
      result: o.result,
      comment: o.comment,
      isNew: isNew(o.at),
    })),
  ].sort((a, b) => b.at.getTime() - a.at.getTime());
  const newRatings = items.filter((i) => i.kind === 'rating' && i.isNew).length;
  const newObservations = items.filter((i) => i.kind === 'observation' && i.isNew).length;
  const parts = [
    newRatings > 0 ? plural(newRatings, 'comment') : '',
    newObservations > 0 ? plural(newObservations, 'observation') : '',
  ].filter(Boolean);
  return { items, newRatings, newObservations, summary: parts.length > 0 ? parts.join(', ') : undefined };
}

interface SeenDoc {
  _id: Types.ObjectId;
  userId: string;
  courseId: string;
  seenAt: Date;
}

/** The coach's feedback in a course and when they last looked at it (one small document per coach × course). */
export function createCoachFeedback(deps: {
  connection: Connection;
  assessment: Pick<AssessmentService, 'reflectionsForCourse' | 'observationsFor'>;
  now?: () => Date;
}) {
  const now = deps.now ?? (() => new Date());
  const schema = new Schema<SeenDoc>(
    { userId: String, courseId: String, seenAt: Date },
    { collection: 'feedback_seen', versionKey: false },
  );
  // Unique per coach × course: migrations/20261126010000-faculty-indexes.js.
  const seen: Model<SeenDoc> =
    (deps.connection.models.FeedbackSeen as Model<SeenDoc> | undefined) ?? deps.connection.model<SeenDoc>('FeedbackSeen', schema);

  async function read(userId: string, courseId: string): Promise<CoachFeedback> {
    const [reflections, observations, last] = await Promise.all([
      deps.assessment.reflectionsForCourse(courseId, userId),
      deps.assessment.observationsFor(userId, courseId),
      seen.findOne({ userId, courseId }).lean<SeenDoc>(),
    ]);
    const ratings = reflections
      .filter((r) => r.userId === userId)
      .flatMap((r) => [r.first, r.second].filter((x): x is NonNullable<typeof x> => Boolean(x)).map((x) => ({ r, x })))
      .map(({ r, x }) => ({ at: x.ratedAt, title: `${r.moduleTitle} · ${r.itemId}`, level: x.level, comment: x.comment }));
    return presentFeedback(
      ratings,
      observations.map((o) => ({
        at: o.createdAt,
        title: `Observation of your ${o.setting} coaching on ${o.observedOn.toISOString().slice(0, 10)} by ${o.observerName}`,
        result: o.ratings.map((r) => `${r.competencyId} ${levelText[r.level]}`).join(', '),
        comment: o.narrative,
      })),
      last?.seenAt,
    );
  }

  return {
    /** What a page shows as "new" without marking it seen (the training page's banner). */
    peek: read,
    /** Reads the feedback, then records this visit: the next visit shows only what arrives after it. */
    async visit(userId: string, courseId: string): Promise<CoachFeedback> {
      const feedback = await read(userId, courseId);
      await seen.updateOne({ userId, courseId }, { $set: { seenAt: now() } }, { upsert: true });
      return feedback;
    },
  };
}

export type CoachFeedbackService = ReturnType<typeof createCoachFeedback>;
