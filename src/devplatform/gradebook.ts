import type { Core } from './core';
import { toStoredLink } from './deep-linking';
import type { CourseDoc, LineItemDoc, LinkDoc, ResultDoc, ScoreDoc, UserDoc } from './store';
import type { GradebookView, StoredLink } from './types';

/** What the tool sent back for one course: its line items and the latest result per learner. */
export async function loadGradebook(core: Core, contextId: string): Promise<GradebookView> {
  await core.ensureSeed();
  const course = await core.models.courses.findById(contextId).lean<CourseDoc>();
  if (!course) throw new Error(`no course ${contextId}`);
  const items = await core.models.lineItems.find({ contextId }).sort({ seq: 1 }).lean<LineItemDoc[]>();
  const results = await core.models.results.find({ contextId }).sort({ userId: 1 }).lean<ResultDoc[]>();
  const scores = await core.models.scores.find({ contextId }, { lineItemId: 1 }).lean<Pick<ScoreDoc, 'lineItemId'>[]>();
  const users = await core.models.users.find({ shape: course.shape }).lean<UserDoc[]>();
  const names = new Map(users.map((u) => [u.userId, u.name]));
  return {
    shape: course.shape,
    contextId,
    contextTitle: course.title,
    lineItems: items.map((item) => ({
      id: item._id,
      url: core.urls.lineItem(item.shape, contextId, item._id),
      label: item.label,
      scoreMaximum: item.scoreMaximum,
      ...(item.resourceLinkId ? { resourceLinkId: item.resourceLinkId } : {}),
      ...(item.resourceId ? { resourceId: item.resourceId } : {}),
      ...(item.tag ? { tag: item.tag } : {}),
      scoresReceived: scores.filter((s) => s.lineItemId === item._id).length,
      results: results
        .filter((r) => r.lineItemId === item._id)
        .map((r) => ({
          userId: r.userId,
          name: names.get(r.userId) ?? r.userId,
          ...(r.scoreGiven !== undefined ? { scoreGiven: r.scoreGiven } : {}),
          ...(r.scoreMaximum !== undefined ? { scoreMaximum: r.scoreMaximum } : {}),
          activityProgress: r.activityProgress,
          gradingProgress: r.gradingProgress,
          timestamp: r.timestamp,
          ...(r.comment !== undefined ? { comment: r.comment } : {}),
        })),
    })),
  };
}

/** Links the tool returned through deep linking for one course, oldest first. */
export async function loadDeepLinks(core: Core, contextId: string): Promise<StoredLink[]> {
  const links = await core.models.links.find({ contextId }).sort({ createdAt: 1 }).lean<LinkDoc[]>();
  const items = await core.models.lineItems
    .find({ contextId, resourceLinkId: { $in: links.map((l) => l._id) } })
    .sort({ seq: 1 })
    .lean<LineItemDoc[]>();
  return links.map((link) =>
    toStoredLink(
      link,
      items.filter((i) => i.resourceLinkId === link._id).map((i) => i._id),
    ),
  );
}
