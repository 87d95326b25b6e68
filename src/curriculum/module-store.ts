import { createHash } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import type { Logger } from '../shared/logger';
import { moduleFileSchema, type ModuleFile } from './content-schema';

/**
 * Every module version ever served, kept in MongoDB. An attempt records the version it was taken on,
 * so editing content (and bumping `version`) never changes how a past attempt is scored or shown.
 */
export interface ModuleStore {
  /** Stores versions not seen before; warns when a stored version's content changed without a bump. */
  sync(modules: readonly ModuleFile[]): Promise<{ added: string[]; changedWithoutBump: string[] }>;
  get(moduleId: string, version: number): Promise<ModuleFile | null>;
}

interface VersionDoc {
  _id: string;
  moduleId: string;
  version: number;
  contentHash: string;
  content: unknown;
  syncedAt: Date;
}

export function hashModule(module: ModuleFile): string {
  return createHash('sha256').update(JSON.stringify(module)).digest('hex');
}

export function createModuleStore(connection: Connection, logger: Logger): ModuleStore {
  const model: Model<VersionDoc> =
    connection.models.ModuleVersion ??
    connection.model<VersionDoc>(
      'ModuleVersion',
      new Schema<VersionDoc>(
        { _id: String, moduleId: String, version: Number, contentHash: String, content: Schema.Types.Mixed, syncedAt: Date },
        { collection: 'module_versions', versionKey: false },
      ),
    );
  const cache = new Map<string, ModuleFile>();

  return {
    async sync(modules) {
      const added: string[] = [];
      const changedWithoutBump: string[] = [];
      for (const module of modules) {
        const id = `${module.id}@${module.version}`;
        const contentHash = hashModule(module);
        const result = await model.updateOne(
          { _id: id },
          { $setOnInsert: { moduleId: module.id, version: module.version, contentHash, content: module, syncedAt: new Date() } },
          { upsert: true },
        );
        if (result.upsertedCount === 1) {
          added.push(id);
          continue;
        }
        const stored = await model.findById(id).lean<VersionDoc>();
        if (stored && stored.contentHash !== contentHash) {
          changedWithoutBump.push(id);
          logger.warn(
            { module: id },
            `module ${id} changed without a version bump: past attempts keep the stored text; bump "version" to publish the change`,
          );
        }
      }
      return { added, changedWithoutBump };
    },
    async get(moduleId, version) {
      const id = `${moduleId}@${version}`;
      const hit = cache.get(id);
      if (hit) return hit;
      const doc = await model.findById(id).lean<VersionDoc>();
      if (!doc) return null;
      const module = moduleFileSchema.parse(doc.content);
      cache.set(id, module);
      return module;
    },
  };
}
