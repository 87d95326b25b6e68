import { createHash } from 'node:crypto';
import type { Urls } from './core';
import { agsScopes, claim, courseOfferingType, ltiVersion, role, scope } from './lti';
import type { CourseDoc, EnrollmentDoc, LaunchDoc, RegistrationDoc, UserDoc } from './store';
import type { Shape } from './types';

/** Roles as each LMS sends them, for the course role (undefined when not enrolled) and site admin flag. */
export function rolesFor(shape: Shape, courseRole: EnrollmentDoc['role'] | undefined, siteAdmin: boolean): string[] {
  if (shape === 'canvas') {
    // Canvas: context roles plus institution roles, and system User for everyone.
    const roles: string[] = [];
    if (courseRole === 'learner') roles.push(role.learner, role.institutionStudent);
    if (courseRole === 'instructor') roles.push(role.instructor, role.institutionInstructor);
    if (courseRole === 'ta') roles.push(role.instructor, role.teachingAssistant, role.institutionInstructor);
    if (siteAdmin) roles.push(role.institutionAdministrator);
    roles.push(role.systemUser);
    return roles;
  }
  // Moodle (lti_get_ims_role): Instructor when the user holds mod/lti:manage (editing and non-editing
  // teachers, managers, site admins), otherwise Learner. Site admins get the system and institution
  // Administrator roles on top.
  if (siteAdmin) return [role.instructor, role.systemAdministrator, role.institutionAdministrator];
  return [courseRole === 'learner' || courseRole === undefined ? role.learner : role.instructor];
}

/** Context roles only, as both LMSs list them in NRPS. */
export function membershipRolesFor(shape: Shape, courseRole: EnrollmentDoc['role']): string[] {
  if (courseRole === 'learner') return [role.learner];
  if (courseRole === 'instructor') return [role.instructor];
  return shape === 'canvas' ? [role.instructor, role.teachingAssistant] : [role.instructor];
}

/**
 * What personal data the tool gets. Canvas: the registered privacy level (Canvas's own default is
 * anonymous; a tool that asks for the claims but sends no level gets what it asked for). Moodle: the
 * claims the tool asked for at registration.
 */
export function privacyOf(registration: RegistrationDoc, launch?: Pick<LaunchDoc, 'privacyLevel'>): { name: boolean; email: boolean } {
  switch (launch?.privacyLevel ?? registration.privacyLevel) {
    case 'public':
      return { name: true, email: true };
    case 'name_only':
      return { name: true, email: false };
    case 'email_only':
      return { name: false, email: true };
    case 'anonymous':
      return { name: false, email: false };
  }
  const asked = new Set(registration.claims);
  return { name: asked.has('name') || asked.has('given_name') || asked.has('family_name'), email: asked.has('email') };
}

const commonVariables = [
  '$User.id',
  '$Person.name.full',
  '$Person.name.given',
  '$Person.name.family',
  '$Person.email.primary',
  '$Context.id',
  '$Context.title',
  '$Context.label',
  '$ResourceLink.id',
  '$ResourceLink.title',
  '$Membership.role',
];

export function supportedVariables(shape: Shape): string[] {
  return shape === 'canvas'
    ? [...commonVariables, '$Canvas.course.id', '$Canvas.user.id', '$Canvas.term.name', '$Canvas.term.startAt', '$Canvas.term.endAt']
    : [...commonVariables, '$CourseSection.timeFrame.begin', '$CourseSection.timeFrame.end'];
}

export interface ClaimInput {
  registration: RegistrationDoc;
  launch: LaunchDoc;
  user: UserDoc;
  course: CourseDoc;
  enrollment: EnrollmentDoc | null;
  /** The resource link (resource link launches only). */
  link?: { id: string; title: string; text?: string; custom: Record<string, string> };
  lineItemUrl?: string;
  /** Canvas placement the launch came from: course_navigation for "My training", link_selection otherwise. */
  placement: string;
  nonce: string;
  urls: Urls;
  /** Test knob: the AGS scopes this course grants (an LMS setting per course or per tool placement). */
  courseGrants?: readonly string[];
}

function substitutions(input: ClaimInput, roles: string[]): Map<string, string> {
  const { user, course, link, registration } = input;
  const privacy = privacyOf(registration, input.launch);
  const values = new Map<string, string>([
    ['$User.id', user.userId],
    ['$Context.id', course._id],
    ['$Context.title', course.title],
    ['$Context.label', course.label],
    ['$Membership.role', roles.join(',')],
  ]);
  if (privacy.name) {
    values.set('$Person.name.full', user.name);
    values.set('$Person.name.given', user.givenName);
    values.set('$Person.name.family', user.familyName);
  }
  if (privacy.email) values.set('$Person.email.primary', user.email);
  if (link) {
    values.set('$ResourceLink.id', link.id);
    values.set('$ResourceLink.title', link.title);
  }
  if (course.canvasCourseId) values.set('$Canvas.course.id', course.canvasCourseId);
  if (user.legacyId) values.set('$Canvas.user.id', user.legacyId);
  // Each shape expands only what its LMS knows; the other's variables pass literally, as they do there.
  const shape = registration.shape;
  if (shape === 'canvas' && course.termName) values.set('$Canvas.term.name', course.termName);
  if (shape === 'canvas' && course.termStartAt) values.set('$Canvas.term.startAt', course.termStartAt);
  if (shape === 'canvas' && course.termEndAt) values.set('$Canvas.term.endAt', course.termEndAt);
  if (shape === 'moodle' && course.startDate) values.set('$CourseSection.timeFrame.begin', course.startDate);
  if (shape === 'moodle' && course.endDate) values.set('$CourseSection.timeFrame.end', course.endDate);
  return values;
}

/** LTI Core §5.4.1: a value that is exactly a known variable is replaced; unknown ones pass literally. */
function substitute(custom: Record<string, string>, values: Map<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(custom).map(([k, v]) => [k, values.get(v) ?? v]));
}

function platformGuid(urls: Urls, shape: Shape): string {
  const hash = createHash('sha1').update(urls.issuer(shape)).digest('hex');
  return shape === 'canvas' ? `${hash}:canvas-lms` : hash.slice(0, 32);
}

/** The id_token payload for one launch, shaped like the LMS of that shape sends it. */
export function buildIdTokenClaims(input: ClaimInput): Record<string, unknown> {
  const { registration, launch, user, course, enrollment, link, urls } = input;
  const shape = registration.shape;
  const roles = rolesFor(shape, enrollment?.role, user.siteAdmin);
  const privacy = privacyOf(registration, launch);
  const values = substitutions(input, roles);
  const message = registration.messages.find((m) => m.type === launch.messageType);
  const custom: Record<string, string> = {
    ...substitute(registration.customParameters, values),
    ...substitute(message?.custom_parameters ?? {}, values),
    ...substitute(link?.custom ?? {}, values),
    ...launch.custom,
    ...(shape === 'canvas' && course.canvasCourseId ? { canvas_course_id: course.canvasCourseId } : {}),
  };
  const now = Math.floor(Date.now() / 1000);
  const agsGranted = registration.scopes.filter((s) => agsScopes.includes(s) && (!input.courseGrants || input.courseGrants.includes(s)));

  const claims: Record<string, unknown> = {
    iss: urls.issuer(shape),
    aud: registration._id,
    azp: registration._id,
    sub: user.userId,
    exp: now + 300,
    iat: now,
    nonce: input.nonce,
    ...(privacy.name ? { name: user.name, given_name: user.givenName, family_name: user.familyName } : {}),
    ...(privacy.email ? { email: user.email } : {}),
    locale: 'en',
    [claim.messageType]: launch.messageType,
    [claim.version]: ltiVersion,
    [claim.deploymentId]: registration.deploymentId,
    [claim.targetLinkUri]: launch.targetLinkUri,
    [claim.roles]: roles,
    [claim.context]: { id: course._id, label: course.label, title: course.title, type: [courseOfferingType] },
    [claim.toolPlatform]: {
      guid: platformGuid(urls, shape),
      name: shape === 'canvas' ? 'CoachLTI Dev Canvas' : 'CoachLTI Dev Moodle',
      version: shape === 'canvas' ? 'cloud' : '2024100700',
      product_family_code: shape,
    },
    [claim.launchPresentation]: { document_target: 'iframe', return_url: urls.returnUrl(shape, course._id), locale: 'en' },
    [claim.custom]: custom,
  };
  if (link) claims[claim.resourceLink] = { id: link.id, title: link.title, ...(link.text ? { description: link.text } : {}) };
  if (agsGranted.length > 0) {
    claims[claim.agsEndpoint] = {
      scope: agsGranted,
      lineitems: urls.lineItems(shape, course._id),
      ...(input.lineItemUrl ? { lineitem: input.lineItemUrl } : {}),
    };
  }
  if (registration.scopes.includes(scope.membershipReadonly)) {
    claims[claim.nrps] = { context_memberships_url: urls.memberships(shape, course._id), service_versions: ['2.0'] };
  }
  if (launch.messageType === 'LtiDeepLinkingRequest') {
    claims[claim.deepLinkingSettings] = {
      deep_link_return_url: urls.deepLinkReturn(shape),
      accept_types: launch.acceptTypes?.length ? launch.acceptTypes : ['ltiResourceLink'],
      accept_presentation_document_targets: launch.acceptTargets?.length ? launch.acceptTargets : ['iframe', 'window'],
      accept_multiple: launch.acceptMultiple,
      ...(launch.acceptLineItem === null ? {} : { accept_lineitem: launch.acceptLineItem ?? true }),
      auto_create: true,
      title: 'Add CoachLTI content',
      data: launch.dlData,
    };
  }
  if (shape === 'canvas') {
    if (user.legacyId) claims[claim.lti11LegacyUserId] = user.legacyId;
    claims[claim.canvasPlacement] = input.placement;
  } else {
    claims[claim.ext] = { lms: 'moodle-2' };
  }
  return claims;
}
