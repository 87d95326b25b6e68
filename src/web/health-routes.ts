import { Router } from 'express';

export interface Readiness {
  /** Database reachable and start-up work (migrations, LTI setup) finished. */
  check(): Promise<{ ready: boolean; reason?: string }>;
}

export function healthRoutes(readiness: Readiness): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res, next) => {
    readiness
      .check()
      .then((result) => {
        res.status(result.ready ? 200 : 503).json(result.ready ? { status: 'ready' } : { status: 'unavailable', reason: result.reason });
      })
      .catch(next);
  });
  return router;
}
