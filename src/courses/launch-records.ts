import { Schema, Types, type Connection, type Model } from 'mongoose';
import type { LaunchContext } from '../lti/claims';
import { summarizeRoles, type ToolRole } from '../lti/roles';
import { launchSentName, pseudonymFor } from '../privacy/pseudonym';
import { parseCourseTerm, type CourseTerm } from './course-term';

/**
 * Our own users, courses, memberships and resource links, upserted on every launch. They outlive
 * ltijs's 24-hour id_token records and carry what later work needs (AGS and NRPS endpoints).
 * Collection names are ours alone (ltijs owns platform, idtoken, contexttoken, nonce, state…).
 */
export interface CourseRecord {
  id: string;
  issuer: string;
  clientId: string;
  deploymentId: string;
  contextId: string;
  title: string;
  label: string | undefined;
  lineItemsUrl: string | undefined;
  agsScopes: string[];
  membershipsUrl: string | undefined;
  /** Term and course dates the LMS sent (custom parameters); each absent until a launch brought a valid one. */
  term: CourseTerm;
}

export interface UserRecord {
  id: string;
  issuer: string;
  clientId: string;
  sub: string;
  name: string;
  email: string | undefined;
}

export interface MembershipRecord {
  id: string;
  courseId: string;
  userId: string;
  roles: string[];
  view: ToolRole;
  isLearner: boolean;
}

export interface ResourceLinkRecord {
  id: string;
  courseId: string;
  resourceLinkId: string;
  title: string | undefined;
  moduleId: string | undefined;
  lineItemUrl: string | undefined;
}

export interface RecordedLaunch {
  user: UserRecord;
  course: CourseRecord | undefined;
  membership: MembershipRecord | undefined;
  resourceLink: ResourceLinkRecord | undefined;
}

interface UserDoc {
  _id: Types.ObjectId;
  issuer: string;
  clientId: string;
  sub: string;
  name: string;
  nameSource?: 'launch' | 'pseudonym' | 'roster' | 'erased';
  givenName?: string;
  familyName?: string;
  email?: string;
  createdAt: Date;
  lastLaunchAt: Date;
}
interface CourseDoc {
  _id: Types.ObjectId;
  issuer: string;
  clientId: string;
  deploymentId: string;
  contextId: string;
  title: string;
  label?: string;
  lineItemsUrl?: string;
  agsScopes: string[];
  membershipsUrl?: string;
  termName?: string;
  termStart?: Date;
  termEnd?: Date;
  courseStart?: Date;
  courseEnd?: Date;
  createdAt: Date;
  lastLaunchAt: Date;
}
interface MembershipDoc {
  _id: Types.ObjectId;
  courseId: Types.ObjectId;
  userId: Types.ObjectId;
  roles: string[];
  view: ToolRole;
  isLearner: boolean;
  createdAt: Date;
  lastLaunchAt: Date;
}
interface ResourceLinkDoc {
  _id: Types.ObjectId;
  courseId: Types.ObjectId;
  resourceLinkId: string;
  title?: string;
  moduleId?: string;
  lineItemUrl?: string;
  createdAt: Date;
}

function model<T>(connection: Connection, name: string, collection: string, definition: Record<string, unknown>): Model<T> {
  return (
    (connection.models[name] as Model<T> | undefined) ??
    connection.model<T>(name, new Schema<T>(definition, { collection, versionKey: false }))
  );
}

const toCourse = (d: CourseDoc): CourseRecord => ({
  id: d._id.toHexString(),
  issuer: d.issuer,
  clientId: d.clientId,
  deploymentId: d.deploymentId,
  contextId: d.contextId,
  title: d.title,
  label: d.label,
  lineItemsUrl: d.lineItemsUrl,
  agsScopes: d.agsScopes,
  membershipsUrl: d.membershipsUrl,
  term: {
    ...(d.termName ? { termName: d.termName } : {}),
    ...(d.termStart ? { termStart: d.termStart } : {}),
    ...(d.termEnd ? { termEnd: d.termEnd } : {}),
    ...(d.courseStart ? { courseStart: d.courseStart } : {}),
    ...(d.courseEnd ? { courseEnd: d.courseEnd } : {}),
  },
});
const toUser = (d: UserDoc): UserRecord => ({
  id: d._id.toHexString(),
  issuer: d.issuer,
  clientId: d.clientId,
  sub: d.sub,
  name: d.name,
  email: d.email,
});
const toMembership = (d: MembershipDoc): MembershipRecord => ({
  id: d._id.toHexString(),
  courseId: d.courseId.toHexString(),
  userId: d.userId.toHexString(),
  roles: d.roles,
  view: d.view,
  isLearner: d.isLearner,
});
const toLink = (d: ResourceLinkDoc): ResourceLinkRecord => ({
  id: d._id.toHexString(),
  courseId: d.courseId.toHexString(),
  resourceLinkId: d.resourceLinkId,
  title: d.title,
  moduleId: d.moduleId,
  lineItemUrl: d.lineItemUrl,
});

export interface LaunchRecords {
  recordLaunch(launch: LaunchContext, moduleIdFromLink: string | undefined): Promise<RecordedLaunch>;
  findCourse(courseId: string): Promise<CourseRecord | null>;
  findUser(userId: string): Promise<UserRecord | null>;
  findResourceLink(id: string): Promise<ResourceLinkRecord | null>;
  /** The course's resource links that open a module (each may carry the module's own line item). */
  listModuleLinks(courseId: string): Promise<ResourceLinkRecord[]>;
  findMembership(courseId: string, userId: string): Promise<MembershipRecord | null>;
  listLearners(courseId: string): Promise<UserRecord[]>;
}

/** Upsert that survives two launches racing on the same natural key (the unique index decides). */
async function upsertOne<T>(m: Model<T>, filter: Record<string, unknown>, update: Record<string, unknown>): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const doc = await m.findOneAndUpdate(filter, update, { upsert: true, new: true }).lean<T>();
      if (!doc) throw new Error('upsert returned nothing');
      return doc;
    } catch (error) {
      if ((error as { code?: number }).code !== 11000 || attempt > 2) throw error;
    }
  }
}

/** Default of `unchangedWriteMs`: how long a course or resource link written unchanged is not written again. */
export const unchangedWriteMs = 60_000;

/**
 * `pseudonymSecret` names people the LMS sent no name or email for (stable per issuer and subject).
 * `unchangedWriteMs`: a class launching at once sends the same course and resource link claims each time;
 * within this window an unchanged one is not written again (its lastLaunchAt is then up to this much old).
 */
export function createLaunchRecords(
  connection: Connection,
  options: { pseudonymSecret?: string; unchangedWriteMs?: number } = {},
): LaunchRecords {
  const skipWindowMs = options.unchangedWriteMs ?? unchangedWriteMs;
  // Per process, bounded; only courses and links (never deleted, and the launch uses only their id, title
  // and module). Users and memberships are always written: erasure and roster sync change them elsewhere.
  const written = new Map<string, { at: number; data: string; doc: unknown }>();
  async function upsertUnlessUnchanged<T>(
    m: Model<T>,
    filter: Record<string, unknown>,
    set: Record<string, unknown>,
    extra: Record<string, unknown>,
    now: Date,
  ): Promise<T> {
    const key = `${m.collection.collectionName}|${JSON.stringify(filter)}`;
    const data = JSON.stringify(set);
    const hit = written.get(key);
    if (hit && hit.data === data && now.getTime() - hit.at < skipWindowMs) return hit.doc as T;
    const doc = await upsertOne(m, filter, { $set: { ...set, ...extra }, $setOnInsert: { createdAt: now } });
    if (skipWindowMs > 0) {
      if (written.size >= 10_000) written.clear();
      written.set(key, { at: now.getTime(), data, doc });
    }
    return doc;
  }
  const users = model<UserDoc>(connection, 'User', 'users', {
    issuer: String,
    clientId: String,
    sub: String,
    name: String,
    /** launch (the LMS sent it) or pseudonym (it sent neither name nor email). */
    nameSource: String,
    givenName: String,
    familyName: String,
    email: String,
    createdAt: Date,
    lastLaunchAt: Date,
  });
  const courses = model<CourseDoc>(connection, 'Course', 'courses', {
    issuer: String,
    clientId: String,
    deploymentId: String,
    contextId: String,
    title: String,
    label: String,
    lineItemsUrl: String,
    agsScopes: [String],
    membershipsUrl: String,
    termName: String,
    termStart: Date,
    termEnd: Date,
    courseStart: Date,
    courseEnd: Date,
    createdAt: Date,
    lastLaunchAt: Date,
  });
  const memberships = model<MembershipDoc>(connection, 'Membership', 'memberships', {
    courseId: Schema.Types.ObjectId,
    userId: Schema.Types.ObjectId,
    roles: [String],
    view: String,
    isLearner: Boolean,
    createdAt: Date,
    lastLaunchAt: Date,
  });
  const links = model<ResourceLinkDoc>(connection, 'ResourceLink', 'resource_links', {
    courseId: Schema.Types.ObjectId,
    resourceLinkId: String,
    title: String,
    moduleId: String,
    lineItemUrl: String,
    createdAt: Date,
  });

  return {
    async recordLaunch(launch, moduleIdFromLink) {
      const now = new Date();
      const { issuer, clientId, deploymentId } = launch.platform;
      // Minimal data: with no name and no email the person gets a stable pseudonym, never the LMS id.
      const named = launchSentName(launch.user) || Boolean(launch.user.email);
      const name = named ? launch.user.name : pseudonymFor(options.pseudonymSecret ?? `${issuer}|${clientId}`, issuer, launch.user.sub);
      let user = await upsertOne(
        users,
        { issuer, clientId, sub: launch.user.sub },
        {
          // A name learnt from the roster (NRPS) is kept while launches stay anonymous.
          ...(named ? {} : { $setOnInsert: { name, nameSource: 'pseudonym', createdAt: now } }),
          $set: {
            ...(named ? { name, nameSource: 'launch' } : {}),
            givenName: launch.user.givenName,
            familyName: launch.user.familyName,
            email: launch.user.email,
            lastLaunchAt: now,
          },
          ...(named ? { $setOnInsert: { createdAt: now } } : {}),
        },
      );
      if (!named && user.nameSource !== 'pseudonym' && user.nameSource !== 'roster') {
        // The LMS stopped sending the name (privacy level lowered): stop showing the old one.
        user =
          (await users.findOneAndUpdate({ _id: user._id }, { $set: { name, nameSource: 'pseudonym' } }, { new: true }).lean<UserDoc>()) ??
          user;
      }
      if (!launch.context) return { user: toUser(user), course: undefined, membership: undefined, resourceLink: undefined };

      const courseSet: Record<string, unknown> = {
        deploymentId,
        title: launch.context.title ?? launch.context.label ?? launch.context.id,
        label: launch.context.label,
      };
      // Endpoints only ever improve: a launch without the AGS claim must not erase what we know.
      if (launch.ags?.lineItemsUrl) courseSet.lineItemsUrl = launch.ags.lineItemsUrl;
      if (launch.ags) courseSet.agsScopes = launch.ags.scopes;
      if (launch.nrps) courseSet.membershipsUrl = launch.nrps.membershipsUrl;
      // Only valid values are set, so a launch without them (or with unexpanded ones) keeps what we know;
      // they are part of courseSet, hence of the skip-unchanged cache's comparison.
      Object.assign(courseSet, parseCourseTerm(launch.custom));
      const course = await upsertUnlessUnchanged(
        courses,
        { issuer, clientId, contextId: launch.context.id },
        courseSet,
        { lastLaunchAt: now },
        now,
      );

      const roles = summarizeRoles(launch.roles);
      const membership = await upsertOne(
        memberships,
        { courseId: course._id, userId: user._id },
        {
          $set: { roles: launch.roles, view: roles.view, isLearner: roles.isLearner, lastLaunchAt: now },
          $setOnInsert: { createdAt: now },
        },
      );

      let resourceLink: ResourceLinkDoc | undefined;
      if (launch.resourceLink) {
        const linkSet: Record<string, unknown> = { title: launch.resourceLink.title };
        if (moduleIdFromLink) linkSet.moduleId = moduleIdFromLink;
        if (launch.ags?.lineItemUrl) linkSet.lineItemUrl = launch.ags.lineItemUrl;
        resourceLink = await upsertUnlessUnchanged(
          links,
          { courseId: course._id, resourceLinkId: launch.resourceLink.id },
          linkSet,
          {},
          now,
        );
      }
      return {
        user: toUser(user),
        course: toCourse(course),
        membership: toMembership(membership),
        resourceLink: resourceLink ? toLink(resourceLink) : undefined,
      };
    },
    async findCourse(courseId) {
      if (!Types.ObjectId.isValid(courseId)) return null;
      const doc = await courses.findById(courseId).lean<CourseDoc>();
      return doc ? toCourse(doc) : null;
    },
    async findMembership(courseId, userId) {
      if (!Types.ObjectId.isValid(courseId) || !Types.ObjectId.isValid(userId)) return null;
      const doc = await memberships
        .findOne({ courseId: new Types.ObjectId(courseId), userId: new Types.ObjectId(userId) })
        .lean<MembershipDoc>();
      return doc ? toMembership(doc) : null;
    },
    async listLearners(courseId) {
      if (!Types.ObjectId.isValid(courseId)) return [];
      const rows = await memberships.find({ courseId: new Types.ObjectId(courseId), isLearner: true }).lean<MembershipDoc[]>();
      const docs = await users.find({ _id: { $in: rows.map((r) => r.userId) } }).lean<UserDoc[]>();
      return docs.map(toUser);
    },
    async findResourceLink(id) {
      if (!Types.ObjectId.isValid(id)) return null;
      const doc = await links.findById(id).lean<ResourceLinkDoc>();
      return doc ? toLink(doc) : null;
    },
    async listModuleLinks(courseId) {
      if (!Types.ObjectId.isValid(courseId)) return [];
      const docs = await links
        .find({ courseId: new Types.ObjectId(courseId), moduleId: { $exists: true } })
        .sort({ createdAt: 1 })
        .lean<ResourceLinkDoc[]>();
      return docs.map(toLink);
    },
    async findUser(userId) {
      if (!Types.ObjectId.isValid(userId)) return null;
      const doc = await users.findById(userId).lean<UserDoc>();
      return doc ? toUser(doc) : null;
    },
  };
}
