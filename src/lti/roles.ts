/**
 * LTI role vocabulary → what the tool shows. Platforms send full URIs (context, institution and system
 * roles, including sub-roles like …/membership/Instructor#TeachingAssistant) and sometimes the old short
 * forms ("Instructor", "Learner"). Anything unknown gets the learner view, the least privileged one.
 */
export type ToolRole = 'admin' | 'instructor' | 'learner';

const lis = 'http://purl.imsglobal.org/vocab/lis/v2/';

const adminRoles = new Set([`${lis}institution/person#Administrator`, `${lis}system/person#Administrator`, `${lis}system/person#SysAdmin`]);

/** Context roles that may teach: instructors, their sub-roles (TA…), and content developers. */
function isTeachingContextRole(role: string): boolean {
  if (role === `${lis}membership#Instructor` || role === `${lis}membership#ContentDeveloper`) return true;
  if (role.startsWith(`${lis}membership/Instructor#`)) return true; // TeachingAssistant, Grader, …
  if (role.startsWith(`${lis}membership/ContentDeveloper#`)) return true;
  return role === 'Instructor' || role === 'ContentDeveloper' || role === 'TeachingAssistant';
}

function isLearnerContextRole(role: string): boolean {
  return role === `${lis}membership#Learner` || role.startsWith(`${lis}membership/Learner#`) || role === 'Learner';
}

export interface RoleSummary {
  /** The view to open. */
  view: ToolRole;
  /** Holds a learner role in the launch context (only these get grades). */
  isLearner: boolean;
  isInstructor: boolean;
  isAdmin: boolean;
  /** Holds a teaching-assistant role: rates and observes, changes no settings. */
  isAssistant: boolean;
}

export function summarizeRoles(roles: readonly string[]): RoleSummary {
  const isAdmin = roles.some((r) => adminRoles.has(r));
  const isInstructor = roles.some(isTeachingContextRole);
  const isLearner = roles.some(isLearnerContextRole);
  const view: ToolRole = isAdmin ? 'admin' : isInstructor ? 'instructor' : 'learner';
  // Canvas sends a TA as Instructor plus the TeachingAssistant sub-role; Moodle cannot tell a non-editing teacher apart.
  const isAssistant = !isAdmin && roles.some((r) => r === `${lis}membership/Instructor#TeachingAssistant` || r === 'TeachingAssistant');
  return { view, isLearner, isInstructor, isAdmin, isAssistant };
}

export function roleLabel(view: ToolRole): string {
  return { admin: 'Administrator', instructor: 'Faculty', learner: 'Coach' }[view];
}

/** Short, readable names for a roster ("Instructor", "TeachingAssistant", "Learner"). */
export function shortRoleName(role: string): string {
  const hash = role.lastIndexOf('#');
  return hash >= 0 ? role.slice(hash + 1) : (role.split('/').pop() ?? role);
}
