/** Puts the request's language and translation function into res.locals. */
import type { RequestHandler } from 'express';
import type { i18n } from 'i18next';
import { detectLanguage } from '../../i18n';

export function languageMiddleware(i18n: i18n): RequestHandler {
  return (req, res, next) => {
    const lang = detectLanguage(req.cookies?.lang, req.get('accept-language'));
    res.locals.lang = lang;
    res.locals.t = i18n.getFixedT(lang);
    next();
  };
}
