import { randomBytes } from 'node:crypto';
import { Types, type Connection } from 'mongoose';
import { platformCondition, scopeIncludes, scopePlatforms, type AdminScope, type PlatformKey } from '../admin/admin-scope';
import type { AuditLog } from '../admin/audit-log';
import { NotFoundError } from '../shared/errors';
import { isSealed, type FieldCrypto } from './field-crypto';
import { openAnswer, sealedAnswerFields } from './sealed-fields';

/**
 * Subject rights (export, erase), retention of free text and key rotation. Works on the raw collections
 * on purpose: it must see every record of a person whatever module wrote it, and it never needs scores
 * recomputed (erasure keeps or removes them whole).
 */
export interface PersonSummary {
  id: string;
  issuer: string;
  clientId: string;
  name: string;
  email: string | undefined;
  erased: boolean;
}

export type EraseMode = 'pseudonymise' | 'remove';

export interface RetentionPolicy {
  kind: 'platform' | 'course';
  issuer: string;
  clientId: string;
  courseId: string | undefined;
  /** Free text (reflections, comments, observation narratives) is deleted this many days after the course's last activity. */
  days: number;
  updatedAt: Date;
  updatedBy: string;
}

export interface RetentionItem {
  /** Where the text lives: an attempt's answer (reflection, comments) or a faculty observation (narrative). */
  source: 'attempt' | 'observation';
  /** The attempt's or the observation's id. */
  attemptId: string;
  courseId: string;
  userId: string;
  itemId: string;
  fields: string[];
}

export interface AccessTrailEntry {
  at: Date;
  reader: string;
  what: string;
}

type Doc = Record<string, unknown> & { _id: Types.ObjectId };

const dayMs = 86_400_000;
const oid = (id: string): Types.ObjectId => new Types.ObjectId(id);
const isObjectId = (id: string): boolean => /^[a-f0-9]{24}$/i.test(id);

/** Plain JSON of a stored document: ids as hex strings, dates as ISO text. */
function plain(value: unknown): unknown {
  if (value instanceof Types.ObjectId) return value.toHexString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    if ((value as { _bsontype?: string })._bsontype === 'ObjectId') return String(value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k === '_id' ? 'id' : k, plain(v)]));
  }
  return value;
}

/** A copy of a JSON value with every string equal to `from` replaced by `to`. */
function replaceString(value: unknown, from: string, to: string): unknown {
  if (value === from) return to;
  if (Array.isArray(value)) return value.map((v) => replaceString(v, from, to));
  if (value && typeof value === 'object' && !(value instanceof Date) && !(value instanceof Types.ObjectId))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceString(v, from, to)]));
  return value;
}

export function createPrivacyService(deps: { connection: Connection; crypto: FieldCrypto; audit: AuditLog; now?: () => Date }) {
  const { connection, crypto, audit } = deps;
  const now = deps.now ?? (() => new Date());
  const col = (name: string) => connection.collection(name);
  const policies = () => col('privacy_retention_policies');
  // The retention line on every launched page: 3 reads per page otherwise. Display only (the sweep reads
  // afresh); cleared here on every policy change, a change made by another process shows within a minute.
  type CoursePolicy = { days: number; source: 'course' | 'platform' } | undefined;
  const coursePolicyCache = new Map<string, { at: number; policy: CoursePolicy }>();
  const coursePolicyCacheMs = 60_000;
  async function readPolicyForCourse(courseId: string): Promise<CoursePolicy> {
    const override = (await policies().findOne({ kind: 'course', courseId: oid(courseId) })) as Doc | null;
    if (override) return { days: Number(override.days), source: 'course' };
    const course = (await col('courses').findOne({ _id: oid(courseId) })) as Doc | null;
    if (!course) return undefined;
    const platform = (await policies().findOne({ kind: 'platform', issuer: course.issuer, clientId: course.clientId })) as Doc | null;
    return platform ? { days: Number(platform.days), source: 'platform' } : undefined;
  }

  const toSummary = (d: Doc): PersonSummary => ({
    id: String(d._id),
    issuer: String(d.issuer),
    clientId: String(d.clientId),
    name: String(d.name ?? ''),
    email: typeof d.email === 'string' ? d.email : undefined,
    erased: Boolean(d.erasedAt),
  });

  /** The person, only within the scope: another tenant's person is "not found", like one that does not exist. */
  async function personIn(scope: AdminScope, userId: string): Promise<Doc> {
    if (!isObjectId(userId)) throw new NotFoundError('There is no such person.');
    const doc = (await col('users').findOne({ _id: oid(userId) })) as Doc | null;
    if (!doc || !scopeIncludes(scope, { issuer: String(doc.issuer), clientId: String(doc.clientId) }))
      throw new NotFoundError('There is no such person.');
    return doc;
  }

  const openAttempt = (a: Doc): unknown => {
    const answers = Array.isArray(a.answers) ? (a.answers as Record<string, unknown>[]).map((x) => openAnswer(x, crypto)) : [];
    return plain({ ...a, answers, openKey: undefined, startKey: undefined });
  };

  /** Everything stored about one person, as JSON-ready data (texts decrypted). */
  async function collect(user: Doc): Promise<Record<string, unknown>> {
    const id = String(user._id);
    const userOid = oid(id);
    const sub = String(user.sub);
    const memberships = (await col('memberships').find({ userId: userOid }).toArray()) as Doc[];
    const courses = (await col('courses')
      .find({ _id: { $in: memberships.map((m) => m.courseId as Types.ObjectId) } })
      .project({ title: 1, label: 1, contextId: 1 })
      .toArray()) as Doc[];
    const attempts = (await col('attempts').find({ userId: userOid }).sort({ startedAt: 1 }).toArray()) as Doc[];
    const rated = (await col('attempts').find({ 'answers.facultyRatedBy': id }).toArray()) as Doc[];
    const secondRated = (await col('attempts').find({ 'answers.secondRating.raterId': id }).toArray()) as Doc[];
    // A rater's own ratings (first or second): level and criteria, not the coach's text or the comment written for the coach.
    const ratingsGiven = [
      ...rated.flatMap((a) =>
        (a.answers as Record<string, unknown>[])
          .filter((x) => x.facultyRatedBy === id)
          .map((x) => ({ attemptId: String(a._id), itemId: x.itemId, role: 'first', level: x.facultyLevel, criteria: x.facultyCriteria })),
      ),
      ...secondRated.flatMap((a) =>
        (a.answers as Record<string, unknown>[])
          .filter((x) => (x.secondRating as Record<string, unknown> | undefined)?.raterId === id)
          .map((x) => {
            const second = x.secondRating as Record<string, unknown>;
            return { attemptId: String(a._id), itemId: x.itemId, role: 'second', level: second.level, criteria: second.criteria };
          }),
      ),
    ];
    const accessTrail = await trail(id);
    return {
      format: 'coachlti-personal-data/1',
      exportedAt: now().toISOString(),
      person: plain({ ...user, nameSource: user.nameSource ?? 'launch' }),
      courses: courses.map(plain),
      memberships: memberships.map(plain),
      attempts: attempts.map(openAttempt),
      competencyScores: (await col('competency_scores').find({ userId: userOid }).toArray()).map(plain),
      competencyScoreHistory: (await col('competency_score_history').find({ userId: userOid }).sort({ computedAt: 1 }).toArray()).map(
        plain,
      ),
      observations: (await col('observations').find({ userId: userOid }).toArray()).map((o) => plain(openAnswer(o as Doc, crypto))),
      observationsGiven: (await col('observations').find({ observerId: id }).toArray()).map((o) =>
        plain({ ...(o as Doc), narrative: undefined }),
      ),
      feedbackSeen: (await col('feedback_seen').find({ userId: id }).toArray()).map(plain),
      scoreSequences: (await col('score_sequences').find({ userId: id }).toArray()).map(plain),
      scoreEvents: (await col('domain_events').find({ userId: id }).toArray()).map(plain),
      gradebookPassback: (await col('passback_outbox').find({ userId: id }).toArray()).map(plain),
      ratingsGiven,
      readersOfReflections: accessTrail.map(plain),
      ltiLaunchRecords: [
        ...(await col('idtokens').find({ iss: user.issuer, clientId: user.clientId, user: sub }).toArray()),
        ...(await col('contexttokens').find({ user: sub }).toArray()),
      ].map(plain),
    };
  }

  /** Who read this coach's reflections (faculty rating pages, admin exports), newest first. */
  async function trail(userId: string): Promise<AccessTrailEntry[]> {
    const docs = (await col('admin_audit_log')
      .find({ subjectUserId: userId, action: { $in: ['reflection.read', 'privacy.export'] } })
      .sort({ at: -1 })
      .limit(500)
      .toArray()) as Doc[];
    const ltiIds = [...new Set(docs.map((d) => String(d.actor)).filter((a) => /^lti:[a-f0-9]{24}$/.test(a)))].map((a) => oid(a.slice(4)));
    const names = new Map(
      (
        (await col('users')
          .find({ _id: { $in: ltiIds } })
          .toArray()) as Doc[]
      ).map((u) => [`lti:${String(u._id)}`, String(u.name)]),
    );
    return docs.map((d) => ({
      at: d.at as Date,
      reader: names.get(String(d.actor)) ?? String(d.actor),
      what: d.action === 'privacy.export' ? 'an administrator exported your data' : String(d.detail ?? 'your reflections'),
    }));
  }

  return {
    /** People within the scope whose name, email or LMS user id contains the text (at most 50). */
    async findPeople(scope: AdminScope, text: string): Promise<PersonSummary[]> {
      const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const match = { $or: [{ name: { $regex: escaped, $options: 'i' } }, { email: { $regex: escaped, $options: 'i' } }, { sub: text }] };
      const platforms = platformCondition(scopePlatforms(scope));
      const query = platforms ? { $and: [platforms, match] } : match;
      return ((await col('users').find(query).sort({ name: 1 }).limit(50).toArray()) as Doc[]).map(toSummary);
    },

    async person(scope: AdminScope, userId: string): Promise<PersonSummary> {
      return toSummary(await personIn(scope, userId));
    },

    /** An administrator's export: audited, and shown to the coach as a read of their reflections. */
    async exportPerson(scope: AdminScope, userId: string, actor: string, ip?: string): Promise<Record<string, unknown>> {
      const user = await personIn(scope, userId);
      const data = await collect(user);
      await audit.record({
        actor,
        action: 'privacy.export',
        platform: { issuer: String(user.issuer), clientId: String(user.clientId) },
        subjectUserId: userId,
        detail: `user ${userId}`,
        ip,
      });
      return data;
    },

    /** The coach's own record (profile, answers, feedback): not an access by someone else. */
    async exportOwn(userId: string): Promise<Record<string, unknown>> {
      if (!isObjectId(userId)) throw new NotFoundError('There is no such person.');
      const user = (await col('users').findOne({ _id: oid(userId) })) as Doc | null;
      if (!user) throw new NotFoundError('There is no such person.');
      return collect(user);
    },

    accessTrail: trail,

    /**
     * Erasure. `pseudonymise` (default): name, email and LMS id are replaced, free texts deleted, LMS
     * launch records, sessions and passback entries removed; scores (latest and their history) stay as
     * anonymous contributions to program statistics. `remove`: the scores, score history, attempts and
     * memberships go too.
     */
    async erasePerson(
      scope: AdminScope,
      userId: string,
      mode: EraseMode,
      actor: string,
      ip?: string,
    ): Promise<{ removed: Record<string, number> }> {
      const user = await personIn(scope, userId);
      const userOid = oid(userId);
      const sub = String(user.sub);
      const removed: Record<string, number> = {};
      const count = (name: string, n: number) => {
        removed[name] = (removed[name] ?? 0) + n;
      };
      // Free text first: the texts are the most sensitive part.
      for (const attempt of (await col('attempts').find({ userId: userOid }).toArray()) as Doc[]) {
        const unset: Record<string, 1> = {};
        (attempt.answers as Record<string, unknown>[]).forEach((a, i) => {
          for (const f of sealedAnswerFields) if (a[f] !== undefined && a[f] !== null) unset[`answers.${i}.${f}`] = 1;
        });
        if (Object.keys(unset).length > 0) {
          await col('attempts').updateOne({ _id: attempt._id }, { $unset: unset });
          count('texts', Object.keys(unset).length);
        }
      }
      // Observation narratives about the person are free text too.
      count(
        'texts',
        (await col('observations').updateMany({ userId: userOid, narrative: { $exists: true } }, { $unset: { narrative: 1 } }))
          .modifiedCount,
      );
      count('feedback_seen', (await col('feedback_seen').deleteMany({ userId })).deletedCount);
      count('passback_outbox', (await col('passback_outbox').deleteMany({ userId })).deletedCount);
      count('idtoken', (await col('idtokens').deleteMany({ iss: user.issuer, clientId: user.clientId, user: sub })).deletedCount);
      count('contexttoken', (await col('contexttokens').deleteMany({ user: sub })).deletedCount);
      count('sessions', (await col('sessions').deleteMany({ session: { $regex: `"userId":"${userId}"` } })).deletedCount);
      if (mode === 'remove') {
        count('attempts', (await col('attempts').deleteMany({ userId: userOid })).deletedCount);
        count('competency_scores', (await col('competency_scores').deleteMany({ userId: userOid })).deletedCount);
        count('competency_score_history', (await col('competency_score_history').deleteMany({ userId: userOid })).deletedCount);
        count('observations', (await col('observations').deleteMany({ userId: userOid })).deletedCount);
        count('score_sequences', (await col('score_sequences').deleteMany({ userId })).deletedCount);
        count('domain_events', (await col('domain_events').deleteMany({ userId })).deletedCount);
        count('memberships', (await col('memberships').deleteMany({ userId: userOid })).deletedCount);
      }
      // The person record stays (scores point at it) but says nothing about who it was. A new launch by
      // the same LMS user creates a new, unrelated record: the old LMS id is gone, from score events too.
      const erasedSub = `erased:${randomBytes(12).toString('hex')}`;
      if (mode === 'pseudonymise') {
        for (const event of (await col('domain_events').find({ userId }).toArray()) as Doc[]) {
          const payload = replaceString(event.payload, sub, erasedSub);
          await col('domain_events').updateOne({ _id: event._id }, { $set: { payload } });
        }
      }
      await col('users').updateOne(
        { _id: userOid },
        {
          $set: { name: 'Erased coach', nameSource: 'erased', sub: erasedSub, erasedAt: now() },
          $unset: { email: 1, givenName: 1, familyName: 1 },
        },
      );
      await audit.record({
        actor,
        action: 'privacy.erase',
        platform: { issuer: String(user.issuer), clientId: String(user.clientId) },
        detail: `user ${userId} (${mode})`,
        count: Object.values(removed).reduce((a, b) => a + b, 0),
        ip,
      });
      return { removed };
    },

    // ---- retention ----

    async listPolicies(scope: AdminScope): Promise<RetentionPolicy[]> {
      const platforms = platformCondition(scopePlatforms(scope));
      const docs = (await policies()
        .find(platforms ?? {})
        .sort({ kind: -1, issuer: 1 })
        .toArray()) as Doc[];
      return docs.map((d) => ({
        kind: d.kind as RetentionPolicy['kind'],
        issuer: String(d.issuer),
        clientId: String(d.clientId),
        courseId: d.courseId ? String(d.courseId) : undefined,
        days: Number(d.days),
        updatedAt: d.updatedAt as Date,
        updatedBy: String(d.updatedBy),
      }));
    },

    /** Sets (days) or removes (null) a platform policy or a course override; the course must be in scope. */
    async setPolicy(
      scope: AdminScope,
      target: { platform: PlatformKey } | { courseId: string },
      days: number | null,
      actor: string,
    ): Promise<void> {
      let key: Record<string, unknown>;
      let platform: PlatformKey;
      if ('courseId' in target) {
        const course = isObjectId(target.courseId) ? ((await col('courses').findOne({ _id: oid(target.courseId) })) as Doc | null) : null;
        if (!course || !scopeIncludes(scope, { issuer: String(course.issuer), clientId: String(course.clientId) }))
          throw new NotFoundError('There is no such course.');
        platform = { issuer: String(course.issuer), clientId: String(course.clientId) };
        key = { kind: 'course', courseId: course._id };
      } else {
        if (!scopeIncludes(scope, target.platform)) throw new NotFoundError('There is no such platform.');
        platform = target.platform;
        key = { kind: 'platform', issuer: platform.issuer, clientId: platform.clientId };
      }
      coursePolicyCache.clear();
      if (days === null) await policies().deleteOne(key);
      else await policies().updateOne(key, { $set: { ...key, ...platform, days, updatedAt: now(), updatedBy: actor } }, { upsert: true });
      coursePolicyCache.clear();
      await audit.record({
        actor,
        action: 'privacy.retention-policy',
        platform,
        courseId: 'courseId' in target ? target.courseId : undefined,
        detail: days === null ? 'removed' : `${days} days`,
      });
    },

    /** The policy that applies to a course (its override, else its platform's), or undefined: kept. */
    async policyForCourse(courseId: string): Promise<CoursePolicy> {
      if (!isObjectId(courseId)) return undefined;
      const hit = coursePolicyCache.get(courseId);
      if (hit && Date.now() - hit.at < coursePolicyCacheMs) return hit.policy;
      const policy = await readPolicyForCourse(courseId);
      if (coursePolicyCache.size >= 5_000) coursePolicyCache.clear();
      coursePolicyCache.set(courseId, { at: Date.now(), policy });
      return policy;
    },

    /**
     * What the retention policy deletes now: every free text in a course whose last activity (a launch,
     * an attempt started, an answer, a completion, an observation recorded) is older than its policy's days. The dry run and the
     * real run both list exactly this.
     */
    async retentionPlan(scope: AdminScope, at = now()): Promise<RetentionItem[]> {
      const platforms = platformCondition(scopePlatforms(scope));
      const all = (await policies()
        .find(platforms ?? {})
        .toArray()) as Doc[];
      const byPlatform = new Map(
        all.filter((p) => p.kind === 'platform').map((p) => [`${String(p.issuer)}#${String(p.clientId)}`, Number(p.days)]),
      );
      const byCourse = new Map(all.filter((p) => p.kind === 'course').map((p) => [String(p.courseId), Number(p.days)]));
      const courseQuery = platforms ?? {};
      const items: RetentionItem[] = [];
      for (const course of (await col('courses').find(courseQuery).sort({ _id: 1 }).toArray()) as Doc[]) {
        const courseId = String(course._id);
        const days = byCourse.get(courseId) ?? byPlatform.get(`${String(course.issuer)}#${String(course.clientId)}`);
        if (days === undefined) continue;
        const attempts = (await col('attempts').find({ courseId: course._id }).sort({ _id: 1 }).toArray()) as Doc[];
        const observations = (await col('observations').find({ courseId: course._id }).sort({ _id: 1 }).toArray()) as Doc[];
        let last = (course.lastLaunchAt as Date | undefined)?.getTime() ?? 0;
        for (const a of attempts) {
          for (const t of [a.startedAt, a.completedAt]) if (t instanceof Date) last = Math.max(last, t.getTime());
          for (const x of a.answers as Record<string, unknown>[])
            if (x.submittedAt instanceof Date) last = Math.max(last, x.submittedAt.getTime());
        }
        // Recording an observation is activity in the course too (faculty may observe without launching).
        for (const o of observations) if (o.createdAt instanceof Date) last = Math.max(last, o.createdAt.getTime());
        if (at.getTime() - last < days * dayMs) continue;
        for (const a of attempts) {
          for (const x of a.answers as Record<string, unknown>[]) {
            const fields = sealedAnswerFields.filter((f) => x[f] !== undefined && x[f] !== null);
            if (fields.length > 0)
              items.push({
                source: 'attempt',
                attemptId: String(a._id),
                courseId,
                userId: String(a.userId),
                itemId: String(x.itemId),
                fields,
              });
          }
        }
        for (const o of observations)
          if (o.narrative !== undefined && o.narrative !== null)
            items.push({
              source: 'observation',
              attemptId: String(o._id),
              courseId,
              userId: String(o.userId),
              itemId: 'observation',
              fields: ['narrative'],
            });
      }
      return items;
    },

    /** Deletes what the plan lists (the same list a dry run shows); scores and levels stay. */
    async runRetention(scope: AdminScope, actor: string, at = now()): Promise<RetentionItem[]> {
      const plan = await this.retentionPlan(scope, at);
      for (const item of plan) {
        if (item.source === 'observation') {
          await col('observations').updateOne({ _id: oid(item.attemptId) }, { $unset: { narrative: 1 } });
          continue;
        }
        const attempt = (await col('attempts').findOne({ _id: oid(item.attemptId) })) as Doc | null;
        const index = (attempt?.answers as Record<string, unknown>[] | undefined)?.findIndex((x) => x.itemId === item.itemId) ?? -1;
        if (index < 0) continue;
        await col('attempts').updateOne(
          { _id: oid(item.attemptId), [`answers.${index}.itemId`]: item.itemId },
          { $unset: Object.fromEntries(item.fields.map((f) => [`answers.${index}.${f}`, 1])) },
        );
      }
      if (plan.length > 0)
        await audit.record({ actor, action: 'privacy.retention-run', count: plan.length, detail: 'free texts past retention deleted' });
      return plan;
    },

    // ---- key rotation ----

    /**
     * Re-encrypts every sealed or legacy plaintext field that is not under the current key, in batches by
     * id. Idempotent (records already current are skipped) and resumable (a stopped run starts over and
     * finds only what is left); a guarded update never overwrites a value changed meanwhile.
     */
    async rotateKeys(
      options: { batchSize?: number; onBatch?: (done: number, rewritten: number) => void } = {},
    ): Promise<{ scanned: number; rewritten: number }> {
      const batchSize = options.batchSize ?? 200;
      let after: Types.ObjectId | undefined;
      let scanned = 0;
      let rewritten = 0;
      for (;;) {
        const batch = (await col('attempts')
          .find(after ? { _id: { $gt: after } } : {})
          .sort({ _id: 1 })
          .limit(batchSize)
          .toArray()) as Doc[];
        if (batch.length === 0) break;
        for (const attempt of batch) {
          scanned += 1;
          const answers = (attempt.answers as Record<string, unknown>[] | undefined) ?? [];
          for (const [i, answer] of answers.entries()) {
            for (const f of sealedAnswerFields) {
              const value = answer[f];
              let plainText: string | undefined;
              if (typeof value === 'string') plainText = value;
              else if (isSealed(value) && value.kid !== crypto.currentKid) plainText = crypto.decrypt(value);
              if (plainText === undefined) continue;
              const result = await col('attempts').updateOne(
                { _id: attempt._id, [`answers.${i}.itemId`]: answer.itemId, [`answers.${i}.${f}`]: value },
                { $set: { [`answers.${i}.${f}`]: crypto.encrypt(plainText) } },
              );
              rewritten += result.modifiedCount;
            }
          }
        }
        after = batch[batch.length - 1]!._id as Types.ObjectId;
        options.onBatch?.(scanned, rewritten);
      }
      // Observation narratives are sealed the same way: without this, removing the old key would lose them.
      after = undefined;
      for (;;) {
        const batch = (await col('observations')
          .find(after ? { _id: { $gt: after } } : {})
          .sort({ _id: 1 })
          .limit(batchSize)
          .toArray()) as Doc[];
        if (batch.length === 0) break;
        for (const observation of batch) {
          scanned += 1;
          const value = observation.narrative;
          let plainText: string | undefined;
          if (typeof value === 'string') plainText = value;
          else if (isSealed(value) && value.kid !== crypto.currentKid) plainText = crypto.decrypt(value);
          if (plainText === undefined) continue;
          const result = await col('observations').updateOne(
            { _id: observation._id, narrative: value },
            { $set: { narrative: crypto.encrypt(plainText) } },
          );
          rewritten += result.modifiedCount;
        }
        after = batch[batch.length - 1]!._id as Types.ObjectId;
        options.onBatch?.(scanned, rewritten);
      }
      if (rewritten > 0)
        await audit.record({ actor: 'cli', action: 'privacy.rotate-keys', count: rewritten, detail: `current key ${crypto.currentKid}` });
      return { scanned, rewritten };
    },
  };
}

export type PrivacyService = ReturnType<typeof createPrivacyService>;
