import { Types, type Connection } from 'mongoose';
import { platformCondition, scopePlatforms, type AdminScope } from './admin-scope';

/** At most this many courses or people match one search; a broader search is narrowed by the admin. */
const searchLimit = 500;

/** The text as a literal, case-insensitive pattern: what an administrator types is never a regular expression. */
function literal(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
}

function objectIds(ids: string[]): Types.ObjectId[] {
  return [...new Set(ids)].filter((id) => Types.ObjectId.isValid(id) && /^[a-f0-9]{24}$/i.test(id)).map((id) => new Types.ObjectId(id));
}

/**
 * Courses and people by what administrators know them as (title, name, email), always within the admin's
 * platforms: another tenant's course or person never matches and is never named. Names and emails are
 * stored in the clear (only reflection texts and comments are sealed), so they are searched directly.
 */
export function createDirectory(connection: Connection) {
  const courses = () => connection.collection('courses');
  const users = () => connection.collection('users');
  const scoped = (scope: AdminScope) => platformCondition(scopePlatforms(scope)) ?? {};

  return {
    /** Ids of the courses whose title contains the text. */
    async courseIdsByTitle(scope: AdminScope, text: string): Promise<string[]> {
      const docs = await courses()
        .find({ $and: [scoped(scope), { title: literal(text) }] }, { projection: { _id: 1 } })
        .limit(searchLimit)
        .toArray();
      return docs.map((d) => String(d._id));
    },

    /** Ids of the people whose name or email contains the text. */
    async userIdsByNameOrEmail(scope: AdminScope, text: string): Promise<string[]> {
      const pattern = literal(text);
      const docs = await users()
        .find({ $and: [scoped(scope), { $or: [{ name: pattern }, { email: pattern }] }] }, { projection: { _id: 1 } })
        .limit(searchLimit)
        .toArray();
      return docs.map((d) => String(d._id));
    },

    /** Course titles by id (only courses within the scope). */
    async courseTitles(scope: AdminScope, ids: string[]): Promise<Map<string, string>> {
      const wanted = objectIds(ids);
      if (wanted.length === 0) return new Map();
      const docs = await courses()
        .find({ $and: [scoped(scope), { _id: { $in: wanted } }] }, { projection: { title: 1 } })
        .toArray();
      return new Map(docs.map((d) => [String(d._id), String(d.title ?? '')]));
    },

    /** People's current names by id (an erased person shows their pseudonym; only people within the scope). */
    async userNames(scope: AdminScope, ids: string[]): Promise<Map<string, string>> {
      const wanted = objectIds(ids);
      if (wanted.length === 0) return new Map();
      const docs = await users()
        .find({ $and: [scoped(scope), { _id: { $in: wanted } }] }, { projection: { name: 1 } })
        .toArray();
      return new Map(docs.map((d) => [String(d._id), String(d.name ?? '')]));
    },
  };
}

export type Directory = ReturnType<typeof createDirectory>;
