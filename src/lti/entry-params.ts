import type { RequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../shared/errors';

/**
 * The parameters that reach ltijs, checked before ltijs sees them: ltijs builds cookie names and database
 * filters from them, and throws outside any handler on values such as `state=a b` or an object, which
 * would end the process. Each is one string of bounded length from a safe character set.
 */
const printable = /^[\x21-\x7e]+$/;
const printableWithSpaces = /^[\x20-\x7e\u00a0-\uffff]+$/u;
const tokenChars = /^[A-Za-z0-9._~-]+$/;
const jwtChars = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

const urlParam = (name: string) =>
  z
    .string({ invalid_type_error: `${name} must be a single value`, required_error: `${name} is required` })
    .max(2048, `${name} must be at most 2,048 characters`)
    .regex(printable, `${name} must be a URL without spaces`)
    .refine((v) => /^https?:\/\//i.test(v), `${name} must be an http(s) URL`);

const textParam = (name: string, max: number, pattern = printableWithSpaces) =>
  z
    .string({ invalid_type_error: `${name} must be a single value`, required_error: `${name} is required` })
    .min(1, `${name} must not be empty`)
    .max(max, `${name} must be at most ${max.toLocaleString('en-US')} characters`)
    .regex(pattern, `${name} contains characters that are not allowed`);

export const loginParamsSchema = z.object({
  iss: urlParam('iss'),
  login_hint: textParam('login_hint', 2048),
  target_link_uri: urlParam('target_link_uri'),
  lti_message_hint: textParam('lti_message_hint', 4096).optional(),
  client_id: textParam('client_id', 255, printable).optional(),
  lti_deployment_id: textParam('lti_deployment_id', 255).optional(),
  lti_storage_target: textParam('lti_storage_target', 64, tokenChars).optional(),
});
export type LoginParams = z.infer<typeof loginParamsSchema>;

export const launchBodySchema = z.object({
  id_token: z
    .string({ invalid_type_error: 'id_token must be a single value' })
    .max(65_536, 'id_token must be at most 64 KB')
    .regex(jwtChars, 'id_token must be a signed JWT (three base64url parts)')
    .optional(),
  state: textParam('state', 512, tokenChars).optional(),
  lti_storage_target: textParam('lti_storage_target', 64, tokenChars).optional(),
});

/** A malformed request to an LTI entry point: 400 with the parameter and the rule. */
export class InvalidLtiRequestError extends AppError {
  readonly status = 400;
  readonly code = 'invalid_lti_request';
  readonly title = 'The LMS sent a request CoachLTI cannot use';
}

function firstProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? issue.message : 'the request is malformed';
}

/** Merges query and body as ltijs does, and refuses anything that is not one well-formed string each. */
export const validateLoginRequest: RequestHandler = (req, _res, next) => {
  const merged = { ...(req.query as Record<string, unknown>), ...((req.body as Record<string, unknown> | undefined) ?? {}) };
  const parsed = loginParamsSchema.safeParse(merged);
  if (!parsed.success) {
    next(new InvalidLtiRequestError(`The sign-in request from the LMS is malformed: ${firstProblem(parsed.error)}.`));
    return;
  }
  next();
};

export const validateLaunchRequest: RequestHandler = (req, _res, next) => {
  const parsed = launchBodySchema.safeParse((req.body as Record<string, unknown> | undefined) ?? {});
  if (!parsed.success) {
    next(new InvalidLtiRequestError(`The launch from the LMS is malformed: ${firstProblem(parsed.error)}.`));
    return;
  }
  next();
};

/**
 * `/lti/login` opened by hand (no OIDC parameters at all): the LMS calls this URL, a person never needs to.
 * Answered with a page (or JSON) saying what the URL is for, instead of a list of missing parameters.
 */
export class LoginInitiationOnlyError extends AppError {
  readonly status = 400;
  readonly code = 'login_initiation_only';
  readonly title = "This is CoachLTI's sign-in address for LMSs";
  readonly homeHref = '/';
  constructor(loginUrl: string) {
    super(
      `${loginUrl} is CoachLTI's OIDC login initiation URL: your LMS calls it with iss, login_hint and target_link_uri when someone opens a CoachLTI activity. Opened directly it has nothing to do. To use CoachLTI, open it from an activity in your course; to register it in an LMS, see the home page.`,
    );
  }
}

/** True when a request to the login URL carries none of the OIDC login parameters. */
export function hasNoLoginParams(req: { query: unknown; body?: unknown }): boolean {
  const merged = {
    ...((req.query as Record<string, unknown> | undefined) ?? {}),
    ...((req.body as Record<string, unknown> | undefined) ?? {}),
  };
  return merged.iss === undefined && merged.login_hint === undefined && merged.target_link_uri === undefined;
}
