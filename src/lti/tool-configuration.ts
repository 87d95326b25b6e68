import { scopes } from './platform-client';
import { termParameters } from '../courses/course-term';

/** The tool's own URLs and what it asks of platforms: shared by Dynamic Registration and Canvas JSON. */
export interface ToolUrls {
  base: string;
  login: string;
  launch: string;
  keys: string;
  register: string;
  canvasJson: string;
}

export function toolUrls(toolUrl: string): ToolUrls {
  return {
    base: toolUrl,
    login: `${toolUrl}/lti/login`,
    launch: `${toolUrl}/lti/launch`,
    keys: `${toolUrl}/lti/keys`,
    register: `${toolUrl}/lti/register`,
    canvasJson: `${toolUrl}/lti/canvas.json`,
  };
}

export const toolName = 'CoachLTI';
export const toolDescription =
  'Coach development for medical education: modules mapped to 13 coaching competencies, scored per competency and sent to the gradebook.';

/** AGS (line items, scores, results) and NRPS, as Dynamic Registration and Canvas expect them. */
export const requestedScopes = [scopes.lineItem, scopes.lineItemReadonly, scopes.score, scopes.resultReadonly, scopes.nrps];

export const requestedClaims = ['iss', 'sub', 'name', 'given_name', 'family_name', 'email'];

export function canvasDeveloperKeyJson(urls: ToolUrls): Record<string, unknown> {
  const host = new URL(urls.base).host;
  return {
    title: toolName,
    description: toolDescription,
    oidc_initiation_url: urls.login,
    target_link_uri: urls.launch,
    scopes: requestedScopes,
    public_jwk_url: urls.keys,
    extensions: [
      {
        domain: host,
        tool_id: 'coachlti',
        platform: 'canvas.instructure.com',
        privacy_level: 'public',
        settings: {
          text: toolName,
          placements: [
            { placement: 'link_selection', message_type: 'LtiDeepLinkingRequest', target_link_uri: urls.launch, text: 'CoachLTI module' },
            {
              placement: 'assignment_selection',
              message_type: 'LtiDeepLinkingRequest',
              target_link_uri: urls.launch,
              text: 'CoachLTI module',
            },
            {
              placement: 'course_navigation',
              message_type: 'LtiResourceLinkRequest',
              target_link_uri: urls.launch,
              text: 'Coach training',
              default: 'enabled',
            },
          ],
        },
      },
    ],
    custom_fields: { canvas_course_id: '$Canvas.course.id', ...termParameters },
  };
}

/** The client registration request of LTI Dynamic Registration 1.0 §3.3. */
export function registrationRequest(urls: ToolUrls, productFamily: string | undefined): Record<string, unknown> {
  const isCanvas = productFamily === 'canvas';
  const host = new URL(urls.base).host;
  return {
    application_type: 'web',
    response_types: ['id_token'],
    grant_types: ['implicit', 'client_credentials'],
    initiate_login_uri: urls.login,
    redirect_uris: [urls.launch],
    client_name: toolName,
    jwks_uri: urls.keys,
    token_endpoint_auth_method: 'private_key_jwt',
    scope: requestedScopes.join(' '),
    'https://purl.imsglobal.org/spec/lti-tool-configuration': {
      domain: host,
      description: toolDescription,
      target_link_uri: urls.launch,
      claims: requestedClaims,
      // Term and course dates for the program dashboard's cohorts (README: which LMS fills which).
      custom_parameters: { ...termParameters },
      messages: [
        {
          type: 'LtiDeepLinkingRequest',
          target_link_uri: urls.launch,
          label: 'Add a CoachLTI module',
          supported_types: ['ltiResourceLink'],
          ...(isCanvas ? { placements: ['link_selection', 'assignment_selection'] } : {}),
        },
        {
          type: 'LtiResourceLinkRequest',
          target_link_uri: urls.launch,
          label: 'Coach training',
          ...(isCanvas ? { placements: ['course_navigation'] } : {}),
        },
      ],
      // Canvas defaults to anonymous launches; the roster and the gradebook need names.
      ...(isCanvas ? { 'https://canvas.instructure.com/lti/privacy_level': 'public' } : {}),
    },
  };
}
