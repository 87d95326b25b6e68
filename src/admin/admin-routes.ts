import { Router, type Request } from 'express';
import type { Connection } from 'mongoose';
import { z } from 'zod';
import type { Config } from '../config/config';
import type { GradingAdmin, ReconcileRow } from '../grading/grading-admin';
import { outboxStatuses, type OutboxEntry } from '../grading/outbox';
import type { LtiProvider } from '../lti/ltijs-adapter';
import { PlatformRequestError } from '../lti/platform-client';
import type { PlatformRegistry } from '../lti/platform-registry';
import { BadRequestError, NotFoundError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { asyncHandler } from '../web/async-handler';
import { csrfToken, verifyCsrf } from '../web/session';
import { createAdminAccounts, type AdminAccounts } from './admin-accounts';
import { adminActor, adminAuthRoutes, adminHeader, requireAdmin, type AdminActor } from './admin-auth';
import { auditActionLabels, createAuditLog, type AuditLog } from './audit-log';
import {
  csvRecord,
  formatScore,
  formatTime,
  ledgerRow,
  pageSize,
  parseLedgerQuery,
  queryString,
  reconcileLabels,
  statusLabels,
  toCsv,
} from './ledger-view';
import type { RateLimiter } from './rate-limiter';

/** The administrator area: password sign-in or an institution/system Administrator launch. */
export interface AdminDeps {
  connection: Connection;
  config: Config;
  logger: Logger;
  provider: LtiProvider;
  registry: PlatformRegistry;
  grading: GradingAdmin;
  /** Defaults to admin accounts on `connection`. */
  accounts?: AdminAccounts;
  /** Defaults to the admin_audit_log on `connection`. */
  audit?: AuditLog;
  /** Defaults to 10 sign-in POSTs per IP per 15 minutes. */
  loginLimiter?: RateLimiter;
}

/** The CSV export is for a filtered view; this many entries at most. */
const exportLimit = 50_000;

const objectIdParam = z.string().regex(/^[a-f0-9]{24}$/i);

const retryBodySchema = z.object({
  action: z.enum(['selected', 'all-failed'], { message: 'choose "Retry selected" or "Retry all failed"' }),
  ids: z
    .union([z.string(), z.array(z.string()).max(1000)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
    .pipe(z.array(objectIdParam)),
  back: z.string().max(2000).optional(),
});

const nav = [
  { href: '/admin', label: 'Overview' },
  { href: '/admin/passback', label: 'Grade passback' },
  { href: '/admin/audit', label: 'Audit log' },
  { href: '/admin/platforms', label: 'Platforms' },
];

export function navFor(current: string) {
  return nav.map((n) => ({ ...n, current: n.href === current }));
}

/** Reads a one-shot notice left by a POST before its redirect. */
function takeNotice(req: Request): string | undefined {
  const notice = req.session.adminNotice;
  if (notice !== undefined) delete req.session.adminNotice;
  return notice;
}

function courseParam(req: Request): string {
  const parsed = objectIdParam.safeParse(req.params.courseId);
  if (!parsed.success) throw new NotFoundError('There is no such course.');
  return parsed.data.toLowerCase();
}

/** The ledger filter a form was posted from (a hidden field), as a safe redirect target. */
function backTo(back: string | undefined): { url: string; params: Record<string, string> } {
  try {
    const { params } = parseLedgerQuery(Object.fromEntries(new URLSearchParams(back ?? '')));
    return { url: `/admin/passback${queryString(params)}`, params };
  } catch {
    return { url: '/admin/passback', params: {} };
  }
}

export function adminRoutes(deps: AdminDeps): Router {
  const router = Router();
  const accounts = deps.accounts ?? createAdminAccounts(deps.connection);
  const audit = deps.audit ?? createAuditLog(deps.connection);

  router.use('/admin', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  router.use(adminAuthRoutes({ accounts, audit, loginLimiter: deps.loginLimiter }));

  const actorOf = (req: Request): AdminActor => adminActor(req)!;

  const view = (req: Request, current: string, extra: Record<string, unknown>) => {
    const actor = actorOf(req);
    return {
      ...adminHeader(req),
      csrf: csrfToken(req),
      nav: navFor(current),
      passwordAdmin: actor.kind === 'password',
      notice: takeNotice(req),
      ...extra,
    };
  };

  const platformNames = async (): Promise<{ name: (issuer: string) => string; list: { issuer: string; name: string }[] }> => {
    const platforms = await deps.provider.listPlatforms();
    const byIssuer = new Map<string, string>();
    for (const p of platforms) if (!byIssuer.has(p.issuer)) byIssuer.set(p.issuer, p.name || p.issuer);
    return {
      name: (issuer) => byIssuer.get(issuer) ?? issuer,
      list: [...byIssuer].map(([issuer, name]) => ({ issuer, name })).sort((a, b) => a.name.localeCompare(b.name)),
    };
  };

  router.get(
    '/admin',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const [platforms, settings] = await Promise.all([deps.provider.listPlatforms(), deps.registry.list()]);
      const rows = platforms.map((p) => {
        const s = settings.find((x) => x.issuer === p.issuer && x.clientId === p.clientId);
        return {
          name: p.name,
          issuer: p.issuer,
          clientId: p.clientId,
          active: p.active,
          deployments: s?.deploymentIds.join(', ') ?? '',
          registeredVia: s?.registeredVia ?? 'unknown',
        };
      });
      res.render('admin/home', view(req, '/admin', { pageTitle: 'Administration', platforms: rows }));
    }),
  );

  router.get(
    '/admin/passback',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const parsed = parseLedgerQuery(req.query);
      const { filter, params, query } = parsed;
      const [entries, counts, platforms] = await Promise.all([
        deps.grading.ledger({ ...filter, limit: pageSize + 1, skip: (query.page - 1) * pageSize }),
        deps.grading.counts(filter),
        platformNames(),
      ]);
      const shown = entries.slice(0, pageSize);
      const prevHref = query.page > 1 ? `/admin/passback${queryString({ ...params, page: String(query.page - 1) })}` : undefined;
      const nextHref = entries.length > pageSize ? `/admin/passback${queryString({ ...params, page: String(query.page + 1) })}` : undefined;
      const total = filter.status ? counts[filter.status] : Object.values(counts).reduce((a, b) => a + b, 0);
      const rows = shown.map((e) => ledgerRow(e, platforms.name));
      const courses = coursesOf(shown, platforms.name);
      const withoutStatus = Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'status'));
      res.render(
        'admin/passback',
        view(req, '/admin/passback', {
          pageTitle: 'Grade passback ledger',
          counts: outboxStatuses.map((s) => ({
            status: s,
            label: statusLabels[s],
            count: counts[s],
            href: `/admin/passback${queryString({ ...withoutStatus, status: s })}`,
            current: filter.status === s,
          })),
          allHref: `/admin/passback${queryString(withoutStatus)}`,
          allCount: Object.values(counts).reduce((a, b) => a + b, 0),
          anyStatusCurrent: !filter.status,
          total,
          form: {
            platforms: platforms.list.map((p) => ({ ...p, selected: p.issuer === query.platform })),
            unknownPlatform: query.platform && !platforms.list.some((p) => p.issuer === query.platform) ? query.platform : undefined,
            course: query.course ?? '',
            learner: query.learner ?? '',
            column: query.column ?? '',
            statuses: outboxStatuses.map((s) => ({ value: s, label: statusLabels[s], selected: s === query.status })),
            from: query.from ?? '',
            to: query.to ?? '',
          },
          filtered: Object.keys(params).length > 0,
          rows,
          courses,
          back: new URLSearchParams(params).toString(),
          csvHref: `/admin/passback.csv${queryString(params)}`,
          firstShown: rows.length === 0 ? 0 : (query.page - 1) * pageSize + 1,
          lastShown: (query.page - 1) * pageSize + rows.length,
          prevHref,
          nextHref,
          pager: Boolean(prevHref ?? nextHref),
        }),
      );
    }),
  );

  router.get(
    '/admin/passback.csv',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const { filter, params } = parseLedgerQuery(req.query);
      const [entries, platforms] = await Promise.all([deps.grading.ledger({ ...filter, limit: exportLimit }), platformNames()]);
      const csv = await toCsv(entries.map((e) => csvRecord(e, platforms.name)));
      await audit.record({ actor: actorOf(req).id, action: 'passback.export', count: entries.length, filter: params, ip: req.ip });
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="passback-ledger-${stamp}.csv"`);
      res.send(csv);
    }),
  );

  router.post(
    '/admin/passback/retry',
    requireAdmin,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const parsed = retryBodySchema.safeParse(req.body ?? {});
      if (!parsed.success) {
        throw new BadRequestError(
          'The retry request could not be used.',
          parsed.error.issues.map((i) => i.message),
        );
      }
      const { action, ids, back } = parsed.data;
      const target = backTo(back);
      if (action === 'selected' && ids.length === 0) {
        req.session.adminNotice = 'Nothing was retried: select at least one entry first.';
        res.redirect(303, target.url);
        return;
      }
      const count = await deps.grading.retry(action === 'all-failed' ? 'all-failed' : ids);
      await audit.record({
        actor: actorOf(req).id,
        action: action === 'all-failed' ? 'passback.retry-all-failed' : 'passback.retry',
        count,
        filter: target.params,
        detail: action === 'selected' ? `${ids.length} selected` : undefined,
        ip: req.ip,
      });
      req.session.adminNotice =
        count === 1
          ? '1 entry was queued again.'
          : `${count} entries were queued again.${count === 0 ? ' (Only failed, skipped or superseded entries can be retried.)' : ''}`;
      res.redirect(303, target.url);
    }),
  );

  router.post(
    '/admin/passback/courses/:courseId/resync',
    requireAdmin,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const courseId = courseParam(req);
      const [known] = await deps.grading.ledger({ courseId, limit: 1 });
      const learners = await deps.grading.resyncCourse(courseId);
      await audit.record({ actor: actorOf(req).id, action: 'passback.resync', count: learners, courseId, ip: req.ip });
      const title = known?.courseTitle ?? 'the course';
      req.session.adminNotice =
        learners === 0
          ? `Nothing to resync in ${title}: no learners are known there.`
          : `Scores of ${learners} learner${learners === 1 ? '' : 's'} in ${title} were recomputed and queued for the LMS.`;
      res.redirect(303, `/admin/passback${queryString({ course: courseId })}`);
    }),
  );

  router.get(
    '/admin/passback/courses/:courseId/reconcile',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const courseId = courseParam(req);
      const [known] = await deps.grading.ledger({ courseId, limit: 1 });
      if (!known) throw new NotFoundError('No grade passback is recorded for this course.');
      const showAll = req.query.all === '1';
      let rows: ReconcileRow[] = [];
      let problem: string | undefined;
      try {
        rows = await deps.grading.reconcileCourse(courseId);
      } catch (error) {
        if (!(error instanceof PlatformRequestError)) throw error;
        req.log.warn({ err: error, status: error.status }, 'reconcile: results request failed');
        problem = `The LMS did not return the gradebook results (${error.message}).`;
      }
      const differences = rows.filter((r) => r.status !== 'match');
      await audit.record({
        actor: actorOf(req).id,
        action: 'passback.reconcile',
        count: differences.length,
        courseId,
        detail: problem ?? `${rows.length} score${rows.length === 1 ? '' : 's'} compared`,
        ip: req.ip,
      });
      const summary = (Object.keys(reconcileLabels) as ReconcileRow['status'][]).map((s) => ({
        label: reconcileLabels[s],
        count: rows.filter((r) => r.status === s).length,
      }));
      res.render(
        'admin/reconcile',
        view(req, '/admin/passback', {
          pageTitle: `Reconcile · ${known.courseTitle}`,
          courseId,
          courseTitle: known.courseTitle,
          problem,
          summary,
          compared: rows.length,
          differenceCount: differences.length,
          showAll,
          rows: (showAll ? rows : differences).map((r) => ({
            ...r,
            ours: formatScore(r.ours),
            lms: formatScore(r.lms),
            statusLabel: reconcileLabels[r.status],
          })),
          ledgerHref: `/admin/passback${queryString({ course: courseId })}`,
        }),
      );
    }),
  );

  router.get(
    '/admin/audit',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const page = z.coerce
        .number()
        .int()
        .min(1)
        .max(10_000)
        .catch(1)
        .parse(req.query.page ?? 1);
      const entries = await audit.list({ limit: pageSize + 1, skip: (page - 1) * pageSize });
      res.render(
        'admin/audit',
        view(req, '/admin/audit', {
          pageTitle: 'Audit log',
          entries: entries.slice(0, pageSize).map((e) => ({
            at: formatTime(e.at),
            atIso: e.at.toISOString(),
            actor: e.actor,
            action: e.action,
            label: auditActionLabels[e.action] ?? e.action,
            count: e.count ?? '',
            scope: [...(e.courseId ? [`course ${e.courseId}`] : []), ...Object.entries(e.filter ?? {}).map(([k, v]) => `${k}=${v}`)].join(
              ', ',
            ),
            detail: e.detail ?? '',
            ip: e.ip ?? '',
          })),
          prevHref: page > 1 ? `/admin/audit?page=${page - 1}` : undefined,
          nextHref: entries.length > pageSize ? `/admin/audit?page=${page + 1}` : undefined,
          pager: page > 1 || entries.length > pageSize,
        }),
      );
    }),
  );

  return router;
}

/** The courses of the entries shown, for the per-course actions. */
function coursesOf(entries: OutboxEntry[], platformName: (issuer: string) => string) {
  const seen = new Map<string, { id: string; title: string; platform: string }>();
  for (const e of entries)
    if (!seen.has(e.courseId)) seen.set(e.courseId, { id: e.courseId, title: e.courseTitle, platform: platformName(e.issuer) });
  return [...seen.values()].sort((a, b) => a.title.localeCompare(b.title));
}
