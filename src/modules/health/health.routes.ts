/** Liveness and readiness probes (API.md "Health"). */
import { Router } from 'express';
import { pingDatabase } from '../../lib/db';
import type { AppDeps } from '../../lib/deps';
import { pingRedis } from '../../lib/redis';
import { openToAnyone } from '../../lib/http/authorize';

// Each check must answer well inside the 2 s in which readiness has to flip.
const CHECK_TIMEOUT_MS = 1_500;

async function state(check: () => Promise<void>): Promise<'up' | 'down'> {
  try {
    await check();
    return 'up';
  } catch {
    return 'down';
  }
}

export function healthRouter(deps: AppDeps): Router {
  const router = Router();
  /** GET /healthz: the process is up. */
  router.get('/healthz', openToAnyone('liveness'), (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  /** GET /readyz: the database and Redis both answer. */
  router.get('/readyz', openToAnyone('readiness'), async (_req, res) => {
    const [mongo, redis] = await Promise.all([
      state(() => pingDatabase(CHECK_TIMEOUT_MS)),
      state(() => pingRedis(deps.redis, CHECK_TIMEOUT_MS)),
    ]);
    const ready = mongo === 'up' && redis === 'up';
    res.status(ready ? 200 : 503).set('Cache-Control', 'no-store').json({ status: ready ? 'ready' : 'unavailable', mongo, redis });
  });
  return router;
}
