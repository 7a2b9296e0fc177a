/**
 * The guide to registration (办事指南): the rules, who registers, documents, time limits, fees,
 * the refusal reasons and the remedies. Open to anyone. The figures come from where the
 * registry applies them (time limits, the expert-review threshold, the refusal reasons) and the
 * agency's own wording from its settings, so the guide cannot drift from what the registry does.
 */
import { Router } from 'express';
import { EXPERT_REVIEW_FEN } from '../../domain/checks';
import { REFUSAL_REASON_TEXTS } from '../../domain/codes';
import { formatYuanGrouped } from '../../domain/money';
import { regionName } from '../../domain/regions';
import type { Config } from '../../config';
import { openToAnyone } from '../../lib/http/authorize';
import { decisionWorkingDays } from '../contracts/receipt';

/** An amount as the guide says it: "500 万元" / "5 million yuan" when round, else in full. */
export function amountInWords(fen: number, lang: string): string {
  const yuan = fen / 100;
  if (lang === 'en') return Number.isInteger(yuan / 1_000_000) ? `${yuan / 1_000_000} million yuan` : `${formatYuanGrouped(fen)} yuan`;
  return Number.isInteger(yuan / 10_000) ? `${yuan / 10_000} 万元` : `${formatYuanGrouped(fen)} 元`;
}

/** The nine refusal reasons, numbered as the national list, in the page's language. */
export function refusalReasons(lang: string): { code: string; text: string }[] {
  return Object.entries(REFUSAL_REASON_TEXTS)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([code, text]) => ({ code, text: lang === 'en' ? text.en : text.zh }));
}

export function guideRouter(config: Pick<Config, 'agency' | 'guideContact'>): Router {
  const router = Router();

  /** GET /guide: the guide to registration. */
  router.get('/guide', openToAnyone('the guide to registration'), (_req, res) => {
    const lang = res.locals.lang as string;
    res.set('Cache-Control', 'no-cache');
    res.render('guide/index', {
      agencyName: lang === 'en' ? config.agency.nameEn : config.agency.nameZh,
      agencyRegion: regionName(config.agency.code, lang),
      contact: lang === 'en' ? config.guideContact.en : config.guideContact.zh,
      days: decisionWorkingDays(0),
      expertDays: decisionWorkingDays(EXPERT_REVIEW_FEN),
      expertThreshold: amountInWords(EXPERT_REVIEW_FEN, lang),
      reasons: refusalReasons(lang),
    });
  });

  return router;
}
