import { Schema, type Connection, type Model } from 'mongoose';
import type { Framework } from './framework';

interface DomainDoc {
  _id: string;
  uuid: string;
  name: string;
  position: number;
}

interface CompetencyDoc {
  _id: string;
  uuid: string;
  domainId: string;
  name: string;
  summary: string;
  position: number;
}

export interface CompetencyRepository {
  loadFramework(): Promise<Framework>;
}

/**
 * The framework changes only through migrations (a new version ships with one), so pages reuse the last
 * read for this long instead of two reads per page; a migration run elsewhere shows within the bound.
 */
export const frameworkCacheMs = 60_000;

/** Model names are ours alone (ltijs registers platform, idtoken, nonce, state, accesstoken…). */
export function createCompetencyRepository(connection: Connection, options: { cacheMs?: number } = {}): CompetencyRepository {
  const cacheMs = options.cacheMs ?? frameworkCacheMs;
  let cached: { at: number; framework: Promise<Framework> } | undefined;
  const domains: Model<DomainDoc> =
    connection.models.CompetencyDomain ??
    connection.model<DomainDoc>(
      'CompetencyDomain',
      new Schema<DomainDoc>(
        { _id: String, uuid: String, name: String, position: Number },
        { collection: 'competency_domains', versionKey: false },
      ),
    );
  const competencies: Model<CompetencyDoc> =
    connection.models.Competency ??
    connection.model<CompetencyDoc>(
      'Competency',
      new Schema<CompetencyDoc>(
        { _id: String, uuid: String, domainId: String, name: String, summary: String, position: Number },
        { collection: 'competencies', versionKey: false },
      ),
    );

  async function read(): Promise<Framework> {
    const [domainDocs, competencyDocs] = await Promise.all([
      domains.find().sort({ position: 1 }).lean<DomainDoc[]>(),
      competencies.find().sort({ position: 1 }).lean<CompetencyDoc[]>(),
    ]);
    return {
      domains: domainDocs.map((d) => ({
        id: d._id,
        uuid: d.uuid,
        name: d.name,
        competencies: competencyDocs
          .filter((c) => c.domainId === d._id)
          .map((c) => ({ id: c._id, uuid: c.uuid, name: c.name, summary: c.summary })),
      })),
    };
  }

  return {
    loadFramework() {
      if (cached && Date.now() - cached.at < cacheMs) return cached.framework;
      const slot = { at: Date.now(), framework: read() };
      if (cacheMs > 0) cached = slot;
      // A failed or empty read (before the first migration) is not kept.
      slot.framework.then(
        (f) => {
          if (f.domains.length === 0 && cached === slot) cached = undefined;
        },
        () => {
          if (cached === slot) cached = undefined;
        },
      );
      return slot.framework;
    },
  };
}
