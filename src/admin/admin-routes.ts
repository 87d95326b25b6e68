import { Router } from 'express';
import type { Connection } from 'mongoose';
import type { Config } from '../config/config';
import type { GradingAdmin } from '../grading/grading-admin';
import type { Logger } from '../shared/logger';
import type { LtiProvider } from '../lti/ltijs-adapter';
import type { PlatformRegistry } from '../lti/platform-registry';
import { asyncHandler } from '../web/async-handler';
import { pageContext } from '../web/page-context';
import { requireLaunch } from '../web/session';

/** The administrator area (opened by an institution or system Administrator launch). */
export interface AdminDeps {
  connection: Connection;
  config: Config;
  logger: Logger;
  provider: LtiProvider;
  registry: PlatformRegistry;
  grading: GradingAdmin;
}

export function adminRoutes(deps: AdminDeps): Router {
  const router = Router();
  router.get(
    '/admin',
    requireLaunch('admin'),
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
      res.render('admin/home', { pageTitle: 'Administration', ...pageContext(req.session.launch!), platforms: rows });
    }),
  );
  return router;
}
