import { randomBytes } from 'node:crypto';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { perCore, type Core } from './core';
import { errorFormat, handle, nextPageLink, notFound, PlatformError, parse, pagingQuery, singleString } from './http';
import { mediaType, scope } from './lti';
import { isDuplicateKeyError, nextSequence, type CourseDoc, type EnrollmentDoc, type LineItemDoc, type ResultDoc } from './store';
import { requireAccess } from './token';
import type { FaultTarget, Shape } from './types';

const dateTime = z.string().datetime({ offset: true });

const lineItemSchema = z.object({
  id: z.string().optional(),
  label: z.string().trim().min(1).max(1000),
  scoreMaximum: z.number().positive(),
  resourceLinkId: z.string().min(1).optional(),
  resourceId: z.string().max(1000).optional(),
  tag: z.string().max(1000).optional(),
  startDateTime: dateTime.optional(),
  endDateTime: dateTime.optional(),
  gradesReleased: z.boolean().optional(),
});

/** AGS 2.0 §3.4 score publish service. */
const scoreSchema = z
  .object({
    userId: z.string().min(1),
    timestamp: dateTime,
    scoreGiven: z.number().min(0).optional(),
    scoreMaximum: z.number().positive().optional(),
    comment: z.string().max(10_000).optional(),
    activityProgress: z.enum(['Initialized', 'Started', 'InProgress', 'Submitted', 'Completed']),
    gradingProgress: z.enum(['FullyGraded', 'Pending', 'PendingManual', 'Failed', 'NotReady']),
    submission: z.object({ startedAt: dateTime.optional(), submittedAt: dateTime.optional() }).optional(),
  })
  .refine((s) => s.scoreGiven === undefined || s.scoreMaximum !== undefined, {
    message: 'is required when scoreGiven is present',
    path: ['scoreMaximum'],
  });

const listQuerySchema = z.object({
  resource_link_id: singleString.optional(),
  resource_id: singleString.optional(),
  tag: singleString.optional(),
  ...pagingQuery,
});

const resultsQuerySchema = z.object({ user_id: singleString.optional(), ...pagingQuery });

const defaultPageSize = 100;

/**
 * Timestamps compare as UTC with nanosecond digits: tools send sub-millisecond precision (the spec
 * recommends it) and a JS Date would make two distinct timestamps equal.
 */
export function timestampKey(timestamp: string): string {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}(?::?\d{2})?)$/i.exec(timestamp);
  if (!match?.[1] || !match[3]) throw new PlatformError(400, 'invalid_request', 'timestamp must be an ISO 8601 date-time with offset');
  const offset =
    match[3].toUpperCase() === 'Z' ? 'Z' : match[3].replace(/^([+-]\d{2}):?(\d{2})?$/, (_m, h: string, m?: string) => `${h}:${m ?? '00'}`);
  const seconds = new Date(`${match[1]}${offset}`);
  if (Number.isNaN(seconds.getTime())) throw new PlatformError(400, 'invalid_request', 'timestamp is not a valid date-time');
  return `${seconds.toISOString().slice(0, 19)}.${(match[2] ?? '').padEnd(9, '0').slice(0, 9)}Z`;
}

function ensureAccepts(req: Request, type: string): void {
  if (req.get('Accept') && !req.accepts([type, 'application/json'])) {
    throw new PlatformError(406, 'not_acceptable', `this endpoint answers ${type}`);
  }
}

function ensureContentType(req: Request, type: string): void {
  if (!req.is(type)) throw new PlatformError(415, 'unsupported_media_type', `the request body must be sent as ${type}`);
}

function presentLineItem(core: Core, item: LineItemDoc): Record<string, unknown> {
  return {
    id: core.urls.lineItem(item.shape, item.contextId, item._id),
    label: item.label,
    scoreMaximum: item.scoreMaximum,
    ...(item.resourceLinkId ? { resourceLinkId: item.resourceLinkId } : {}),
    ...(item.resourceId ? { resourceId: item.resourceId } : {}),
    ...(item.tag ? { tag: item.tag } : {}),
    ...(item.startDateTime ? { startDateTime: item.startDateTime } : {}),
    ...(item.endDateTime ? { endDateTime: item.endDateTime } : {}),
    ...(item.gradesReleased !== undefined ? { gradesReleased: item.gradesReleased } : {}),
  };
}

/** Creates a line item (also used by deep linking for a content item's lineItem). */
export async function createLineItem(
  core: Core,
  shape: Shape,
  contextId: string,
  fields: Omit<LineItemDoc, '_id' | 'seq' | 'shape' | 'contextId' | 'createdAt'>,
): Promise<LineItemDoc> {
  const seq = await nextSequence(core.models, 'lineitem');
  const doc: LineItemDoc = { _id: String(seq), seq, shape, contextId, ...fields, createdAt: new Date() };
  await core.models.lineItems.create(doc);
  return doc;
}

function lineItemFields(body: z.infer<typeof lineItemSchema>): Omit<LineItemDoc, '_id' | 'seq' | 'shape' | 'contextId' | 'createdAt'> {
  return {
    label: body.label,
    scoreMaximum: body.scoreMaximum,
    ...(body.resourceLinkId !== undefined ? { resourceLinkId: body.resourceLinkId } : {}),
    ...(body.resourceId !== undefined ? { resourceId: body.resourceId } : {}),
    ...(body.tag !== undefined ? { tag: body.tag } : {}),
    ...(body.startDateTime !== undefined ? { startDateTime: body.startDateTime } : {}),
    ...(body.endDateTime !== undefined ? { endDateTime: body.endDateTime } : {}),
    ...(body.gradesReleased !== undefined ? { gradesReleased: body.gradesReleased } : {}),
  };
}

/**
 * Courses (written only by the seed) and line items (changed only through this module, which forgets them)
 * read once per few seconds instead of once per score: a tool sends thousands of scores to a few columns.
 * Misses are not remembered.
 */
const byIdCacheMs = 5_000;
const byIdCaches = perCore(() => new Map<string, { at: number; doc: unknown }>());
async function cachedById<T>(core: Core, kind: 'courses' | 'lineItems', id: string, read: () => Promise<T | null>): Promise<T | null> {
  const cache = byIdCaches(core);
  const key = `${kind}:${id}`;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < byIdCacheMs) return hit.doc as T;
  const doc = await read();
  if (doc) {
    if (cache.size >= 2000) cache.clear();
    cache.set(key, { at: Date.now(), doc });
  }
  return doc;
}
function forgetCached(core: Core, kind: 'courses' | 'lineItems', id: string): void {
  byIdCaches(core).delete(`${kind}:${id}`);
}

/**
 * Only a strictly newer timestamp replaces a result (AGS: an older or equal one is refused). Read by _id,
 * compare, then write only if the stored timestamp is still the one read (filter { _id, timestampKey }, served
 * by the `result_cas` index on the embedded database), or insert when there was none (a concurrent insert
 * collides on _id); either race reads again. No filter here ever scans the results.
 */
async function replaceResultIfNewer(
  core: Core,
  resultId: string,
  key: string,
  update: { $set: Record<string, unknown>; $unset?: Record<string, number> },
): Promise<void> {
  await ensureResultIndex(core);
  const written = lastWritten(core);
  // The timestamp this process last wrote is only a hint: the compare-and-set checks it, and any doubt reads.
  const hint = written.get(resultId);
  if (hint !== undefined && hint < key) {
    const replaced = await core.models.results.updateOne({ _id: resultId, timestampKey: hint }, update);
    if (replaced.matchedCount === 1) {
      remember(written, resultId, key);
      return;
    }
  }
  if (hint === undefined && (await insertResult(core, resultId, update))) {
    // Most results are new (a column's first score per learner): one insert, no read.
    remember(written, resultId, key);
    return;
  }
  for (let round = 0; round < 20; round += 1) {
    const existing = await core.models.results.findById(resultId, { timestampKey: 1 }).lean<{ timestampKey?: string }>();
    if (existing && (existing.timestampKey ?? '') >= key) {
      throw new PlatformError(409, 'stale_timestamp', 'timestamp must be newer than the one of the score already received for this user');
    }
    if (existing) {
      const replaced = await core.models.results.updateOne({ _id: resultId, timestampKey: existing.timestampKey }, update);
      if (replaced.matchedCount === 1) {
        remember(written, resultId, key);
        return;
      }
      continue;
    }
    if (await insertResult(core, resultId, update)) {
      remember(written, resultId, key);
      return;
    }
  }
  throw new PlatformError(409, 'stale_timestamp', 'the score for this user is being replaced concurrently; send it again');
}

/** An insert, not an upsert (an upsert by _id would overwrite a result another request inserted meanwhile): false when one exists. */
async function insertResult(core: Core, resultId: string, update: { $set: Record<string, unknown> }): Promise<boolean> {
  try {
    await core.models.results.collection.insertOne({ _id: resultId, ...update.$set } as never);
    return true;
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    return false;
  }
}

/** Per platform instance: the timestamp key it last wrote for each result (a hint, bounded). */
const lastWritten = perCore(() => new Map<string, string>());
function remember(known: Map<string, string>, resultId: string, key: string): void {
  if (known.size >= 100_000) known.clear();
  known.set(resultId, key);
}

const resultIndex = perCore((): { made?: Promise<unknown> } => ({}));
function ensureResultIndex(core: Core): Promise<unknown> {
  const slot = resultIndex(core);
  slot.made ??= core.models.results.collection
    .createIndex({ _id: 1, timestampKey: 1 }, { unique: true, name: 'result_cas' })
    .catch((error: unknown) => {
      slot.made = undefined;
      throw error;
    });
  return slot.made;
}

/** Assignment and Grade Services 2.0: line items, scores and results, per context. */
export function agsRoutes(core: Core, shape: Shape): Router {
  const router = Router();
  const lineItemJson = express.json({ type: mediaType.lineItem, limit: '100kb' });
  const scoreJson = express.json({ type: mediaType.score, limit: '100kb' });

  /**
   * Runs before any body parsing: injected faults first (they hit before any real work), then the
   * access token, then the context. The course is left in res.locals for the handler.
   */
  function preflight(target: FaultTarget, scopes: readonly string[]): RequestHandler {
    return handle(async (req, res, next) => {
      if (core.faults.intercept(target, req, res)) return;
      await requireAccess(core, shape, req, scopes);
      await core.ensureSeed();
      // By _id alone, then the shape checked here: the embedded database serves only exact _id filters from an index.
      const found = await cachedById(core, 'courses', req.params.contextId ?? '', () =>
        core.models.courses.findById(req.params.contextId).lean<CourseDoc>(),
      );
      const course = found?.shape === shape ? found : null;
      if (!course) throw notFound(`No context ${req.params.contextId ?? ''} on this platform.`);
      // A course that grants fewer scopes (Moodle's per-tool AGS setting) refuses the rest whatever the token says.
      const grants = core.knobs.grants.get(course._id);
      if (grants && !scopes.some((s) => grants.includes(s))) {
        throw new PlatformError(403, 'insufficient_scope', `this course does not grant any of the scopes: ${scopes.join(' ')}`);
      }
      res.locals.devplatformCourse = course;
      next();
    });
  }

  const courseOf = (res: Response): CourseDoc => res.locals.devplatformCourse as CourseDoc;

  async function findItem(req: Request, course: CourseDoc): Promise<LineItemDoc> {
    const found = await cachedById(core, 'lineItems', req.params.lineItemId ?? '', () =>
      core.models.lineItems.findById(req.params.lineItemId).lean<LineItemDoc>(),
    );
    const item = found?.shape === shape && found.contextId === course._id ? found : null;
    if (!item) throw notFound(`No line item ${req.params.lineItemId ?? ''} in this context.`);
    return item;
  }

  router.use('/contexts/:contextId/lineitems', errorFormat('service'));

  router.get(
    '/contexts/:contextId/lineitems',
    preflight('lineitems', [scope.lineItem, scope.lineItemReadonly]),
    handle(async (req, res) => {
      const course = courseOf(res);
      ensureAccepts(req, mediaType.lineItemContainer);
      const query = parse(listQuerySchema, req.query, 'query');
      const filter: Record<string, string> = { shape, contextId: course._id };
      if (query.resource_link_id !== undefined) filter.resourceLinkId = query.resource_link_id;
      if (query.resource_id !== undefined) filter.resourceId = query.resource_id;
      if (query.tag !== undefined) filter.tag = query.tag;
      const limit = Math.min(query.limit ?? defaultPageSize, core.knobs.maxPageSize ?? Infinity);
      const page = query.page ?? 1;
      const items = await core.models.lineItems
        .find(filter)
        .sort({ seq: 1 })
        .skip((page - 1) * limit)
        .limit(limit + 1)
        .lean<LineItemDoc[]>();
      if (items.length > limit) {
        const keep = {
          resource_link_id: query.resource_link_id,
          resource_id: query.resource_id,
          tag: query.tag,
          limit: String(limit),
        };
        res.set('Link', nextPageLink(core.urls.lineItems(shape, course._id), keep, page));
      }
      res.type(mediaType.lineItemContainer).json(items.slice(0, limit).map((item) => presentLineItem(core, item)));
    }),
  );

  router.post(
    '/contexts/:contextId/lineitems',
    preflight('lineitems', [scope.lineItem]),
    lineItemJson,
    handle(async (req, res) => {
      const course = courseOf(res);
      ensureContentType(req, mediaType.lineItem);
      const body = parse(lineItemSchema, req.body, 'line item');
      const item = await createLineItem(core, shape, course._id, lineItemFields(body));
      const presented = presentLineItem(core, item);
      res.status(201).location(String(presented.id)).type(mediaType.lineItem).json(presented);
    }),
  );

  router.get(
    '/contexts/:contextId/lineitems/:lineItemId',
    preflight('lineitems', [scope.lineItem, scope.lineItemReadonly]),
    handle(async (req, res) => {
      const course = courseOf(res);
      ensureAccepts(req, mediaType.lineItem);
      res.type(mediaType.lineItem).json(presentLineItem(core, await findItem(req, course)));
    }),
  );

  router.put(
    '/contexts/:contextId/lineitems/:lineItemId',
    preflight('lineitems', [scope.lineItem]),
    lineItemJson,
    handle(async (req, res) => {
      const course = courseOf(res);
      ensureContentType(req, mediaType.lineItem);
      const existing = await findItem(req, course);
      const body = parse(lineItemSchema, req.body, 'line item');
      const url = core.urls.lineItem(shape, course._id, existing._id);
      if (body.id !== undefined && body.id !== url) throw new PlatformError(400, 'invalid_request', 'id does not match the line item URL');
      // PUT replaces the item, except its binding to a resource link, which only the platform changes.
      const fields = lineItemFields({ ...body, resourceLinkId: existing.resourceLinkId });
      const updated: LineItemDoc = {
        _id: existing._id,
        seq: existing.seq,
        shape,
        contextId: course._id,
        ...fields,
        createdAt: existing.createdAt,
      };
      forgetCached(core, 'lineItems', existing._id);
      await core.models.lineItems.replaceOne({ _id: existing._id }, updated);
      forgetCached(core, 'lineItems', existing._id);
      res.type(mediaType.lineItem).json(presentLineItem(core, updated));
    }),
  );

  router.delete(
    '/contexts/:contextId/lineitems/:lineItemId',
    preflight('lineitems', [scope.lineItem]),
    handle(async (req, res) => {
      const course = courseOf(res);
      const item = await findItem(req, course);
      forgetCached(core, 'lineItems', item._id);
      await core.models.lineItems.deleteOne({ _id: item._id });
      forgetCached(core, 'lineItems', item._id);
      await core.models.results.deleteMany({ lineItemId: item._id });
      res.status(204).end();
    }),
  );

  router.post(
    '/contexts/:contextId/lineitems/:lineItemId/scores',
    errorFormat('service'),
    preflight('scores', [scope.score]),
    scoreJson,
    handle(async (req, res) => {
      const course = courseOf(res);
      ensureContentType(req, mediaType.score);
      const item = await findItem(req, course);
      const score = parse(scoreSchema, req.body, 'score');
      const key = timestampKey(score.timestamp);
      const enrollment = await core.models.enrollments.findById(`${course._id}:${score.userId}`).lean<EnrollmentDoc>();
      if (!enrollment || enrollment.role !== 'learner') {
        // Canvas answers 422 for users who are not students in the course.
        throw new PlatformError(422, 'not_a_learner', `user ${score.userId} is not a learner enrolled in this context`);
      }
      const fields = {
        userId: score.userId,
        timestamp: score.timestamp,
        timestampKey: key,
        activityProgress: score.activityProgress,
        gradingProgress: score.gradingProgress,
        ...(score.scoreGiven !== undefined ? { scoreGiven: score.scoreGiven } : {}),
        ...(score.scoreMaximum !== undefined ? { scoreMaximum: score.scoreMaximum } : {}),
        ...(score.comment !== undefined ? { comment: score.comment } : {}),
      };
      const resultId = `${item._id}:${score.userId}`;
      // A score without scoreGiven clears an earlier one (AGS §3.4.8: the score is the latest state).
      const cleared = [
        ...(score.scoreGiven === undefined ? ['scoreGiven', 'scoreMaximum'] : []),
        ...(score.comment === undefined ? ['comment'] : []),
      ];
      const update = {
        $set: { ...fields, shape, contextId: course._id, lineItemId: item._id, updatedAt: new Date() },
        ...(cleared.length > 0 ? { $unset: Object.fromEntries(cleared.map((f) => [f, 1])) } : {}),
      };
      await replaceResultIfNewer(core, resultId, key, update);
      await core.models.scores.create({
        _id: randomBytes(12).toString('hex'),
        shape,
        contextId: course._id,
        lineItemId: item._id,
        receivedAt: new Date(),
        ...fields,
      });
      if (shape === 'canvas') {
        res
          .status(200)
          .json({ resultUrl: `${core.urls.lineItem(shape, course._id, item._id)}/results?user_id=${encodeURIComponent(score.userId)}` });
      } else {
        res.status(204).end();
      }
    }),
  );

  router.get(
    '/contexts/:contextId/lineitems/:lineItemId/results',
    preflight('lineitems', [scope.resultReadonly]),
    handle(async (req, res) => {
      const course = courseOf(res);
      ensureAccepts(req, mediaType.resultContainer);
      const item = await findItem(req, course);
      const query = parse(resultsQuerySchema, req.query, 'query');
      const limit = Math.min(query.limit ?? defaultPageSize, core.knobs.maxPageSize ?? Infinity);
      const page = query.page ?? 1;
      const filter: Record<string, string> = { lineItemId: item._id };
      if (query.user_id !== undefined) filter.userId = query.user_id;
      const results = await core.models.results
        .find(filter)
        .sort({ userId: 1 })
        .skip((page - 1) * limit)
        .limit(limit + 1)
        .lean<ResultDoc[]>();
      const itemUrl = core.urls.lineItem(shape, course._id, item._id);
      if (results.length > limit) {
        res.set(
          'Link',
          nextPageLink(`${itemUrl}/results`, { limit: String(limit), ...(query.user_id ? { user_id: query.user_id } : {}) }, page),
        );
      }
      res.type(mediaType.resultContainer).json(
        results.slice(0, limit).map((r) => ({
          id: `${itemUrl}/results/${encodeURIComponent(r.userId)}`,
          scoreOf: itemUrl,
          userId: r.userId,
          // resultScore is on the line item's scale (AGS §3.5): the tool's fraction × scoreMaximum.
          ...(r.scoreGiven !== undefined && r.scoreMaximum
            ? { resultScore: (r.scoreGiven / r.scoreMaximum) * item.scoreMaximum, resultMaximum: item.scoreMaximum }
            : {}),
          ...(r.comment !== undefined ? { comment: r.comment } : {}),
          timestamp: r.timestamp,
        })),
      );
    }),
  );

  return router;
}
