import { AppError } from '../shared/errors';

/**
 * What a person sees when a launch is refused: one status and one plain sentence per reason.
 * The LMS administrator can act on the code shown at the bottom of the page.
 */
export interface RefusalView {
  status: number;
  title: string;
  message: string;
}

const views: Record<string, RefusalView> = {
  MISSING_VALIDATION_COOKIE: {
    status: 401,
    title: 'Your browser blocked the sign-in cookie',
    message:
      'CoachLTI could not confirm this launch because your browser blocks cookies for tools embedded in your course (Safari and some privacy settings do). Open CoachLTI in a new window to continue.',
  },
  ISS_CLAIM_DOES_NOT_MATCH: {
    status: 401,
    title: 'Launch refused',
    message: 'The launch came from a different platform than the one that started the sign-in.',
  },
  INVALID_JWT_RECEIVED: { status: 400, title: 'Launch refused', message: 'The launch message is not a valid signed token.' },
  ALG_NOT_RS256: {
    status: 401,
    title: 'Launch refused',
    message: 'The launch token is not signed with RS256, the only algorithm LTI 1.3 allows.',
  },
  KID_NOT_FOUND: { status: 401, title: 'Launch refused', message: 'The launch token is signed with a key the platform does not publish.' },
  UNREGISTERED_PLATFORM: {
    status: 401,
    title: 'Platform not registered',
    message: 'This LMS (issuer and client id) is not registered with CoachLTI. Ask your LMS administrator to register the tool.',
  },
  PLATFORM_NOT_ACTIVATED: {
    status: 403,
    title: 'Platform not yet activated',
    message: 'This LMS is registered but a CoachLTI administrator has not activated it yet.',
  },
  INVALID_SIGNATURE: { status: 401, title: 'Launch refused', message: 'The launch token signature could not be verified.' },
  TOKEN_EXPIRED: {
    status: 401,
    title: 'Launch expired',
    message: 'The launch token has expired. Go back to your course and open the activity again.',
  },
  IAT_IN_FUTURE: {
    status: 401,
    title: 'Launch refused',
    message: 'The launch token claims to have been issued in the future. Check the LMS server clock.',
  },
  TOKEN_TOO_OLD: {
    status: 401,
    title: 'Launch expired',
    message: 'The launch token is too old. Go back to your course and open the activity again.',
  },
  AZP_DOES_NOT_MATCH: { status: 401, title: 'Launch refused', message: 'The launch token is addressed to a different tool.' },
  UNKNOWN_DEPLOYMENT: {
    status: 403,
    title: 'Deployment not registered',
    message:
      'This installation of CoachLTI in your LMS (deployment) is not registered. Ask a CoachLTI administrator to add the deployment id.',
  },
  UNSUPPORTED_MESSAGE_TYPE: {
    status: 400,
    title: 'Launch not supported',
    message: 'CoachLTI supports resource link and deep linking launches only.',
  },
  UNSUPPORTED_VERSION: { status: 400, title: 'Launch not supported', message: 'CoachLTI supports LTI version 1.3.0 only.' },
  INVALID_CLAIMS: {
    status: 400,
    title: 'Launch refused',
    message: 'The launch message from your LMS does not follow LTI 1.3.',
  },
  NONCE_ALREADY_RECEIVED: {
    status: 401,
    title: 'Launch already used',
    message: 'This launch was already used once. Go back to your course and open the activity again.',
  },
  NONCE_MISMATCH: {
    status: 401,
    title: 'Launch refused',
    message:
      'The launch does not answer the sign-in CoachLTI started (its nonce differs). Go back to your course and open the activity again.',
  },
  NO_LTIK_OR_IDTOKEN_FOUND: {
    status: 401,
    title: 'Please launch from your course',
    message: 'CoachLTI opens from an activity in Canvas or Moodle. Go back to your course and open it from there.',
  },
  MISSING_LOGIN_PARAMETERS: {
    status: 400,
    title: 'Launch refused',
    message: 'The sign-in request is missing iss, login_hint or target_link_uri.',
  },
};

const fixHint = 'Ask your LMS administrator to check how CoachLTI is configured there.';

export function refusalView(code: string): RefusalView {
  return views[code] ?? { status: 401, title: 'Launch refused', message: 'The launch could not be verified.' };
}

/** A refused LTI request, rendered by the one error handler (an HTML page or JSON). */
export class LaunchRefusal extends AppError {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  constructor(
    /** A refusal code, for INVALID_CLAIMS followed by ": <claim> <rule>" (see LaunchRefusedError). */
    code: string,
    /** Offered when cookies were blocked: the same login, started again in a top-level window. */
    readonly newWindowUrl?: string,
  ) {
    const separator = code.indexOf(': ');
    const base = separator > 0 ? code.slice(0, separator) : code;
    const detail = separator > 0 ? code.slice(separator + 2) : undefined;
    const view = refusalView(base);
    super(detail && base === 'INVALID_CLAIMS' ? `${view.message.replace(/\.$/, '')}: ${detail}. ${fixHint}` : view.message);
    this.status = view.status;
    this.code = base;
    this.title = view.title;
  }
}

/**
 * The launch URL opened without a launch (no id_token from the LMS): a person followed a link or a bookmark.
 * Our own code and words, not ltijs's NO_LTIK_OR_IDTOKEN_FOUND.
 */
export class LaunchWithoutTokenError extends AppError {
  readonly status = 401;
  readonly code = 'launch_without_token';
  readonly title = 'Please launch from your course';
  readonly homeHref = '/';
  constructor(launchUrl: string) {
    super(
      `CoachLTI opens from an activity in Canvas or Moodle: go back to your course and open it from there. (${launchUrl} is CoachLTI's launch URL, where the LMS posts a signed launch; opened directly, or after the launch expired, it has nothing to show.)`,
    );
  }
}
