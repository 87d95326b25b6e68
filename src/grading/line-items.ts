import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import { z } from 'zod';
import { nextLink } from '../lti/nrps';
import { PlatformRequestError, ScopeNotGrantedError, scopes, type PlatformClient } from '../lti/platform-client';
import { lineItemContainerType, lineItemContentType, scoreMaximum } from './score-message';

export const competencyTag = 'coaching-competency';

const lineItemSchema = z.object({
  id: z.string().url(),
  label: z.string().optional(),
  scoreMaximum: z.number().optional(),
  resourceId: z.string().optional(),
  resourceLinkId: z.string().optional(),
  tag: z.string().optional(),
});

export interface CourseForLineItems {
  id: string;
  issuer: string;
  clientId: string;
  lineItemsUrl: string | undefined;
  /** AGS scopes the course's launches granted: only these are asked for. */
  agsScopes: readonly string[];
}

/** Reading line items: the full scope when granted, else the read-only one. */
function readScope(course: CourseForLineItems): string {
  return course.agsScopes.includes(scopes.lineItem) ? scopes.lineItem : scopes.lineItemReadonly;
}

export function competencyLabel(competency: { id: string; name: string }): string {
  return `Coaching competency ${competency.id} · ${competency.name}`;
}

/**
 * One standalone line item per competency and course (no resourceLinkId: in Canvas only standalone line
 * items become their own gradebook columns; in Moodle they become manual grade items).
 * Created at most once per course: a per-course lock in MongoDB serialises creators across processes,
 * and existing items are found by tag and resource id before anything is created.
 */
export function createLineItemService(deps: { connection: Connection; client: PlatformClient; lockMs?: number; waitMs?: number }) {
  interface StoredDoc {
    courseId: string;
    competencyId: string;
    lineItemUrl: string;
    createdAt: Date;
  }
  interface LockDoc {
    _id: string;
    owner: string;
    until: Date;
  }
  const stored: Model<StoredDoc> =
    (deps.connection.models.CourseLineItem as Model<StoredDoc> | undefined) ??
    deps.connection.model<StoredDoc>(
      'CourseLineItem',
      new Schema<StoredDoc>(
        { courseId: String, competencyId: String, lineItemUrl: String, createdAt: Date },
        { collection: 'course_line_items', versionKey: false },
      ),
    );
  const locks: Model<LockDoc> =
    (deps.connection.models.GradingLock as Model<LockDoc> | undefined) ??
    deps.connection.model<LockDoc>(
      'GradingLock',
      new Schema<LockDoc>({ _id: String, owner: String, until: Date }, { collection: 'grading_locks', versionKey: false }),
    );
  const lockMs = deps.lockMs ?? 60_000;

  async function known(courseId: string): Promise<Map<string, string>> {
    const docs = await stored.find({ courseId }).lean<StoredDoc[]>();
    return new Map(docs.map((d) => [d.competencyId, d.lineItemUrl]));
  }

  async function withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const owner = randomUUID();
    const deadline = Date.now() + (deps.waitMs ?? 60_000);
    for (;;) {
      const now = new Date();
      try {
        // Take a free lock, or one whose holder died (expired); the unique _id makes this atomic.
        await locks.updateOne(
          { _id: name, until: { $lt: now } },
          { $set: { owner, until: new Date(now.getTime() + lockMs) } },
          { upsert: true },
        );
        const held = await locks.findById(name).lean<LockDoc>();
        if (held?.owner === owner) break;
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
      }
      if (Date.now() > deadline) throw new Error(`could not take the lock ${name}`);
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
    try {
      return await work();
    } finally {
      await locks.deleteOne({ _id: name, owner });
    }
  }

  async function listRemote(course: CourseForLineItems & { lineItemsUrl: string }): Promise<z.infer<typeof lineItemSchema>[]> {
    const items: z.infer<typeof lineItemSchema>[] = [];
    const first = new URL(course.lineItemsUrl);
    first.searchParams.set('tag', competencyTag);
    let url: string | undefined = first.toString();
    for (let page = 0; url && page < 50; page += 1) {
      const res = await deps.client.request(course, [readScope(course)], url, { headers: { Accept: lineItemContainerType } });
      const text = await res.text();
      if (!res.ok) throw new PlatformRequestError(`line items request failed with HTTP ${res.status}`, res.status, text.slice(0, 300));
      items.push(...z.array(lineItemSchema).parse(JSON.parse(text)));
      url = nextLink(res.headers.get('link'));
    }
    return items;
  }

  return {
    /**
     * competency id → line item URL for every competency given (only the enabled ones are passed), creating
     * what is missing. Without the lineitem scope an existing column is still found; none is created.
     */
    async ensure(course: CourseForLineItems, competencies: { id: string; name: string }[]): Promise<Map<string, string>> {
      const have = await known(course.id);
      if (competencies.every((c) => have.has(c.id))) return have;
      const lineItemsUrl = course.lineItemsUrl;
      if (!lineItemsUrl) throw new PlatformRequestError('the LMS did not grant the line items service for this course', undefined, '');
      if (!course.agsScopes.includes(scopes.lineItem)) throw new ScopeNotGrantedError([scopes.lineItem]);
      return withLock(`lineitems:${course.id}`, async () => {
        const current = await known(course.id);
        const missing = competencies.filter((c) => !current.has(c.id));
        if (missing.length === 0) return current;
        const remote = await listRemote({ ...course, lineItemsUrl });
        for (const competency of missing) {
          let url = remote.find((r) => r.resourceId === competency.id && r.tag === competencyTag)?.id;
          if (!url) {
            const res = await deps.client.request(course, [scopes.lineItem], lineItemsUrl, {
              method: 'POST',
              headers: { 'Content-Type': lineItemContentType, Accept: lineItemContentType },
              body: JSON.stringify({ label: competencyLabel(competency), scoreMaximum, tag: competencyTag, resourceId: competency.id }),
            });
            const text = await res.text();
            if (!res.ok)
              throw new PlatformRequestError(`line item creation failed with HTTP ${res.status}`, res.status, text.slice(0, 300));
            url = lineItemSchema.parse(JSON.parse(text)).id;
          }
          await stored.updateOne(
            { courseId: course.id, competencyId: competency.id },
            { $setOnInsert: { lineItemUrl: url, createdAt: new Date() } },
            { upsert: true },
          );
          current.set(competency.id, url);
        }
        return current;
      });
    },
    known,

    /** The LMS no longer has this column (it answered 404): forget it, unless another process already replaced it. */
    async forget(courseId: string, competencyId: string, lineItemUrl: string): Promise<void> {
      await stored.deleteOne({ courseId, competencyId, lineItemUrl });
    },

    /** Deletes the LMS columns of these competencies (AGS DELETE) and forgets them; returns the ones removed. */
    async remove(course: CourseForLineItems, competencyIds: string[]): Promise<string[]> {
      const have = await known(course.id);
      const removed: string[] = [];
      for (const id of competencyIds) {
        const url = have.get(id);
        if (!url) continue;
        const res = await deps.client.request(course, [scopes.lineItem], url, { method: 'DELETE' });
        const text = await res.text();
        // 404: already gone in the LMS; forget it here too.
        if (!res.ok && res.status !== 404)
          throw new PlatformRequestError(`line item deletion failed with HTTP ${res.status}`, res.status, text.slice(0, 300));
        await stored.deleteOne({ courseId: course.id, competencyId: id });
        removed.push(id);
      }
      return removed;
    },
  };
}

export type LineItemService = ReturnType<typeof createLineItemService>;
