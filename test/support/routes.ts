/** The app's routes, read from Express's router (for tests that must cover every route). */
import type { Express, RequestHandler } from 'express';
import { POLICY } from '../../src/lib/http/authorize';

type Layer = { route?: { path: string; methods: Record<string, boolean>; stack: { handle: RequestHandler }[] }; handle?: { stack?: Layer[] } };

export interface RouteInfo {
  method: string;
  path: string;
  /** The policies its handlers declare (authorize() or openToAnyone()). */
  policies: string[];
}

export function routesOf(app: Express): RouteInfo[] {
  const out: RouteInfo[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route && typeof layer.route.path === 'string') {
        const policies = layer.route.stack.map((l) => (l.handle as unknown as Record<symbol, string>)[POLICY]).filter(Boolean);
        for (const method of Object.keys(layer.route.methods)) out.push({ method: method.toUpperCase(), path: layer.route.path, policies });
      }
      if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}
