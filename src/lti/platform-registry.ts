import { Schema, Types, type Connection, type Model } from 'mongoose';

/**
 * Our record of each registered platform, keyed by issuer + client id (self-hosted Canvas instances
 * all use the issuer https://canvas.instructure.com). ltijs keeps the keys and endpoints; this keeps
 * what ltijs does not: deployments, how it was registered, and what passback needs after the 24-hour
 * ltijs id_token is gone.
 */
export interface PlatformSettings {
  issuer: string;
  clientId: string;
  name: string;
  deploymentIds: string[];
  /** Accept launches from deployments we have not seen, adding them (admin's choice per platform). */
  autoAddDeployments: boolean;
  registeredVia: 'dynamic' | 'cli';
  productFamily: string | undefined;
  tokenUrl: string;
  authUrl: string;
  jwksUrl: string;
  createdAt: Date;
}

interface PlatformSettingsDoc extends Omit<PlatformSettings, 'productFamily'> {
  productFamily?: string;
}

export interface PlatformRegistry {
  find(issuer: string, clientId: string): Promise<PlatformSettings | null>;
  list(): Promise<PlatformSettings[]>;
  /** Operator's explicit add or replace (CLI `add --replace`): creates or overwrites. */
  upsert(settings: Omit<PlatformSettings, 'createdAt'>): Promise<PlatformSettings>;
  addDeployment(issuer: string, clientId: string, deploymentId: string): Promise<void>;
  setAutoAddDeployments(issuer: string, clientId: string, allow: boolean): Promise<void>;
  remove(issuer: string, clientId: string): Promise<boolean>;
}

/** What registration needs beyond reading: create-only inserts and administrator-approved changes. */
export interface WritablePlatformRegistry extends PlatformRegistry {
  /** Creates the record only if no platform has this issuer + client id (unique index): never modifies one. */
  insert(settings: Omit<PlatformSettings, 'createdAt'>): Promise<'created' | 'exists'>;
  /** An administrator's approved change of endpoints (and a deployment the change brought). */
  applyEndpoints(
    issuer: string,
    clientId: string,
    endpoints: Pick<PlatformSettings, 'name' | 'tokenUrl' | 'authUrl' | 'jwksUrl' | 'productFamily'> & { deploymentId: string | undefined },
  ): Promise<void>;
}

function toSettings(doc: PlatformSettingsDoc): PlatformSettings {
  return {
    issuer: doc.issuer,
    clientId: doc.clientId,
    name: doc.name,
    deploymentIds: [...doc.deploymentIds],
    autoAddDeployments: doc.autoAddDeployments,
    registeredVia: doc.registeredVia,
    productFamily: doc.productFamily,
    tokenUrl: doc.tokenUrl,
    authUrl: doc.authUrl,
    jwksUrl: doc.jwksUrl,
    createdAt: doc.createdAt,
  };
}

export function createPlatformRegistry(connection: Connection): WritablePlatformRegistry {
  const model: Model<PlatformSettingsDoc> =
    connection.models.LtiPlatformSettings ??
    connection.model<PlatformSettingsDoc>(
      'LtiPlatformSettings',
      new Schema<PlatformSettingsDoc>(
        {
          issuer: { type: String, required: true },
          clientId: { type: String, required: true },
          name: { type: String, required: true },
          deploymentIds: { type: [String], default: [] },
          autoAddDeployments: { type: Boolean, default: false },
          registeredVia: { type: String, enum: ['dynamic', 'cli'], required: true },
          productFamily: String,
          tokenUrl: { type: String, required: true },
          authUrl: { type: String, required: true },
          jwksUrl: { type: String, required: true },
          createdAt: { type: Date, default: () => new Date() },
        },
        { collection: 'lti_platform_settings', versionKey: false },
      ),
    );

  return {
    async find(issuer, clientId) {
      const doc = await model.findOne({ issuer, clientId }).lean<PlatformSettingsDoc>();
      return doc ? toSettings(doc) : null;
    },
    async list() {
      const docs = await model.find().sort({ createdAt: 1 }).lean<PlatformSettingsDoc[]>();
      return docs.map(toSettings);
    },
    async upsert(settings) {
      const { deploymentIds, ...rest } = settings;
      const doc = await model
        .findOneAndUpdate(
          { issuer: settings.issuer, clientId: settings.clientId },
          { $set: rest, $addToSet: { deploymentIds: { $each: deploymentIds } }, $setOnInsert: { createdAt: new Date() } },
          { upsert: true, new: true },
        )
        .lean<PlatformSettingsDoc>();
      if (!doc) throw new Error('platform settings upsert returned nothing');
      return toSettings(doc);
    },
    async insert(settings) {
      try {
        await model.create({ ...settings, createdAt: new Date() });
        return 'created';
      } catch (error) {
        if ((error as { code?: unknown }).code === 11000) return 'exists';
        throw error;
      }
    },
    async applyEndpoints(issuer, clientId, e) {
      await model.updateOne(
        { issuer, clientId },
        {
          $set: {
            name: e.name,
            tokenUrl: e.tokenUrl,
            authUrl: e.authUrl,
            jwksUrl: e.jwksUrl,
            ...(e.productFamily ? { productFamily: e.productFamily } : {}),
          },
          ...(e.deploymentId ? { $addToSet: { deploymentIds: e.deploymentId } } : {}),
        },
      );
    },
    async addDeployment(issuer, clientId, deploymentId) {
      await model.updateOne({ issuer, clientId }, { $addToSet: { deploymentIds: deploymentId } });
    },
    async setAutoAddDeployments(issuer, clientId, allow) {
      await model.updateOne({ issuer, clientId }, { $set: { autoAddDeployments: allow } });
    },
    async remove(issuer, clientId) {
      const result = await model.deleteOne({ issuer, clientId });
      return result.deletedCount === 1;
    },
  };
}

/**
 * A Dynamic Registration that named a platform we already have. It never changes that platform: it waits
 * here until an administrator approves it (then its endpoints and key set replace the old ones) or rejects it.
 * pending → applying (one approver at a time) → approved, or pending → rejected; conditional updates only.
 */
export interface PendingRegistration {
  id: string;
  issuer: string;
  clientId: string;
  name: string;
  productFamily: string | undefined;
  authUrl: string;
  tokenUrl: string;
  jwksUrl: string;
  deploymentId: string | undefined;
  status: 'pending' | 'applying' | 'approved' | 'rejected';
  createdAt: Date;
  decidedAt: Date | undefined;
  decidedBy: string | undefined;
}

interface PendingDoc {
  _id: Types.ObjectId;
  issuer: string;
  clientId: string;
  name: string;
  productFamily?: string | null;
  authUrl: string;
  tokenUrl: string;
  jwksUrl: string;
  deploymentId?: string | null;
  status: PendingRegistration['status'];
  createdAt: Date;
  claimedAt?: Date | null;
  decidedAt?: Date | null;
  decidedBy?: string | null;
}

/** An approval that crashed half-way is offered again after this long. */
const applyingLeaseMs = 2 * 60_000;

export interface PendingRegistrations {
  add(input: Omit<PendingRegistration, 'id' | 'status' | 'createdAt' | 'decidedAt' | 'decidedBy'>): Promise<PendingRegistration>;
  get(id: string): Promise<PendingRegistration | null>;
  list(options?: { status?: PendingRegistration['status']; limit?: number }): Promise<PendingRegistration[]>;
  countPending(): Promise<number>;
  /** pending → applying; null when someone else decided first. */
  startApproval(id: string): Promise<PendingRegistration | null>;
  finishApproval(id: string, by: string): Promise<void>;
  /** applying → pending, when applying failed. */
  abandonApproval(id: string): Promise<void>;
  reject(id: string, by: string): Promise<boolean>;
}

function toPending(doc: PendingDoc): PendingRegistration {
  return {
    id: doc._id.toHexString(),
    issuer: doc.issuer,
    clientId: doc.clientId,
    name: doc.name,
    productFamily: doc.productFamily ?? undefined,
    authUrl: doc.authUrl,
    tokenUrl: doc.tokenUrl,
    jwksUrl: doc.jwksUrl,
    deploymentId: doc.deploymentId ?? undefined,
    status: doc.status,
    createdAt: doc.createdAt,
    decidedAt: doc.decidedAt ?? undefined,
    decidedBy: doc.decidedBy ?? undefined,
  };
}

const objectId = (id: string): Types.ObjectId | null => (/^[a-f0-9]{24}$/i.test(id) ? new Types.ObjectId(id) : null);

export function createPendingRegistrations(connection: Connection): PendingRegistrations {
  const model: Model<PendingDoc> =
    (connection.models.LtiPendingRegistration as Model<PendingDoc> | undefined) ??
    connection.model<PendingDoc>(
      'LtiPendingRegistration',
      new Schema<PendingDoc>(
        {
          issuer: { type: String, required: true },
          clientId: { type: String, required: true },
          name: { type: String, required: true },
          productFamily: String,
          authUrl: { type: String, required: true },
          tokenUrl: { type: String, required: true },
          jwksUrl: { type: String, required: true },
          deploymentId: String,
          status: { type: String, enum: ['pending', 'applying', 'approved', 'rejected'], required: true },
          createdAt: { type: Date, required: true },
          claimedAt: Date,
          decidedAt: Date,
          decidedBy: String,
        },
        { collection: 'lti_pending_registrations', versionKey: false },
      ),
    );

  return {
    async add(input) {
      const doc = await model.create({ ...input, status: 'pending', createdAt: new Date() });
      return toPending(doc.toObject());
    },
    async get(id) {
      const _id = objectId(id);
      if (!_id) return null;
      const doc = await model.findById(_id).lean<PendingDoc>();
      return doc ? toPending(doc) : null;
    },
    async list(options = {}) {
      const query = options.status ? { status: options.status } : {};
      const docs = await model
        .find(query)
        .sort({ createdAt: -1 })
        .limit(options.limit ?? 100)
        .lean<PendingDoc[]>();
      return docs.map(toPending);
    },
    async countPending() {
      return model.countDocuments({ status: 'pending' });
    },
    async startApproval(id) {
      const _id = objectId(id);
      if (!_id) return null;
      const at = new Date();
      const doc = await model
        .findOneAndUpdate(
          { _id, $or: [{ status: 'pending' }, { status: 'applying', claimedAt: { $lt: new Date(at.getTime() - applyingLeaseMs) } }] },
          { $set: { status: 'applying', claimedAt: at } },
          { new: true },
        )
        .lean<PendingDoc>();
      return doc ? toPending(doc) : null;
    },
    async finishApproval(id, by) {
      const _id = objectId(id);
      if (!_id) return;
      await model.updateOne(
        { _id, status: 'applying' },
        { $set: { status: 'approved', decidedAt: new Date(), decidedBy: by.slice(0, 300) } },
      );
    },
    async abandonApproval(id) {
      const _id = objectId(id);
      if (!_id) return;
      await model.updateOne({ _id, status: 'applying' }, { $set: { status: 'pending', claimedAt: null } });
    },
    async reject(id, by) {
      const _id = objectId(id);
      if (!_id) return false;
      const result = await model.updateOne(
        { _id, status: 'pending' },
        { $set: { status: 'rejected', decidedAt: new Date(), decidedBy: by.slice(0, 300) } },
      );
      return result.modifiedCount === 1;
    },
  };
}
