/**
 * The anonymous public answers a crowd asks for, kept as bytes with their ETags: the homepage
 * (per language, re-rendered when the figure changes and at most once a minute for the share
 * of the year elapsed) and the turnover JSON (once per figure). Both the front door (before
 * Express) and the Express routes serve from here, so they give the same bytes.
 */
import { createHash } from 'node:crypto';
import type { TFunction } from 'i18next';
import { codeOptions, CONTRACT_TYPES, TECHNICAL_FIELDS } from '../../domain/codes';
import { fenOf, formatYuanGrouped } from '../../domain/money';
import { headlineFigure } from '../stats/stats.view';
import { cstYear } from '../../domain/time';
import type { TurnoverPayload } from '../turnover/turnover.service';

export interface Prepared {
  body: Buffer;
  etag: string;
}

const prepared = (text: string): Prepared => ({ body: Buffer.from(text), etag: `"${createHash('sha1').update(text).digest('base64url')}"` });

/** Shares for the homepage: of the target reached, of the CST year elapsed, and a straight-line projection. */
export function homeFigures(p: TurnoverPayload, targetFen: number, now = new Date()) {
  const year = p.year;
  const start = Date.parse(`${year}-01-01T00:00:00+08:00`);
  const end = Date.parse(`${year + 1}-01-01T00:00:00+08:00`);
  const elapsed = year === cstYear(now) ? Math.min(1, Math.max(0, (now.getTime() - start) / (end - start))) : year < cstYear(now) ? 1 : 0;
  const contractFen = fenOf(p.contractAmount);
  const projectedFen = elapsed > 0.02 ? Math.round(contractFen / elapsed) : null;
  return {
    progressPct: Math.min(100, p.progress * 100),
    progressText: (p.progress * 100).toFixed(2),
    elapsedPct: elapsed * 100,
    elapsedText: (elapsed * 100).toFixed(1),
    contractText: formatYuanGrouped(contractFen),
    technicalText: formatYuanGrouped(fenOf(p.technicalAmount)),
    targetText: formatYuanGrouped(targetFen),
    projectionText: projectedFen === null ? null : formatYuanGrouped(projectedFen),
    onTrack: projectedFen !== null && projectedFen >= targetFen,
  };
}

/** What the homepage template needs, in the page's language. */
export function homeLocals(lang: string, t: TFunction, payload: TurnoverPayload, targetFen: number) {
  return {
    payload,
    figures: homeFigures(payload, targetFen),
    typeLabels: Object.fromEntries(codeOptions(CONTRACT_TYPES, lang).map((o) => [o.value, o.label])),
    fieldLabels: Object.fromEntries(codeOptions(TECHNICAL_FIELDS, lang).map((o) => [o.value, o.label])),
    /** A payload amount ("5000005.00") as people read it: grouped, or in 万元/亿元 (million/billion in English). */
    grouped: (amount: string) => formatYuanGrouped(fenOf(amount)),
    large: (amount: string) => headlineFigure(t, lang, fenOf(amount)),
  };
}

export interface PreparedDeps {
  turnover: { current(year: number): Promise<TurnoverPayload> };
  targetFen: number;
  /** Renders a view with these locals (the app's locals added). */
  render(view: string, locals: Record<string, unknown>): Promise<string>;
  translator(lang: string): TFunction;
}

export class PreparedAnswers {
  private readonly pages = new Map<string, { key: string; page: Prepared }>();
  private readonly rendering = new Map<string, Promise<Prepared>>();
  private readonly json = new WeakMap<TurnoverPayload, Prepared>();

  constructor(private readonly deps: PreparedDeps) {}

  /** The anonymous homepage in a language. */
  async homepage(lang: string): Promise<Prepared> {
    const payload = await this.deps.turnover.current(cstYear(new Date()));
    const key = `${payload.sequence}|${payload.updatedAt}|${payload.contracts}|${payload.contractAmount}|${Math.floor(Date.now() / 60_000)}`;
    const known = this.pages.get(lang);
    if (known?.key === key) return known.page;
    // Many readers arriving as the figure changes wait for one rendering, not one each.
    const busy = this.rendering.get(`${lang}|${key}`);
    if (busy) return busy;
    const render = (async () => {
      const t = this.deps.translator(lang);
      const html = await this.deps.render('home/index', { lang, t, currentPath: '/', ...homeLocals(lang, t, payload, this.deps.targetFen) });
      const page = prepared(html);
      this.pages.set(lang, { key, page });
      return page;
    })().finally(() => this.rendering.delete(`${lang}|${key}`));
    this.rendering.set(`${lang}|${key}`, render);
    return render;
  }

  /** `/api/v1/public/turnover` for a year. */
  async turnover(year: number): Promise<Prepared> {
    const payload = await this.deps.turnover.current(year);
    let out = this.json.get(payload);
    if (!out) this.json.set(payload, (out = prepared(JSON.stringify(payload))));
    return out;
  }
}

/** Whether a request's If-None-Match names this ETag (weak or strong), unless it asks for a fresh copy. */
export function notModified(headers: { 'if-none-match'?: string; 'cache-control'?: string }, etag: string): boolean {
  const match = headers['if-none-match'];
  if (!match) return false;
  if (headers['cache-control'] && /(?:^|,)\s*no-cache\s*(?:,|$)/.test(headers['cache-control'])) return false;
  if (match.trim() === '*') return true;
  return match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
