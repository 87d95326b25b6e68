import type { Express } from 'express';

/** One route of the app: method and path pattern as registered with express. */
export interface RouteEntry {
  method: string;
  path: string;
}

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  name?: string;
  regexp?: RegExp;
  handle?: { stack?: Layer[] };
}

/**
 * Every route registered on the app's root-mounted routers (the tool's own routes). The built-in test
 * platform (mounted under /dev/platform, never in production) and ltijs's sub-app under /lti are not
 * express routes of ours and are listed by the matrix separately.
 */
export function listRoutes(app: Express): RouteEntry[] {
  const routes: RouteEntry[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const path of paths) {
          for (const [method, on] of Object.entries(layer.route.methods))
            if (on && method !== '_all') routes.push({ method: method.toUpperCase(), path });
        }
      } else if (
        layer.name === 'router' &&
        layer.handle?.stack &&
        !(layer.regexp && !layer.regexp.test('/') && layer.regexp.test('/dev/platform'))
      ) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { _router: { stack: Layer[] } })._router.stack);
  return routes;
}
