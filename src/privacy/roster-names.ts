import type { Connection } from 'mongoose';
import type { RosterService } from '../lti/nrps';

/**
 * Names fall back to roster data where the LMS grants it: when an NRPS roster names a person we only know
 * by a pseudonym (anonymous launches), the roster's name is used from then on. A name the launch sent is
 * never overwritten, and the LMS user id is never taken for a name.
 */
export function withRosterNames(roster: RosterService, connection: Connection): RosterService {
  return {
    async roster(course) {
      const members = await roster.roster(course);
      const users = connection.collection('users');
      const named = new Map(members.filter((m) => m.name && m.name !== m.userId).map((m) => [m.userId, m.name]));
      if (named.size === 0) return members;
      // One read finds who still needs the roster's name (the faculty overview calls this on every load): no write per member.
      const stale = await users
        .find(
          {
            issuer: course.issuer,
            clientId: course.clientId,
            sub: { $in: [...named.keys()] },
            nameSource: { $in: ['pseudonym', 'roster'] },
          },
          { projection: { sub: 1, name: 1 } },
        )
        .toArray();
      const updates = stale
        .filter((u) => named.get(String(u.sub)) !== u.name)
        .map((u) => ({
          updateOne: {
            filter: { _id: u._id, nameSource: { $in: ['pseudonym', 'roster'] } },
            update: { $set: { name: named.get(String(u.sub))!, nameSource: 'roster' } },
          },
        }));
      if (updates.length > 0) await users.bulkWrite(updates, { ordered: false });
      return members;
    },
  };
}
