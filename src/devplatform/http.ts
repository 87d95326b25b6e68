import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { z, type ZodTypeAny } from 'zod';

/**
 * How an endpoint reports errors. Each follows its spec: the token endpoint RFC 6749 §5.2, the
 * registration endpoint RFC 7591 §3.2.2 (both `{error, error_description}`), AGS/NRPS the app's
 * `{error: {code, message}}`, and browser-facing endpoints an HTML page.
 */
export type ErrorFormat = 'oauth' | 'service' | 'page';

export class PlatformError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'PlatformError';
  }
}

const badRequest = (message: string, code = 'invalid_request'): PlatformError => new PlatformError(400, code, message);
export const notFound = (message: string): PlatformError => new PlatformError(404, 'not_found', message);

/** Marks the error format of the routes that follow; used by the error handler. */
export function errorFormat(format: ErrorFormat): RequestHandler {
  return (_req, res, next) => {
    res.locals.devplatformErrorFormat = format;
    next();
  };
}

/** Express 4 does not catch rejected promises. */
export function handle(handler: (req: Request, res: Response, next: NextFunction) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    handler(req, res, next).catch(next);
  };
}

/** Parses with zod; failures become a 400 listing the problems (never the values). */
export function parse<T extends ZodTypeAny>(schema: T, value: unknown, what: string, code = 'invalid_request'): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw badRequest(`${what}: ${describeIssues(result.error)}`, code);
  return result.data as z.infer<T>;
}

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'value'} ${issue.message}`)
    .join('; ');
}

/** Query/body values arrive as string | string[] | objects; LTI parameters must appear once. */
export const singleString = z.string({ invalid_type_error: 'must be given once, as text' });

function statusOfBodyParserError(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'type' in error && 'status' in error) {
    const status = (error as { status: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) return status;
  }
  return undefined;
}

function toPlatformError(error: unknown): PlatformError | undefined {
  if (error instanceof PlatformError) return error;
  const status = statusOfBodyParserError(error);
  if (status === 413) return new PlatformError(413, 'payload_too_large', 'The request body is too large.');
  if (status === 415) return new PlatformError(415, 'unsupported_media_type', 'The request body has an unsupported encoding.');
  if (status) return new PlatformError(status, 'invalid_request', 'The request body could not be read.');
  return undefined;
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const format = (res.locals.devplatformErrorFormat as ErrorFormat | undefined) ?? 'service';
    const known = toPlatformError(error);
    const failure = known ?? new PlatformError(500, 'server_error', 'The development platform failed; see the server log.');
    if (known) logger.info({ status: failure.status, code: failure.code, reason: failure.message, path: req.path }, 'devplatform refused');
    else logger.error({ err: error, path: req.path }, 'devplatform request failed');
    res.status(failure.status).set(failure.headers);
    if (format === 'oauth') {
      res.set('Cache-Control', 'no-store').json({ error: failure.code, error_description: failure.message });
    } else if (format === 'service') {
      res.json({ error: { code: failure.code, message: failure.message } });
    } else {
      res.render('devplatform/error', {
        pageTitle: 'Development platform error',
        status: failure.status,
        code: failure.code,
        message: failure.message,
        base: (res.locals.devplatformBase as string | undefined) ?? req.baseUrl,
      });
    }
  };
}

/** RFC 8288 Link header value for the next page, keeping the other query parameters. */
export function nextPageLink(baseUrl: string, query: Record<string, string | undefined>, page: number): string {
  const url = new URL(baseUrl);
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
  url.searchParams.set('page', String(page + 1));
  return `<${url.toString()}>; rel="next"`;
}

export const pagingQuery = {
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  page: z.coerce.number().int().min(1).optional(),
};
