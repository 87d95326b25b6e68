import { Router } from 'express';
import { z } from 'zod';
import { membershipRolesFor, privacyOf } from './claims';
import type { Core } from './core';
import { errorFormat, handle, nextPageLink, notFound, PlatformError, parse, pagingQuery, singleString } from './http';
import { mediaType, scope } from './lti';
import type { CourseDoc, EnrollmentDoc, UserDoc } from './store';
import { requireAccess } from './token';
import type { Shape } from './types';

const querySchema = z.object({
  role: singleString.optional(),
  rlid: singleString.optional(),
  ...pagingQuery,
});

const defaultPageSize = 100;

/** `Learner` and the full URI both filter by the context role (NRPS 2.0 §2.4.1). */
function roleMatches(roles: string[], wanted: string): boolean {
  return roles.some((r) => r === wanted || r.endsWith(`#${wanted}`));
}

/** Names and Role Provisioning Services 2.0: the context membership, paged. */
export function nrpsRoutes(core: Core, shape: Shape): Router {
  const router = Router();
  router.get(
    '/contexts/:contextId/memberships',
    errorFormat('service'),
    handle(async (req, res) => {
      const access = await requireAccess(core, shape, req, [scope.membershipReadonly]);
      if (req.get('Accept') && !req.accepts([mediaType.membershipContainer, 'application/json'])) {
        throw new PlatformError(406, 'not_acceptable', `this endpoint answers ${mediaType.membershipContainer}`);
      }
      await core.ensureSeed();
      const course = await core.models.courses.findOne({ _id: req.params.contextId, shape }).lean<CourseDoc>();
      if (!course) throw notFound(`No context ${req.params.contextId ?? ''} on this platform.`);
      const query = parse(querySchema, req.query, 'query');
      if (query.rlid !== undefined) {
        // Every link in these courses is visible to the whole course, so the resource link membership
        // equals the context membership; an rlid of another context is still an error.
        const foreign = await core.models.links.exists({ _id: query.rlid, shape, contextId: { $ne: course._id } });
        if (foreign) throw new PlatformError(400, 'invalid_request', 'rlid belongs to another context');
      }
      const registration = await core.registrationByClientId(shape, access.clientId);
      const privacy = registration ? privacyOf(registration) : { name: false, email: false };

      const enrollments = await core.models.enrollments
        .find({ shape, contextId: course._id })
        .sort({ position: 1 })
        .lean<EnrollmentDoc[]>();
      const users = await core.models.users.find({ shape, userId: { $in: enrollments.map((e) => e.userId) } }).lean<UserDoc[]>();
      const byId = new Map(users.map((u) => [u.userId, u]));
      const members = enrollments
        .map((e) => ({ enrollment: e, user: byId.get(e.userId), roles: membershipRolesFor(shape, e.role) }))
        .filter((m): m is typeof m & { user: UserDoc } => m.user !== undefined)
        .filter((m) => query.role === undefined || roleMatches(m.roles, query.role));

      const limit = Math.min(query.limit ?? defaultPageSize, core.knobs.maxPageSize ?? Infinity);
      const page = query.page ?? 1;
      const slice = members.slice((page - 1) * limit, page * limit);
      const url = core.urls.memberships(shape, course._id);
      if (members.length > page * limit) {
        res.set(
          'Link',
          nextPageLink(
            url,
            { limit: String(limit), ...(query.role ? { role: query.role } : {}), ...(query.rlid ? { rlid: query.rlid } : {}) },
            page,
          ),
        );
      }
      res.type(mediaType.membershipContainer).json({
        // The container id is the URL that was read, query included.
        id: `${url}${req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : ''}`,
        context: { id: course._id, label: course.label, title: course.title },
        members: slice.map(({ enrollment, user, roles }) => ({
          status: enrollment.status,
          user_id: user.userId,
          roles,
          ...(privacy.name ? { name: user.name, given_name: user.givenName, family_name: user.familyName } : {}),
          ...(privacy.email ? { email: user.email } : {}),
          ...(user.legacyId ? { lti11_legacy_user_id: user.legacyId } : {}),
        })),
      });
    }),
  );
  return router;
}
