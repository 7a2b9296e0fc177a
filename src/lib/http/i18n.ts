/**
 * Puts the request's language and translation function into res.locals. Pages are in
 * Chinese unless the person chose English (the `lang` cookie); API clients may also ask
 * through Accept-Language.
 */
import type { RequestHandler } from 'express';
import type { i18n } from 'i18next';
import { detectLanguage } from '../../i18n';
import { isApiRequest } from './errors';

export function languageMiddleware(i18n: i18n): RequestHandler {
  return (req, res, next) => {
    const lang = detectLanguage(req.cookies?.lang, isApiRequest(req.originalUrl) ? req.get('accept-language') : undefined);
    res.locals.lang = lang;
    res.locals.t = i18n.getFixedT(lang);
    next();
  };
}
