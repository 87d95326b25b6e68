/**
 * The two platform shapes the conformance platform can take. Paths, role lists and extra claims
 * follow what Canvas and Moodle put on the wire, because those are the quirks a tool meets in real
 * deployments; everything common to both comes from the LTI 1.3 Core specification in platform.ts.
 */
export type Flavour = 'canvas' | 'moodle';
export type Persona = 'learner' | 'instructor' | 'teachingAssistant' | 'administrator';

export interface Person {
  userId: string;
  name: string;
  givenName: string;
  familyName: string;
  email: string;
  persona: Persona;
}

export interface Course {
  id: string;
  label: string;
  title: string;
}

/** What a flavour needs to know about one launch to shape its claims. */
export interface LaunchFacts {
  issuer: string;
  person: Person;
  course: Course;
  resourceLinkId: string;
}

export interface FlavourShape {
  productFamilyCode: Flavour;
  version: string;
  paths: {
    openidConfiguration: string;
    authorization: string;
    token: string;
    jwks: string;
    registration: string;
    deepLinkReturn: string;
  };
  placements: { resourceLink: string[]; deepLinking: string[] };
  loginHint(person: Person): string;
  messageHint(launchId: string): string;
  extraLoginParameters(): Record<string, string>;
  roles(persona: Persona): string[];
  contextType: string;
  extraClaims(facts: LaunchFacts): Record<string, unknown>;
  /** Custom parameters the platform adds on its own (Canvas admins configure canvas_course_id on the tool). */
  platformCustom(facts: LaunchFacts): Record<string, string>;
}

const LIS = 'http://purl.imsglobal.org/vocab/lis/v2';
const CLAIM = 'https://purl.imsglobal.org/spec/lti/claim';

/**
 * Canvas: institution roles next to context roles, a TA carries only the TeachingAssistant sub-role,
 * account admins carry only institution roles, the login carries lti_storage_target, and the launch
 * carries the LTI 1.1 legacy user id and the numeric course id as a custom parameter.
 */
const canvas: FlavourShape = {
  productFamilyCode: 'canvas',
  version: 'cloud',
  paths: {
    openidConfiguration: '/api/lti/security/openid-configuration',
    authorization: '/api/lti/authorize_redirect',
    token: '/login/oauth2/token',
    jwks: '/api/lti/security/jwks',
    registration: '/api/lti/registrations',
    deepLinkReturn: '/courses/1042/deep_linking_response',
  },
  placements: { resourceLink: ['course_navigation'], deepLinking: ['assignment_selection', 'link_selection'] },
  loginHint: (person) => `${person.userId}-global`,
  messageHint: (launchId) => `canvas.${launchId}`,
  extraLoginParameters: () => ({ lti_storage_target: 'post_message_forwarding', canvas_region: 'not_configured' }),
  roles: (persona) => {
    switch (persona) {
      case 'learner':
        return [`${LIS}/institution/person#Student`, `${LIS}/membership#Learner`, `${LIS}/system/person#User`];
      case 'instructor':
        return [`${LIS}/institution/person#Instructor`, `${LIS}/membership#Instructor`, `${LIS}/system/person#User`];
      case 'teachingAssistant':
        return [`${LIS}/institution/person#Student`, `${LIS}/membership/Instructor#TeachingAssistant`, `${LIS}/system/person#User`];
      case 'administrator':
        return [`${LIS}/institution/person#Administrator`, `${LIS}/system/person#User`];
    }
  },
  contextType: `${LIS}/course#CourseOffering`,
  extraClaims: ({ person }) => ({
    [`${CLAIM}/lti11_legacy_user_id`]: `legacy-${person.userId}`,
    [`${CLAIM}/lti1p1`]: { user_id: `legacy-${person.userId}` },
    'https://www.instructure.com/placement': 'course_navigation',
    locale: 'en',
    picture: 'https://canvas.instructure.com/images/messages/avatar-50.png',
  }),
  platformCustom: () => ({ canvas_course_id: '1042' }),
};

/**
 * Moodle: a site admin launching from a course is an Instructor there and a system Administrator,
 * the message hint is a JSON document, and the launch carries the `ext` claim naming the LMS.
 */
const moodle: FlavourShape = {
  productFamilyCode: 'moodle',
  version: '2022112800',
  paths: {
    openidConfiguration: '/mod/lti/openid-configuration.php',
    authorization: '/mod/lti/auth.php',
    token: '/mod/lti/token.php',
    jwks: '/mod/lti/certs.php',
    registration: '/mod/lti/openid-registration.php',
    deepLinkReturn: '/mod/lti/contentitem_return.php',
  },
  placements: { resourceLink: [], deepLinking: ['ContentArea'] },
  loginHint: (person) => person.userId,
  messageHint: (launchId) => JSON.stringify({ cmid: 7, launchid: `ltilaunch_${launchId}` }),
  extraLoginParameters: () => ({}),
  roles: (persona) => {
    switch (persona) {
      case 'learner':
        return [`${LIS}/membership#Learner`];
      case 'instructor':
        return [`${LIS}/membership#Instructor`];
      case 'teachingAssistant':
        return [`${LIS}/membership#Instructor`];
      case 'administrator':
        return [`${LIS}/membership#Instructor`, `${LIS}/system/person#Administrator`];
    }
  },
  contextType: `${LIS}/course#CourseSection`,
  extraClaims: ({ person, course }) => ({
    [`${CLAIM}/ext`]: { user_username: person.email.split('@')[0] ?? person.userId, lms: 'moodle-2' },
    [`${CLAIM}/lis`]: { person_sourcedid: '', course_section_sourcedid: course.id },
  }),
  platformCustom: () => ({}),
};

export const flavours: Record<Flavour, FlavourShape> = { canvas, moodle };
