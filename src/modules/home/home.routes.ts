/** The language switch. */
import { Router } from 'express';
import type { AppDeps } from '../../lib/deps';
import { isLanguage } from '../../i18n';
import { AppError } from '../../lib/errors';
import { openToAnyone } from '../../lib/http/authorize';

/** Only same-site paths may be redirect targets ("//evil.example" is not one). */
export function safeLocalPath(value: unknown, fallback = '/'): string {
  return typeof value === 'string' && /^\/(?![/\\])[^\s]*$/.test(value) ? value : fallback;
}

export function homeRouter(deps: AppDeps): Router {
  const router = Router();
  /** GET /lang/:lng?next=/path: switches the interface language and goes back. */
  router.get('/lang/:lng', openToAnyone('choice of language'), (req, res) => {
    const { lng } = req.params;
    if (!isLanguage(lng)) throw new AppError('NOT_FOUND');
    res.cookie('lang', lng, { httpOnly: true, sameSite: 'lax', secure: deps.config.secureCookies, maxAge: 365 * 24 * 3600 * 1000 });
    res.redirect(303, safeLocalPath(req.query.next));
  });
  return router;
}
