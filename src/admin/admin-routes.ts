import { Router, type Request, type Response } from 'express';
import type { Connection } from 'mongoose';
import { z } from 'zod';
import type { Config } from '../config/config';
import type { GradingAdmin, ReconcileRow } from '../grading/grading-admin';
import type { GradingJob, JobKind } from '../grading/jobs';
import { outboxStatuses, type LedgerFilter, type OutboxEntry } from '../grading/outbox';
import type { LtiProvider } from '../lti/ltijs-adapter';
import type { PlatformRegistry } from '../lti/platform-registry';
import { BadRequestError, NotFoundError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { asyncHandler } from '../web/async-handler';
import { csrfToken, verifyCsrf } from '../web/session';
import { createAdminAccounts, type AdminAccounts } from './admin-accounts';
import { platformRows } from './platform-view';
import { adminActor, adminAuthRoutes, adminHeader, requireAdmin, type AdminActor } from './admin-auth';
import { describeScope, scopeIncludes, type AdminScope, type PlatformKey } from './admin-scope';
import { auditActionLabels, createAuditLog, type AuditLog } from './audit-log';
import { createDirectory, type Directory } from './directory';
import {
  csvRecord,
  formatScore,
  formatTime,
  ledgerRow,
  pageSize,
  parseLedgerQuery,
  queryString,
  type ParsedLedgerQuery,
  jobRow,
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
  /** Defaults to courses and people on `connection`. */
  directory?: Directory;
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
  { href: '/admin/program', label: 'Program' },
  { href: '/admin/passback', label: 'Grade passback' },
  { href: '/admin/jobs', label: 'Background jobs' },
  { href: '/admin/audit', label: 'Audit log' },
  { href: '/admin/privacy', label: 'Privacy' },
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

/** Not found, whether the id is malformed, unknown or another tenant's: the answer never says which. */
function idParam(req: Request, name: 'courseId' | 'entryId' | 'jobId', message: string): string {
  const parsed = objectIdParam.safeParse(req.params[name]);
  if (!parsed.success) throw new NotFoundError(message);
  return parsed.data.toLowerCase();
}

const noCourse = 'There is no such course.';
const noEntry = 'There is no such ledger entry.';
const noJob = 'There is no such background job.';

/**
 * The platform an action belongs to in the audit log: the course's, or the actor's only platform.
 * Without one, only global administrators (and the actor) see the entry.
 */
function auditPlatform(actor: AdminActor, course?: PlatformKey): PlatformKey | undefined {
  if (course) return { issuer: course.issuer, clientId: course.clientId };
  if (actor.platform) return actor.platform;
  return actor.scope.kind === 'platforms' && actor.scope.platforms.length === 1 ? actor.scope.platforms[0] : undefined;
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
  const directory = deps.directory ?? createDirectory(deps.connection);

  /** The ledger filter with a course title or a learner's name or email resolved to ids within the scope. */
  const resolveFilter = async (scope: AdminScope, parsed: ParsedLedgerQuery): Promise<LedgerFilter> => {
    const { courseText, learnerText } = parsed.search;
    const [courseIds, userIds] = await Promise.all([
      courseText === undefined ? undefined : directory.courseIdsByTitle(scope, courseText),
      learnerText === undefined ? undefined : directory.userIdsByNameOrEmail(scope, learnerText),
    ]);
    return { ...parsed.filter, ...(courseIds ? { courseIds } : {}), ...(userIds ? { userIds } : {}) };
  };

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
      scopeText: describeScope(actor.scope),
      notice: takeNotice(req),
      ...extra,
    };
  };

  /** Registered platforms within the scope (a scoped administrator does not learn of the others). */
  const platformsIn = async (scope: AdminScope) => (await deps.provider.listPlatforms()).filter((p) => scopeIncludes(scope, p));

  const platformNames = async (
    scope: AdminScope,
  ): Promise<{ name: (issuer: string) => string; list: { issuer: string; name: string }[] }> => {
    const byIssuer = new Map<string, string>();
    for (const p of await platformsIn(scope)) if (!byIssuer.has(p.issuer)) byIssuer.set(p.issuer, p.name || p.issuer);
    return {
      name: (issuer) => byIssuer.get(issuer) ?? issuer,
      list: [...byIssuer].map(([issuer, name]) => ({ issuer, name })).sort((a, b) => a.name.localeCompare(b.name)),
    };
  };

  router.get(
    '/admin',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const { scope } = actorOf(req);
      const [platforms, settings] = await Promise.all([platformsIn(scope), deps.registry.list()]);
      const rows = platformRows(platforms, settings);
      res.render('admin/home', view(req, '/admin', { pageTitle: 'Administration', platforms: rows }));
    }),
  );

  router.get(
    '/admin/passback',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const { scope } = actorOf(req);
      const parsed = parseLedgerQuery(req.query);
      const { params, query } = parsed;
      const filter = await resolveFilter(scope, parsed);
      const [entries, counts, platforms, activeJobs] = await Promise.all([
        deps.grading.ledger(scope, { ...filter, limit: pageSize + 1, skip: (query.page - 1) * pageSize }),
        deps.grading.counts(scope, filter),
        platformNames(scope),
        deps.grading.jobs(scope, { active: true, limit: 20 }),
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
          activeJobs: activeJobs.map((j) => jobRow(j, platforms.name)),
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
      const actor = actorOf(req);
      const parsed = parseLedgerQuery(req.query);
      const { params } = parsed;
      const filter = await resolveFilter(actor.scope, parsed);
      const [entries, platforms] = await Promise.all([
        deps.grading.ledger(actor.scope, { ...filter, limit: exportLimit }),
        platformNames(actor.scope),
      ]);
      const csv = await toCsv(entries.map((e) => csvRecord(e, platforms.name)));
      await audit.record({
        actor: actor.id,
        action: 'passback.export',
        count: entries.length,
        filter: params,
        platform: auditPlatform(actor),
        ip: req.ip,
      });
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="passback-ledger-${stamp}.csv"`);
      res.send(csv);
    }),
  );

  router.get(
    '/admin/passback/entries/:entryId',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const { scope } = actorOf(req);
      const entry = await deps.grading.entry(scope, idParam(req, 'entryId', noEntry));
      if (!entry) throw new NotFoundError(noEntry);
      const platforms = await platformNames(scope);
      const row = ledgerRow(entry, platforms.name);
      res.render(
        'admin/entry',
        view(req, '/admin/passback', {
          pageTitle: `Ledger entry · ${entry.userName} · ${row.column}`,
          entry: row,
          ledgerHref: `/admin/passback${queryString({ course: entry.courseId })}`,
        }),
      );
    }),
  );

  router.post(
    '/admin/passback/retry',
    requireAdmin,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const actor = actorOf(req);
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
      const count = await deps.grading.retry(actor.scope, action === 'all-failed' ? 'all-failed' : ids);
      await audit.record({
        actor: actor.id,
        action: action === 'all-failed' ? 'passback.retry-all-failed' : 'passback.retry',
        count,
        filter: target.params,
        detail: action === 'selected' ? `${ids.length} selected` : undefined,
        platform: auditPlatform(actor),
        ip: req.ip,
      });
      req.session.adminNotice =
        count === 1
          ? '1 entry was queued again.'
          : `${count} entries were queued again.${count === 0 ? ' (Only failed, skipped or superseded entries can be retried.)' : ''}`;
      res.redirect(303, target.url);
    }),
  );

  /** Queues a background job for a course; the request only enqueues and redirects to its progress. */
  const requestJob = (kind: JobKind) =>
    asyncHandler(async (req, res) => {
      const actor = actorOf(req);
      const courseId = idParam(req, 'courseId', noCourse);
      const requested = await deps.grading.requestJob(actor.scope, kind, courseId, actor.id);
      if (!requested) throw new NotFoundError(noCourse);
      const { job, created } = requested;
      await audit.record({
        actor: actor.id,
        action: kind === 'resync' ? 'passback.resync' : 'passback.reconcile',
        courseId,
        platform: auditPlatform(actor, job.platform),
        detail: created ? `background job ${job.id} queued` : `background job ${job.id} already ${job.state}`,
        ip: req.ip,
      });
      const what = kind === 'resync' ? 'A resync' : 'A reconcile';
      req.session.adminNotice = created
        ? `${what} of ${job.courseTitle} was queued. It runs in the background; this page shows its progress.`
        : `${what} of ${job.courseTitle} is already ${job.state}; this page shows its progress.`;
      res.redirect(303, kind === 'resync' ? `/admin/jobs/${job.id}` : `/admin/passback/courses/${courseId}/reconcile`);
    });

  router.post('/admin/passback/courses/:courseId/resync', requireAdmin, verifyCsrf, requestJob('resync'));
  router.post('/admin/passback/courses/:courseId/reconcile', requireAdmin, verifyCsrf, requestJob('reconcile'));

  const renderJob = async (req: Request, res: Response, course: { id: string; title: string }, job: GradingJob | null) => {
    const platforms = await platformNames(actorOf(req).scope);
    const showAll = req.query.all === '1';
    const rows: ReconcileRow[] = job?.kind === 'reconcile' && job.state !== 'queued' ? sortRows(job.rows) : [];
    const differences = rows.filter((r) => r.status !== 'match');
    const reconcile = !job || job.kind === 'reconcile';
    res.render(
      'admin/job',
      view(req, reconcile ? '/admin/passback' : '/admin/jobs', {
        pageTitle: `${reconcile ? 'Reconcile' : 'Resync'} · ${course.title}`,
        heading: `${reconcile ? 'Reconcile' : 'Resync'} ${course.title}`,
        courseId: course.id,
        courseTitle: course.title,
        reconcile,
        job: job ? jobRow(job, platforms.name) : undefined,
        finished: job?.state === 'done' || job?.state === 'failed',
        results: Boolean(job && job.kind === 'reconcile' && job.state === 'done'),
        summary: (Object.keys(reconcileLabels) as ReconcileRow['status'][]).map((s) => ({
          label: reconcileLabels[s],
          count: rows.filter((r) => r.status === s).length,
        })),
        compared: rows.length,
        differenceCount: differences.length,
        showAll,
        rows: (showAll ? rows : differences).map((r) => ({
          ...r,
          ours: formatScore(r.ours),
          lms: formatScore(r.lms),
          statusLabel: reconcileLabels[r.status],
        })),
        selfHref: req.originalUrl.split('?')[0],
        ledgerHref: `/admin/passback${queryString({ course: course.id })}`,
      }),
    );
  };

  router.get(
    '/admin/passback/courses/:courseId/reconcile',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const { scope } = actorOf(req);
      const course = await deps.grading.course(scope, idParam(req, 'courseId', noCourse));
      if (!course) throw new NotFoundError(noCourse);
      await renderJob(req, res, course, await deps.grading.latestJob(scope, 'reconcile', course.id));
    }),
  );

  router.get(
    '/admin/jobs',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const { scope } = actorOf(req);
      const page = z.coerce
        .number()
        .int()
        .min(1)
        .max(10_000)
        .catch(1)
        .parse(req.query.page ?? 1);
      const [jobs, platforms] = await Promise.all([
        deps.grading.jobs(scope, { limit: pageSize + 1, skip: (page - 1) * pageSize }),
        platformNames(scope),
      ]);
      res.render(
        'admin/jobs',
        view(req, '/admin/jobs', {
          pageTitle: 'Background jobs',
          jobs: jobs.slice(0, pageSize).map((j) => jobRow(j, platforms.name)),
          prevHref: page > 1 ? `/admin/jobs?page=${page - 1}` : undefined,
          nextHref: jobs.length > pageSize ? `/admin/jobs?page=${page + 1}` : undefined,
          pager: page > 1 || jobs.length > pageSize,
        }),
      );
    }),
  );

  router.get(
    '/admin/jobs/:jobId',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const job = await deps.grading.job(actorOf(req).scope, idParam(req, 'jobId', noJob));
      if (!job) throw new NotFoundError(noJob);
      await renderJob(req, res, { id: job.courseId, title: job.courseTitle }, job);
    }),
  );

  router.get(
    '/admin/audit',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const actor = actorOf(req);
      const page = z.coerce
        .number()
        .int()
        .min(1)
        .max(10_000)
        .catch(1)
        .parse(req.query.page ?? 1);
      const entries = await audit.list({ scope: actor.scope, viewer: actor.id, limit: pageSize + 1, skip: (page - 1) * pageSize });
      const shown = entries.slice(0, pageSize);
      const ltiId = (who: string) => (who.startsWith('lti:') ? who.slice(4) : undefined);
      // Titles and names as they are now, within the viewer's scope (an erased person shows their pseudonym).
      const [titles, names] = await Promise.all([
        directory.courseTitles(
          actor.scope,
          shown.flatMap((e) => (e.courseId ? [e.courseId] : [])),
        ),
        directory.userNames(
          actor.scope,
          shown.flatMap((e) => [ltiId(e.actor), e.subjectUserId].filter((x): x is string => x !== undefined)),
        ),
      ]);
      const person = (id: string) => names.get(id) ?? 'a person outside your platforms';
      res.render(
        'admin/audit',
        view(req, '/admin/audit', {
          pageTitle: 'Audit log',
          entries: shown.map((e) => {
            const lti = ltiId(e.actor);
            return {
              at: formatTime(e.at),
              atIso: e.at.toISOString(),
              actor: lti ? person(lti) : e.actor,
              actorVia: lti ? 'from the LMS' : undefined,
              action: e.action,
              label: auditActionLabels[e.action] ?? e.action,
              count: e.count ?? '',
              course: e.courseId ? (titles.get(e.courseId) ?? 'a course outside your platforms') : '',
              subject: e.subjectUserId ? person(e.subjectUserId) : '',
              filter: Object.entries(e.filter ?? {})
                .map(([k, v]) => `${k}=${v}`)
                .join(', '),
              detail: e.detail ?? '',
              ip: e.ip ?? '',
            };
          }),
          prevHref: page > 1 ? `/admin/audit?page=${page - 1}` : undefined,
          nextHref: entries.length > pageSize ? `/admin/audit?page=${page + 1}` : undefined,
          pager: page > 1 || entries.length > pageSize,
        }),
      );
    }),
  );

  return router;
}

function sortRows(rows: ReconcileRow[]): ReconcileRow[] {
  return [...rows].sort(
    (a, b) => a.learner.localeCompare(b.learner) || a.competencyId.localeCompare(b.competencyId, 'en', { numeric: true }),
  );
}

/** The courses of the entries shown, for the per-course actions. */
function coursesOf(entries: OutboxEntry[], platformName: (issuer: string) => string) {
  const seen = new Map<string, { id: string; title: string; platform: string }>();
  for (const e of entries)
    if (!seen.has(e.courseId)) seen.set(e.courseId, { id: e.courseId, title: e.courseTitle, platform: platformName(e.issuer) });
  return [...seen.values()].sort((a, b) => a.title.localeCompare(b.title));
}
