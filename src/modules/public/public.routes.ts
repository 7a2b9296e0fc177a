/** What the public sees: the live turnover (page, API, stream) and the register of registered contracts. */
import { createHash } from 'node:crypto';
import { Router, type Response } from 'express';
import { z } from 'zod';
import { codeOptions, CONTRACT_TYPE_CODES, CONTRACT_TYPES, keysOf, TECHNICAL_FIELDS } from '../../domain/codes';
import { fenOf, formatFenLarge, formatYuan, formatYuanGrouped } from '../../domain/money';
import type { TFunction } from 'i18next';
import { cstDate, cstIso, cstYear, cstYearBounds } from '../../domain/time';
import type { AppDeps } from '../../lib/deps';
import { listOrUnfiltered } from '../../lib/http/forms';
import { parseInput } from '../../lib/validation';
import { textFilter } from '../contracts/contracts.service';
import { Contract, type ContractDoc } from '../contracts/contract.model';
import { NUMBERED_STATUSES } from '../../domain/statuses';
import type { TurnoverPayload } from '../turnover/turnover.service';
import { SESSION_COOKIE } from '../accounts/auth.middleware';
import { openToAnyone } from '../../lib/http/authorize';

const yearQuery = z.object({ year: z.coerce.number().int().min(2000).max(2200).optional() });

export const registerQuerySchema = z.object({
  q: z.string().trim().max(100).optional(),
  year: z.coerce.number().int().min(2000).max(2200).optional().or(z.literal('').transform(() => undefined)),
  type: z.enum(CONTRACT_TYPE_CODES).optional().or(z.literal('').transform(() => undefined)),
  field: z.enum(keysOf(TECHNICAL_FIELDS)).optional().or(z.literal('').transform(() => undefined)),
  /** Registered (the default), cancelled, revoked, or all that were ever registered. */
  status: z.enum(['registered', 'cancelled', 'revoked', 'all']).default('registered').or(z.literal('').transform(() => 'registered' as const)),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
});

/** Registered contracts (or cancelled or revoked ones, asked for), newest first, with no contact data of anyone. */
export async function searchRegister(rawQuery: unknown) {
  const q = parseInput(registerQuerySchema, rawQuery);
  const filter: Record<string, unknown> = { status: q.status === 'all' ? { $in: NUMBERED_STATUSES } : q.status };
  // The year as a range of registration instants: the index on status and registeredAt serves it.
  if (q.year) filter.registeredAt = cstYearBounds(q.year);
  if (q.type) filter.type = q.type;
  if (q.field) filter.technicalField = q.field;
  // Public fields only: the parties' contract number is not public (see searchTextOf).
  if (q.q) Object.assign(filter, textFilter(q.q, 'public'));
  const fields = { registrationNumber: 1, title: 1, type: 1, subtype: 1, 'seller.name': 1, 'buyers.name': 1, contractAmountFen: 1, technicalAmountFen: 1, technicalField: 1, registeredAt: 1, status: 1, registrationVersion: 1 };
  const [items, total] = await Promise.all([
    Contract.find(filter).sort({ registeredAt: -1, _id: -1 }).skip((q.page - 1) * q.pageSize).limit(q.pageSize).select(fields).lean(),
    Contract.countDocuments(filter),
  ]);
  return { items: items as ContractDoc[], total, page: q.page, pageSize: q.pageSize, query: q };
}

export const registerItem = (c: ContractDoc) => ({
  registrationNumber: c.registrationNumber,
  title: c.title ?? '',
  type: c.type ?? null,
  subtype: c.subtype ?? null,
  sellerName: c.seller?.name ?? '',
  buyerNames: (c.buyers ?? []).map((b) => b.name ?? ''),
  contractAmount: formatYuan(c.contractAmountFen ?? 0),
  technicalAmount: formatYuan(c.technicalAmountFen ?? 0),
  technicalField: c.technicalField ?? null,
  registeredAt: c.registeredAt ? cstIso(c.registeredAt) : null,
  status: c.status,
  version: c.registrationVersion ?? 1,
});

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

/**
 * The routes a crowd hits: mounted before sessions and body parsing, so an anonymous visitor
 * costs no session work. The homepage HTML is rendered once per language and figure (and at
 * most once a minute, for the share of the year elapsed); the turnover JSON once per figure.
 */
/** What the homepage template needs, in the page's language. */
function homeLocals(res: Response, payload: TurnoverPayload, targetFen: number) {
  const lang = res.locals.lang as string;
  return {
    payload,
    figures: homeFigures(payload, targetFen),
    typeLabels: Object.fromEntries(codeOptions(CONTRACT_TYPES, lang).map((o) => [o.value, o.label])),
    fieldLabels: Object.fromEntries(codeOptions(TECHNICAL_FIELDS, lang).map((o) => [o.value, o.label])),
    /** A payload amount ("5000005.00") as people read it: grouped, or in 万元/亿元 (million/billion in English). */
    grouped: (amount: string) => formatYuanGrouped(fenOf(amount)),
    large: (amount: string) => {
      const l = formatFenLarge(fenOf(amount), lang === 'en' ? 'en' : 'cn');
      return { value: l.value, unit: (res.locals.t as TFunction)(`lists.unit_${l.unit}`), scaled: l.unit !== 'yuan' };
    },
  };
}

export function publicFastRoutes(deps: AppDeps): Router {
  const router = Router();
  const { config } = deps;
  const pages = new Map<string, { key: string; html: Buffer; etag: string }>();
  const json = new WeakMap<TurnoverPayload, { buf: Buffer; etag: string }>();

  /** GET /: the live counter of this year's turnover against the target. */
  router.get('/', openToAnyone('the public homepage'), async (req, res, next) => {
    // Signed-in people get the page with their navigation, rendered for them (below).
    if (req.headers.cookie?.includes(`${SESSION_COOKIE}=`)) return next();
    const payload = await deps.turnover.current(cstYear(new Date()));
    const lang = res.locals.lang as string;
    const key = `${payload.updatedAt}|${payload.contracts}|${payload.contractAmount}|${Math.floor(Date.now() / 60_000)}`;
    let page = pages.get(lang);
    if (page?.key !== key) {
      const html = await new Promise<string>((resolve, reject) =>
        res.render('home/index', { ...homeLocals(res, payload, config.turnoverTargetFen), currentPath: '/' }, (err, out) => (err ? reject(err) : resolve(out))),
      );
      // Kept as bytes with its ETag, so serving it hashes and encodes nothing.
      page = { key, html: Buffer.from(html), etag: `"${createHash('sha1').update(html).digest('base64url')}"` };
      pages.set(lang, page);
    }
    res.set({ 'Cache-Control': 'no-cache', ETag: page.etag, 'Content-Type': 'text/html; charset=utf-8' });
    if (req.fresh) return res.status(304).end();
    res.send(page.html);
  });

  /** GET /api/v1/public/turnover?year=YYYY (default: the current CST year). */
  router.get('/api/v1/public/turnover', openToAnyone('public data'), async (req, res) => {
    const { year } = parseInput(yearQuery, req.query);
    const payload = await deps.turnover.current(year ?? cstYear(new Date()));
    let out = json.get(payload);
    if (!out) {
      const body = JSON.stringify(payload);
      out = { buf: Buffer.from(body), etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
      json.set(payload, out);
    }
    res.set({ 'Cache-Control': 'public, max-age=5', ETag: out.etag });
    if (req.fresh) return res.status(304).end();
    res.type('json').send(out.buf);
  });

  /**
   * GET /api/v1/public/turnover/stream: Server-Sent Events, event "turnover" at once and on every change.
   * 429 past SSE_MAX_CLIENTS_PER_IP streams from one address (`req.ip`: behind a proxy, set TRUST_PROXY), 503 past SSE_MAX_CLIENTS.
   */
  router.get('/api/v1/public/turnover/stream', openToAnyone('public data'), async (req, res) => {
    const { year } = parseInput(yearQuery, req.query);
    await deps.turnover.attach(res, year ?? cstYear(new Date()), req.ip ?? req.socket.remoteAddress);
  });

  return router;
}

export function publicRoutes(deps: AppDeps): Router {
  const router = Router();
  const { config } = deps;

  /** GET /: the homepage for signed-in people (anonymous visitors were served above). */
  router.get('/', openToAnyone('the public homepage'), async (_req, res) => {
    const payload = await deps.turnover.current(cstYear(new Date()));
    res.set('Cache-Control', 'no-cache');
    res.render('home/index', homeLocals(res, payload, config.turnoverTargetFen));
  });

  /** GET /api/v1/public/register?q=&year=&type=&field=&page=&pageSize= */
  router.get('/api/v1/public/register', openToAnyone('public data'), async (req, res) => {
    const { items, total, page, pageSize } = await searchRegister(req.query);
    res.set('Cache-Control', 'public, max-age=30').json({ items: items.map(registerItem), page, pageSize, total });
  });

  /** GET /register: the public register page. */
  router.get('/register', openToAnyone('the public register'), async (req, res) => {
    const lang = res.locals.lang as string;
    const { result, filterError } = await listOrUnfiltered(searchRegister, req.query);
    const q = result.query;
    const thisYear = cstYear(new Date());
    res.render('public/register', {
      items: result.items.map((c) => ({
        ...registerItem(c),
        contractText: formatYuanGrouped(c.contractAmountFen ?? 0),
        technicalText: formatYuanGrouped(c.technicalAmountFen ?? 0),
        typeLabel: codeOptions(CONTRACT_TYPES, lang).find((o) => o.value === c.type)?.label ?? '',
        fieldLabel: codeOptions(TECHNICAL_FIELDS, lang).find((o) => o.value === c.technicalField)?.label ?? '',
        registeredOn: c.registeredAt ? cstDate(c.registeredAt) : '',
      })),
      total: result.total,
      page: result.page,
      pages: Math.max(1, Math.ceil(result.total / result.pageSize)),
      query: { q: q.q ?? '', year: q.year ?? '', type: q.type ?? '', field: q.field ?? '', status: q.status },
      types: codeOptions(CONTRACT_TYPES, lang),
      fields: codeOptions(TECHNICAL_FIELDS, lang),
      years: Array.from({ length: 6 }, (_, i) => thisYear - i),
      filterError: Boolean(filterError),
    });
  });

  return router;
}
