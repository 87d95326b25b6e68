import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { AppError } from '../shared/errors';
import { pageContext } from './page-context';

/** Wants JSON: API routes, or a client that prefers JSON over HTML. Everything else gets a page. */
export function wantsJson(req: Request): boolean {
  if (req.path.startsWith('/api/') || req.path === '/healthz' || req.path === '/readyz') return true;
  return req.accepts(['html', 'json']) === 'json';
}

const databaseErrorNames = new Set([
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoTopologyClosedError',
]);

function isDatabaseUnavailable(error: Error): boolean {
  return databaseErrorNames.has(error.name) || /before initial connection is complete|Client must be connected/.test(error.message);
}

interface ErrorView {
  status: number;
  code: string;
  title: string;
  message: string;
  details?: readonly string[];
  newWindowUrl?: string;
  /** A way on for someone who opened an entry point by hand (the home page). */
  homeHref?: string;
}

function toView(error: unknown): ErrorView {
  if (error instanceof AppError) {
    const extra = error as AppError & { title?: string; newWindowUrl?: string; homeHref?: string };
    return {
      status: error.status,
      code: error.code,
      title: extra.title ?? titleFor(error.status),
      message: error.message,
      details: error.details,
      newWindowUrl: extra.newWindowUrl,
      homeHref: extra.homeHref,
    };
  }
  if (error instanceof Error && isDatabaseUnavailable(error)) {
    return {
      status: 503,
      code: 'database_unavailable',
      title: titleFor(503),
      message: 'The database is not reachable right now. Please try again in a minute.',
    };
  }
  const status = statusFromBodyParser(error);
  if (status)
    return {
      status,
      code: status === 413 ? 'payload_too_large' : 'bad_request',
      title: titleFor(status),
      message: status === 413 ? 'The request is too large.' : 'The request body could not be read.',
    };
  return {
    status: 500,
    code: 'internal_error',
    title: titleFor(500),
    message: 'Something went wrong on our side. The problem has been logged.',
  };
}

/** Client errors raised by express's own middleware (body-parser, http-errors): their 4xx status stands. */
function statusFromBodyParser(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && ('type' in error || 'expose' in error) && 'status' in error) {
    const status = (error as { status: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) return status;
  }
  return undefined;
}

function titleFor(status: number): string {
  const titles: Record<number, string> = {
    400: 'The request could not be used',
    401: 'Please sign in again',
    403: 'Not allowed',
    404: 'Page not found',
    409: 'Conflict',
    413: 'Request too large',
    415: 'Unsupported request format',
    503: 'Temporarily unavailable',
  };
  return titles[status] ?? 'Something went wrong';
}

export const notFoundHandler: RequestHandler = (req, res) => {
  const view: ErrorView = { status: 404, code: 'not_found', title: titleFor(404), message: `There is nothing at ${req.path}.` };
  if (wantsJson(req)) {
    res.status(404).json({ error: { code: view.code, message: view.message } });
  } else {
    res.status(404).render('error', { ...view, pageTitle: view.title });
  }
};

/** The one place where errors become responses. */
export const errorHandler: ErrorRequestHandler = (error: unknown, req, res, next) => {
  if (res.headersSent) {
    next(error);
    return;
  }
  const view = toView(error);
  if (view.status >= 500) {
    req.log.error({ err: error }, 'request failed');
  } else {
    req.log.info({ status: view.status, code: view.code, reason: view.message }, 'request refused');
  }
  res.status(view.status);
  if (wantsJson(req)) {
    res.json({ error: { code: view.code, message: view.message, ...(view.details ? { details: view.details } : {}) } });
  } else {
    // The header keeps who is signed in, as on every other page of the launch.
    const launch = req.session?.launch;
    res.render('error', { ...(launch ? pageContext(launch) : {}), ...view, pageTitle: view.title });
  }
};
