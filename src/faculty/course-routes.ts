import { Router } from 'express';
import type { LaunchRecords } from '../courses/launch-records';
import type { Catalog } from '../curriculum/catalog';
import type { RosterService } from '../lti/nrps';
import { PlatformRequestError } from '../lti/platform-client';
import { NotFoundError } from '../shared/errors';
import { asyncHandler } from '../web/async-handler';
import { pageContext } from '../web/page-context';
import { requireLaunch } from '../web/session';

/** The faculty course dashboard and the course roster (NRPS). */
export function courseRoutes(deps: { records: LaunchRecords; roster: RosterService; catalog: Catalog }): Router {
  const router = Router();
  const gate = requireLaunch('instructor', 'admin');

  router.get(
    '/course',
    gate,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      const course = launch.courseId ? await deps.records.findCourse(launch.courseId) : null;
      if (!course) throw new NotFoundError('This launch did not come from a course.');
      res.render('faculty/course', {
        pageTitle: course.title,
        ...pageContext(launch),
        courseInfo: {
          title: course.title,
          label: course.label,
          hasRoster: Boolean(course.membershipsUrl),
          hasGradebook: Boolean(course.lineItemsUrl),
        },
        modules: deps.catalog.list(),
      });
    }),
  );

  router.get(
    '/course/roster',
    gate,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      const course = launch.courseId ? await deps.records.findCourse(launch.courseId) : null;
      if (!course) throw new NotFoundError('This launch did not come from a course.');
      let members: Awaited<ReturnType<RosterService['roster']>> = [];
      let problem: string | undefined;
      try {
        members = await deps.roster.roster(course);
      } catch (error) {
        if (!(error instanceof PlatformRequestError)) throw error;
        req.log.warn({ err: error, status: error.status }, 'roster request failed');
        problem = `The LMS did not return the roster (${error.message}).`;
      }
      res.render('faculty/roster', {
        pageTitle: `Roster · ${course.title}`,
        ...pageContext(launch),
        members: members.map((m) => ({ ...m, roles: m.roles.join(', ') })),
        count: members.length,
        available: Boolean(course.membershipsUrl),
        problem,
      });
    }),
  );
  return router;
}
