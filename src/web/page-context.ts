import { roleLabel } from '../lti/roles';
import type { LaunchSession } from './session';

/** The header every launched page shows: who, which course, which role. */
export function pageContext(launch: LaunchSession): { user: { name: string }; course: { title: string } | undefined; roleLabel: string } {
  return {
    user: { name: launch.userName },
    course: launch.courseTitle ? { title: launch.courseTitle } : undefined,
    roleLabel: roleLabel(launch.view),
  };
}
