import { Schema, type Connection, type Model } from 'mongoose';

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
  upsert(settings: Omit<PlatformSettings, 'createdAt'>): Promise<PlatformSettings>;
  addDeployment(issuer: string, clientId: string, deploymentId: string): Promise<void>;
  setAutoAddDeployments(issuer: string, clientId: string, allow: boolean): Promise<void>;
  remove(issuer: string, clientId: string): Promise<boolean>;
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

export function createPlatformRegistry(connection: Connection): PlatformRegistry {
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
