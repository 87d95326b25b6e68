import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { platformCondition, scopePlatforms, type AdminScope, type PlatformKey } from './admin-scope';

export type AuditAction =
  | 'login.success'
  | 'login.failure'
  | 'login.lockout'
  | 'logout'
  | 'passback.retry'
  | 'passback.retry-all-failed'
  | 'passback.resync'
  | 'passback.reconcile'
  | 'passback.export'
  | 'platform.invite'
  | 'platform.invite-revoke'
  | 'platform.approve'
  | 'platform.reject'
  | 'platform.activate'
  | 'platform.deactivate'
  | 'passback.remove-columns'
  | 'privacy.export'
  | 'privacy.erase'
  | 'privacy.retention-policy'
  | 'privacy.retention-run'
  | 'privacy.rotate-keys'
  | 'reflection.read'
  | 'faculty.rate'
  | 'faculty.grading-settings'
  | 'faculty.observe'
  | 'faculty.assignments';

export const auditActionLabels: Record<AuditAction, string> = {
  'login.success': 'Signed in',
  'login.failure': 'Sign-in refused',
  'login.lockout': 'Account locked (5 failed sign-ins)',
  logout: 'Signed out',
  'passback.retry': 'Retried selected entries',
  'passback.retry-all-failed': 'Retried all failed entries',
  'passback.resync': 'Queued a course resync',
  'passback.reconcile': 'Queued a reconcile with the LMS',
  'passback.export': 'Exported the ledger (CSV)',
  'platform.invite': 'Created a platform registration link',
  'platform.invite-revoke': 'Withdrew a platform registration link',
  'platform.approve': 'Approved a platform registration',
  'platform.reject': 'Rejected a platform registration',
  'platform.activate': 'Activated a platform',
  'platform.deactivate': 'Deactivated a platform',
  'passback.remove-columns': 'Removed gradebook columns from the LMS',
  'privacy.export': "Exported a person's data (JSON)",
  'privacy.erase': 'Erased or pseudonymised a person',
  'privacy.retention-policy': 'Changed a retention policy',
  'privacy.retention-run': 'Deleted texts past their retention period',
  'privacy.rotate-keys': 'Re-encrypted stored texts with the current key',
  'reflection.read': "Read a coach's reflections",
  'faculty.rate': 'Rated a reflection (faculty)',
  'faculty.grading-settings': 'Changed the gradebook columns of a course (faculty)',
  'faculty.observe': "Recorded an observation of a coach's practice",
  'faculty.assignments': 'Assigned required and optional modules (faculty)',
};

export interface AuditEntry {
  id: string;
  at: Date;
  /** The admin's email, or "lti:<user id>" for an administrator launched from the LMS. */
  actor: string;
  action: AuditAction;
  /** How many entries, learners or rows the action touched. */
  count: number | undefined;
  courseId: string | undefined;
  /**
   * The platform (tenant) the action belongs to; administrators scoped to it see the entry. Without one
   * (sign-ins, actions of global administrators across platforms) only global administrators see it.
   */
  platform: PlatformKey | undefined;
  /** The ledger filter the action applied to (only the fields that were set). */
  filter: Record<string, string> | undefined;
  detail: string | undefined;
  ip: string | undefined;
  /** Whose data the action read or changed (our user id): the coach's access trail. */
  subjectUserId?: string | undefined;
}

type AuditDoc = Omit<AuditEntry, 'id'> & { _id: Types.ObjectId };

export type AuditInput = Pick<AuditEntry, 'actor' | 'action'> &
  Partial<Pick<AuditEntry, 'count' | 'courseId' | 'platform' | 'filter' | 'detail' | 'ip' | 'subjectUserId'>>;

/** The append-only record of what administrators did (admin_audit_log). */
export function createAuditLog(connection: Connection, options: { now?: () => Date } = {}) {
  const now = options.now ?? (() => new Date());
  const schema = new Schema<AuditDoc>(
    {
      at: { type: Date, required: true },
      actor: { type: String, required: true },
      action: { type: String, required: true },
      count: Number,
      courseId: String,
      platform: { type: new Schema<PlatformKey>({ issuer: String, clientId: String }, { _id: false }), default: undefined },
      filter: { type: Schema.Types.Mixed },
      detail: String,
      ip: String,
      subjectUserId: String,
    },
    { collection: 'admin_audit_log', versionKey: false },
  );
  const model: Model<AuditDoc> =
    (connection.models.AdminAuditEntry as Model<AuditDoc> | undefined) ?? connection.model<AuditDoc>('AdminAuditEntry', schema);

  return {
    async record(input: AuditInput): Promise<void> {
      const filter = input.filter && Object.keys(input.filter).length > 0 ? input.filter : undefined;
      await model.create({
        at: now(),
        actor: input.actor.slice(0, 300),
        action: input.action,
        count: input.count,
        courseId: input.courseId,
        platform: input.platform ? { issuer: input.platform.issuer, clientId: input.platform.clientId } : undefined,
        filter,
        detail: input.detail?.slice(0, 500),
        ip: input.ip,
        subjectUserId: input.subjectUserId,
      });
    },

    /**
     * Newest first, within the viewer's scope: a scoped administrator sees the entries of their platforms
     * and their own actions, never another tenant's.
     */
    async list(options: {
      scope: AdminScope;
      /** The viewing administrator's actor id: their own entries are always theirs to see. */
      viewer?: string;
      limit?: number;
      skip?: number;
      actor?: string;
      action?: AuditAction;
      subjectUserId?: string;
    }): Promise<AuditEntry[]> {
      const query: Record<string, unknown> = {};
      const platforms = platformCondition(scopePlatforms(options.scope), 'platform.');
      if (platforms) query.$and = [{ $or: [platforms, ...(options.viewer ? [{ actor: options.viewer }] : [])] }];
      if (options.actor) query.actor = options.actor;
      if (options.action) query.action = options.action;
      if (options.subjectUserId) query.subjectUserId = options.subjectUserId;
      const docs = await model
        .find(query)
        .sort({ at: -1, _id: -1 })
        .skip(options.skip ?? 0)
        .limit(options.limit ?? 200)
        .lean<AuditDoc[]>();
      return docs.map(({ _id, ...rest }) => ({
        ...rest,
        count: rest.count ?? undefined,
        courseId: rest.courseId ?? undefined,
        platform: rest.platform?.issuer ? { issuer: rest.platform.issuer, clientId: rest.platform.clientId } : undefined,
        filter: rest.filter ?? undefined,
        detail: rest.detail ?? undefined,
        ip: rest.ip ?? undefined,
        subjectUserId: rest.subjectUserId ?? undefined,
        id: _id.toHexString(),
      }));
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
