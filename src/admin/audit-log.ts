import { Schema, type Connection, type Model, type Types } from 'mongoose';

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
  | 'passback.remove-columns';

export const auditActionLabels: Record<AuditAction, string> = {
  'login.success': 'Signed in',
  'login.failure': 'Sign-in refused',
  'login.lockout': 'Account locked (5 failed sign-ins)',
  logout: 'Signed out',
  'passback.retry': 'Retried selected entries',
  'passback.retry-all-failed': 'Retried all failed entries',
  'passback.resync': 'Resynced a course',
  'passback.reconcile': 'Reconciled a course with the LMS',
  'passback.export': 'Exported the ledger (CSV)',
  'passback.remove-columns': 'Removed gradebook columns from the LMS',
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
  /** The ledger filter the action applied to (only the fields that were set). */
  filter: Record<string, string> | undefined;
  detail: string | undefined;
  ip: string | undefined;
}

type AuditDoc = Omit<AuditEntry, 'id'> & { _id: Types.ObjectId };

export type AuditInput = Pick<AuditEntry, 'actor' | 'action'> &
  Partial<Pick<AuditEntry, 'count' | 'courseId' | 'filter' | 'detail' | 'ip'>>;

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
      filter: { type: Schema.Types.Mixed },
      detail: String,
      ip: String,
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
        filter,
        detail: input.detail?.slice(0, 500),
        ip: input.ip,
      });
    },

    async list(options: { limit?: number; skip?: number; actor?: string; action?: AuditAction } = {}): Promise<AuditEntry[]> {
      const query: Record<string, unknown> = {};
      if (options.actor) query.actor = options.actor;
      if (options.action) query.action = options.action;
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
        filter: rest.filter ?? undefined,
        detail: rest.detail ?? undefined,
        ip: rest.ip ?? undefined,
        id: _id.toHexString(),
      }));
    },

    async count(): Promise<number> {
      return model.countDocuments({});
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
