import { devPlatformDirectory, type Shape } from '../../src/devplatform';
import type { EnqueueInput } from '../../src/grading/outbox';
import type { RunningServer } from '../../src/server';
import { Browser } from './browser';
import { launch } from './lti-launch';

export const competencyIds = ['C1.1', 'C1.2', 'C1.3', 'C1.4', 'C2.1', 'C2.2', 'C2.3', 'C2.4', 'C3.1', 'C3.2', 'C3.3', 'C4.1', 'C4.2'];

export interface ScoreCourse {
  contextId: string;
  learners: { userId: string; name: string }[];
  /** A competency score for learner index `li`, computed at `computedAt`, ready for outbox.enqueue. */
  entry(li: number, competencyId: string, scoreGiven: number, computedAt: Date, comment?: string): EnqueueInput;
}

/**
 * The first course of a platform shape with our course record in place (one launch), for tests and
 * benchmarks that feed the outbox directly with many scores.
 */
export async function scoreCourse(server: RunningServer, shape: Shape): Promise<ScoreCourse> {
  const dir = devPlatformDirectory();
  const contextId = dir.courses.find((c) => c.shape === shape)!.contextId;
  const learners = dir.users.filter(
    (u) => u.shape === shape && u.enrollments.some((e) => e.contextId === contextId && e.role === 'learner' && e.status === 'Active'),
  );
  await launch(server, new Browser(), { shape, userId: learners[0]!.userId, contextId });
  const course = (await server.connection.db!.collection('courses').findOne({ contextId }))!;
  const registration = (await server.devPlatform!.registration(shape))!;
  return {
    contextId,
    learners,
    entry: (li, competencyId, scoreGiven, computedAt, comment = 'synthetic') => ({
      issuer: registration.issuer,
      clientId: registration.clientId,
      productFamily: shape,
      courseId: course._id.toHexString(),
      contextId,
      courseTitle: String(course.title),
      userId: li.toString(16).padStart(24, '0'),
      userSub: learners[li]!.userId,
      userName: learners[li]!.name,
      target: { kind: 'competency', id: competencyId, lineItemUrl: undefined },
      score: { scoreGiven, activityProgress: 'InProgress', gradingProgress: 'FullyGraded', comment, timestamp: computedAt.toISOString() },
      version: computedAt.getTime(),
      newSubmission: false,
    }),
  };
}
