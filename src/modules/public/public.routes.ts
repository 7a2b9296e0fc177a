/** What the public sees: the live turnover (page, API, stream) and the register of registered contracts. */
import { Router } from 'express';
import { z } from 'zod';
import { codeOptions, CONTRACT_TYPE_CODES, CONTRACT_TYPES, keysOf, TECHNICAL_FIELDS } from '../../domain/codes';
import { formatYuan, formatYuanGrouped } from '../../domain/money';
import type { TFunction } from 'i18next';
import { cstDate, cstIso, cstYear, cstYearBounds } from '../../domain/time';
import type { AppDeps } from '../../lib/deps';
import { listOrUnfiltered } from '../../lib/http/forms';
import { parseInput } from '../../lib/validation';
import { textFilter } from '../contracts/contracts.service';
import { Contract, type ContractDoc } from '../contracts/contract.model';
import { NUMBERED_STATUSES } from '../../domain/statuses';
import { homeLocals, type PreparedAnswers } from './prepared';
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

/**
 * The routes a crowd hits: mounted before sessions and body parsing, so an anonymous visitor
 * costs no session work; in a web process the front door (front-door.ts) answers them before
 * Express, from the same prepared bytes.
 */
export function publicFastRoutes(deps: AppDeps, answers: PreparedAnswers): Router {
  const router = Router();

  /** GET /: the live counter of this year's turnover against the target. */
  router.get('/', openToAnyone('the public homepage'), async (req, res, next) => {
    // Signed-in people get the page with their navigation, rendered for them (below).
    if (req.headers.cookie?.includes(`${SESSION_COOKIE}=`)) return next();
    const page = await answers.homepage(res.locals.lang as string);
    res.set({ 'Cache-Control': 'no-cache', ETag: page.etag, 'Content-Type': 'text/html; charset=utf-8', Vary: 'Cookie' });
    if (req.fresh) return res.status(304).end();
    res.send(page.body);
  });

  /** GET /api/v1/public/turnover?year=YYYY (default: the current CST year). */
  router.get('/api/v1/public/turnover', openToAnyone('public data'), async (req, res) => {
    const { year } = parseInput(yearQuery, req.query);
    const out = await answers.turnover(year ?? cstYear(new Date()));
    res.set({ 'Cache-Control': 'public, max-age=5', ETag: out.etag });
    if (req.fresh) return res.status(304).end();
    res.type('json').send(out.body);
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
    res.render('home/index', homeLocals(res.locals.lang as string, res.locals.t as TFunction, payload, config.turnoverTargetFen));
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
