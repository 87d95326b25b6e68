import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { LaunchRecords } from '../courses/launch-records';
import type { AssessmentService } from '../assessment/assessment-service';
import type { PrivacyService, RetentionItem } from '../privacy/privacy-service';
import { BadRequestError, NotFoundError } from '../shared/errors';
import { asyncHandler } from '../web/async-handler';
import { csrfToken, requireLaunch, verifyCsrf } from '../web/session';
import { navFor } from './admin-routes';
import type { AdminAccounts } from './admin-accounts';
import { adminActor, adminHeader, refreshAdminAccount, requireAdmin, type AdminActor } from './admin-auth';
import { parsePlatformLabel, platformLabel } from './admin-scope';
import type { AuditLog } from './audit-log';
import { formatTime } from './ledger-view';

/**
 * Privacy: the administrator's subject-rights pages (find a person, export, erase), retention policies and
 * the dry-run report; the coach's own record download; the access trail of faculty reading reflections;
 * and the retention line every launched page shows.
 */
export interface PrivacyRoutesDeps {
  privacy: PrivacyService;
  audit: AuditLog;
  records: LaunchRecords;
  assessment: AssessmentService;
  accounts: AdminAccounts;
}

const userIdParam = z.string().regex(/^[a-f0-9]{24}$/i);
const searchQuery = z.object({ q: z.string().trim().max(200).optional() });
const eraseBody = z.object({
  mode: z.enum(['pseudonymise', 'remove'], { errorMap: () => ({ message: 'Choose whether to pseudonymise or remove.' }) }),
  confirm: z.literal('ERASE', { errorMap: () => ({ message: 'Type ERASE to confirm.' }) }),
});
const policyBody = z.object({
  target: z.string().trim().min(1, 'Name a platform (issuer#client id) or a course id.').max(800),
  days: z
    .string()
    .trim()
    .max(6)
    .refine(
      (v) => v === '' || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 36500),
      'Days must be a whole number from 1 to 36500, or empty to remove.',
    ),
});

const attachment = (res: Response, name: string, data: unknown): void => {
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
  res.setHeader('Cache-Control', 'no-store');
  res.send(`${JSON.stringify(data, null, 2)}\n`);
};

export function retentionText(policy: { days: number } | undefined): string {
  return policy
    ? `Privacy: reflection texts and faculty comments in this course are deleted ${policy.days} days after the course's last activity; scores are kept.`
    : 'Privacy: reflection texts and faculty comments in this course are kept until an administrator deletes them; scores are kept.';
}

export function privacyRoutes(deps: PrivacyRoutesDeps): Router {
  const router = Router();
  const actorOf = (req: Request): AdminActor => adminActor(req)!;
  const view = (req: Request, extra: Record<string, unknown>) => ({
    ...adminHeader(req),
    csrf: csrfToken(req),
    nav: navFor('/admin/privacy'),
    ...extra,
  });
  const notice = (req: Request): string | undefined => {
    const n = req.session.adminNotice;
    if (n !== undefined) delete req.session.adminNotice;
    return n;
  };
  const personId = (req: Request): string => {
    const parsed = userIdParam.safeParse(req.params.userId);
    if (!parsed.success) throw new NotFoundError('There is no such person.');
    return parsed.data.toLowerCase();
  };
  const itemRows = (items: RetentionItem[]) => items.map((i) => ({ ...i, fieldsText: i.fields.join(', ') }));

  // The retention line on every launched page (layout) and, on the profile, the coach's own record and trail.
  router.use(
    asyncHandler(async (req, res, next) => {
      const launch = req.session?.launch;
      if (launch && (req.method === 'GET' || req.method === 'HEAD') && !req.path.startsWith('/admin') && !req.path.startsWith('/dev/')) {
        res.locals.retentionNotice = launch.courseId ? retentionText(await deps.privacy.policyForCourse(launch.courseId)) : undefined;
        if (req.path === '/profile') {
          res.locals.privacy = {
            recordHref: '/my/record.json',
            readers: (await deps.privacy.accessTrail(launch.userId)).map((e) => ({
              ...e,
              atIso: e.at.toISOString(),
              at: formatTime(e.at),
            })),
          };
        }
      }
      next();
    }),
  );

  // The access trail of reflection reads is recorded where the text is shown (src/faculty/reflection-routes.ts).

  router.get(
    '/my/record.json',
    requireLaunch(),
    asyncHandler(async (req, res) => {
      attachment(res, 'coachlti-my-record.json', await deps.privacy.exportOwn(req.session.launch!.userId));
    }),
  );

  router.use('/admin/privacy', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  // A password administrator's scope is read from the account on every request, as in the rest of /admin.
  router.use('/admin/privacy', refreshAdminAccount(deps.accounts));

  router.get(
    '/admin/privacy',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const { scope } = actorOf(req);
      const parsed = searchQuery.safeParse(req.query);
      if (!parsed.success) throw new BadRequestError('The search text is too long.');
      const q = parsed.data.q ?? '';
      const [people, policies] = await Promise.all([
        q ? deps.privacy.findPeople(scope, q) : Promise.resolve([]),
        deps.privacy.listPolicies(scope),
      ]);
      res.render(
        'admin/privacy',
        view(req, {
          pageTitle: 'Privacy',
          notice: notice(req),
          q,
          searched: q !== '',
          people,
          policies: policies.map((p) => ({
            ...p,
            target: p.kind === 'course' ? `course ${p.courseId ?? ''}` : platformLabel(p),
            updated: formatTime(p.updatedAt),
          })),
        }),
      );
    }),
  );

  router.get(
    '/admin/privacy/people/:userId',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const person = await deps.privacy.person(actorOf(req).scope, personId(req));
      res.render('admin/privacy-person', view(req, { pageTitle: `Privacy: ${person.name}`, notice: notice(req), person }));
    }),
  );

  router.post(
    '/admin/privacy/people/:userId/export',
    requireAdmin,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const actor = actorOf(req);
      const userId = personId(req);
      const data = await deps.privacy.exportPerson(actor.scope, userId, actor.id, req.ip);
      attachment(res, `coachlti-person-${userId}.json`, data);
    }),
  );

  router.post(
    '/admin/privacy/people/:userId/erase',
    requireAdmin,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const actor = actorOf(req);
      const userId = personId(req);
      await deps.privacy.person(actor.scope, userId);
      const body = eraseBody.safeParse(req.body);
      if (!body.success) throw new BadRequestError(body.error.issues[0]?.message ?? 'Type ERASE to confirm.');
      const result = await deps.privacy.erasePerson(actor.scope, userId, body.data.mode, actor.id, req.ip);
      const total = Object.values(result.removed).reduce((a, b) => a + b, 0);
      req.session.adminNotice = `The person was ${body.data.mode === 'remove' ? 'removed' : 'pseudonymised'} (${total} records or texts deleted).`;
      res.redirect(303, `/admin/privacy/people/${userId}`);
    }),
  );

  router.post(
    '/admin/privacy/policies',
    requireAdmin,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const actor = actorOf(req);
      const body = policyBody.safeParse(req.body);
      if (!body.success) throw new BadRequestError(body.error.issues[0]?.message ?? 'Check the policy.');
      const days = body.data.days === '' ? null : Number(body.data.days);
      let target: Parameters<PrivacyService['setPolicy']>[1];
      if (/^[a-f0-9]{24}$/i.test(body.data.target)) target = { courseId: body.data.target.toLowerCase() };
      else {
        const platform = parsePlatformLabel(body.data.target);
        if ('error' in platform) throw new BadRequestError(platform.error);
        target = { platform };
      }
      await deps.privacy.setPolicy(actor.scope, target, days, actor.id);
      req.session.adminNotice = days === null ? 'The retention policy was removed.' : `Retention set to ${days} days.`;
      res.redirect(303, '/admin/privacy');
    }),
  );

  router.get(
    '/admin/privacy/retention',
    requireAdmin,
    asyncHandler(async (req, res) => {
      const items = await deps.privacy.retentionPlan(actorOf(req).scope);
      res.render(
        'admin/privacy-retention',
        view(req, { pageTitle: 'Retention dry run', notice: notice(req), items: itemRows(items), count: items.length }),
      );
    }),
  );

  router.post(
    '/admin/privacy/retention/run',
    requireAdmin,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const actor = actorOf(req);
      const deleted = await deps.privacy.runRetention(actor.scope, actor.id);
      req.session.adminNotice = `Deleted ${deleted.length} free text(s) past their retention period.`;
      res.redirect(303, '/admin/privacy/retention');
    }),
  );

  return router;
}
