import { Router, type Request } from 'express';
import type { Connection } from 'mongoose';
import { z } from 'zod';
import { canManagePlatforms } from './admin-scope';
import { platformRows } from './platform-view';
import { approvePendingRegistration, rejectPendingRegistration } from '../lti/dynamic-registration';
import type { LtiProvider } from '../lti/ltijs-adapter';
import type { PendingRegistrations, WritablePlatformRegistry } from '../lti/platform-registry';
import { defaultInviteHours, inviteUrl, maxInviteHours, type RegistrationInvites } from '../lti/registration-invites';
import type { ToolUrls } from '../lti/tool-configuration';
import { BadRequestError, ForbiddenError, NotFoundError } from '../shared/errors';
import { asyncHandler } from '../web/async-handler';
import { csrfToken, verifyCsrf } from '../web/session';
import { navFor } from './admin-routes';
import { adminActor, adminHeader, requireAdmin, type AdminActor } from './admin-auth';
import { createAuditLog, type AuditLog } from './audit-log';
import { formatTime } from './ledger-view';

/** /admin/platforms: registered platforms, registration links (invites) and registrations awaiting approval. */
export interface PlatformRoutesDeps {
  connection: Connection;
  provider: LtiProvider;
  registry: WritablePlatformRegistry;
  pending: PendingRegistrations;
  invites: RegistrationInvites;
  urls: ToolUrls;
  /** Defaults to the admin_audit_log on `connection`. */
  audit?: AuditLog;
}

const inviteBodySchema = z.object({
  expiresHours: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === undefined || v === '' ? defaultInviteHours : Number(v)))
    .pipe(z.number().int('Validity must be a whole number of hours').min(1, 'Validity must be at least 1 hour').max(maxInviteHours)),
  note: z.string().trim().max(200, 'The note must be at most 200 characters').optional(),
});

const platformBodySchema = z.object({
  issuer: z.string().min(1).max(2048),
  clientId: z.string().min(1).max(255),
  active: z.enum(['true', 'false']),
});

const pendingIdSchema = z.string().regex(/^[a-f0-9]{24}$/i);
const inviteIdSchema = z.string().regex(/^[a-f0-9]{64}$/);

function takeNotice(req: Request): string | undefined {
  const notice = req.session.adminNotice;
  if (notice !== undefined) delete req.session.adminNotice;
  return notice;
}

const inviteStatusLabels = { open: 'Open', used: 'Used', expired: 'Expired', revoked: 'Withdrawn' } as const;

export function platformRoutes(deps: PlatformRoutesDeps): Router {
  const router = Router();
  const audit = deps.audit ?? createAuditLog(deps.connection);

  const managerOf = (req: Request): AdminActor => {
    const actor = adminActor(req);
    if (!actor || !canManagePlatforms(actor.scope)) throw new ForbiddenError('Only CoachLTI administrators may manage platforms.');
    return actor;
  };
  const guard = [requireAdmin, verifyCsrf];

  const view = (req: Request, extra: Record<string, unknown>) => ({
    ...adminHeader(req),
    csrf: csrfToken(req),
    nav: navFor('/admin/platforms'),
    passwordAdmin: adminActor(req)?.kind === 'password',
    notice: takeNotice(req),
    ...extra,
  });

  router.get(
    '/admin/platforms',
    requireAdmin,
    asyncHandler(async (req, res) => {
      managerOf(req);
      const [platforms, settings, pending, invites] = await Promise.all([
        deps.provider.listPlatforms(),
        deps.registry.list(),
        deps.pending.list({ status: 'pending' }),
        deps.invites.list(20),
      ]);
      const rows = platformRows(platforms, settings);
      res.render(
        'admin/platforms',
        view(req, {
          pageTitle: 'Platforms',
          platforms: rows,
          pending: pending.map((p) => {
            const current = rows.find((r) => r.issuer === p.issuer && r.clientId === p.clientId);
            return {
              ...p,
              createdAt: formatTime(p.createdAt),
              deploymentId: p.deploymentId ?? '',
              currentJwksUrl: current?.jwksUrl ?? '(platform no longer registered)',
              currentTokenUrl: current?.tokenUrl ?? '',
            };
          }),
          invites: invites.map((i) => ({
            id: i.id,
            createdAt: formatTime(i.createdAt),
            createdBy: i.createdBy,
            note: i.note ?? '',
            expiresAt: formatTime(i.expiresAt),
            status: i.status,
            statusLabel: inviteStatusLabels[i.status],
            open: i.status === 'open',
            usedFor: i.usedFor ?? '',
          })),
          defaultInviteHours,
          maxInviteHours,
        }),
      );
    }),
  );

  router.post(
    '/admin/platforms/invites',
    ...guard,
    asyncHandler(async (req, res) => {
      const actor = managerOf(req);
      const parsed = inviteBodySchema.safeParse(req.body ?? {});
      if (!parsed.success) {
        throw new BadRequestError(
          'The registration link could not be created.',
          parsed.error.issues.map((i) => i.message),
        );
      }
      const invite = await deps.invites.create({
        createdBy: actor.id,
        note: parsed.data.note || undefined,
        expiresInHours: parsed.data.expiresHours,
      });
      await audit.record({
        actor: actor.id,
        action: 'platform.invite',
        detail: `valid until ${invite.expiresAt.toISOString()}${parsed.data.note ? ` · ${parsed.data.note}` : ''}`,
        ip: req.ip,
      });
      res.setHeader('Cache-Control', 'no-store');
      // The link is shown this once: only its hash is stored.
      res.status(201).render(
        'admin/platforms-invite',
        view(req, {
          pageTitle: 'Registration link created',
          link: inviteUrl(deps.urls.register, invite.token),
          expiresAt: formatTime(invite.expiresAt),
          note: parsed.data.note ?? '',
        }),
      );
    }),
  );

  router.post(
    '/admin/platforms/invites/:id/revoke',
    ...guard,
    asyncHandler(async (req, res) => {
      const actor = managerOf(req);
      const id = inviteIdSchema.safeParse(req.params.id);
      if (!id.success) throw new NotFoundError('There is no such registration link.');
      const revoked = await deps.invites.revoke(id.data);
      if (revoked) await audit.record({ actor: actor.id, action: 'platform.invite-revoke', detail: id.data.slice(0, 12), ip: req.ip });
      req.session.adminNotice = revoked
        ? 'The registration link was withdrawn; it can no longer be used.'
        : 'Nothing changed: the link was already used, expired or withdrawn.';
      res.redirect(303, '/admin/platforms');
    }),
  );

  for (const decision of ['approve', 'reject'] as const) {
    router.post(
      `/admin/platforms/pending/:id/${decision}`,
      ...guard,
      asyncHandler(async (req, res) => {
        const actor = managerOf(req);
        const id = pendingIdSchema.safeParse(req.params.id);
        if (!id.success) throw new NotFoundError('There is no such pending registration.');
        const platformDeps = { provider: deps.provider, registry: deps.registry, pending: deps.pending };
        const decided =
          decision === 'approve'
            ? await approvePendingRegistration(platformDeps, id.data, actor.id)
            : await rejectPendingRegistration(platformDeps, id.data, actor.id);
        await audit.record({
          actor: actor.id,
          action: decision === 'approve' ? 'platform.approve' : 'platform.reject',
          detail: `${decided.issuer} (${decided.clientId}) · keys ${decided.jwksUrl} · token ${decided.tokenUrl}`,
          ip: req.ip,
        });
        req.session.adminNotice =
          decision === 'approve'
            ? `Approved: ${decided.issuer} (${decided.clientId}) now uses the key set and endpoints of this registration.`
            : `Rejected: ${decided.issuer} (${decided.clientId}) was left unchanged.`;
        res.redirect(303, '/admin/platforms');
      }),
    );
  }

  router.post(
    '/admin/platforms/state',
    ...guard,
    asyncHandler(async (req, res) => {
      const actor = managerOf(req);
      const parsed = platformBodySchema.safeParse(req.body ?? {});
      if (!parsed.success) throw new BadRequestError('Choose a platform to activate or deactivate.');
      const { issuer, clientId } = parsed.data;
      const active = parsed.data.active === 'true';
      if (!(await deps.provider.setActive(issuer, clientId, active))) throw new NotFoundError('There is no such platform.');
      await audit.record({
        actor: actor.id,
        action: active ? 'platform.activate' : 'platform.deactivate',
        // The platform's own administrators see it changed in their audit log too.
        platform: { issuer, clientId },
        detail: `${issuer} (${clientId})`,
        ip: req.ip,
      });
      req.session.adminNotice = `${issuer} (${clientId}) is now ${active ? 'active: it can launch CoachLTI' : 'inactive: its launches are refused'}.`;
      res.redirect(303, '/admin/platforms');
    }),
  );

  return router;
}
