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

/** Model names are ours alone (ltijs registers platform, idtoken, nonce, state, accesstoken…). */
export function createCompetencyRepository(connection: Connection): CompetencyRepository {
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

  return {
    async loadFramework() {
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
    },
  };
}
