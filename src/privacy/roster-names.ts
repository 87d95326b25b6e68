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
      for (const m of members) {
        if (!m.name || m.name === m.userId) continue;
        await users.updateOne(
          { issuer: course.issuer, clientId: course.clientId, sub: m.userId, nameSource: { $in: ['pseudonym', 'roster'] } },
          { $set: { name: m.name, nameSource: 'roster' } },
        );
      }
      return members;
    },
  };
}
