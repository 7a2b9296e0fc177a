/**
 * Open data (API.md "Open data"): a year's public register and its ledger of movements as
 * files anyone can download, the public breakdowns of the year's tally, and the pages that
 * explain them (/open-data with its data dictionary and licence, /statistics).
 *
 * The files stream from a database cursor (a year is never held whole) and carry an ETag from
 * a few small reads, so a client holding the current file gets a 304 for almost nothing. The
 * ledger file stops at the ledger sequence of the figure this process publishes, so its sums
 * are that figure to the fen: anyone can rebuild the published total.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { Router, type Request, type Response } from 'express';
import type { TFunction } from 'i18next';
import { Types } from 'mongoose';
import { z } from 'zod';
import { CONTRACT_SUBTYPES, CONTRACT_TYPES, ENTITY_NATURES, IP_TYPES, PLAN_SOURCES, PRIORITY_AREAS, TECHNICAL_FIELDS, type CodeLabel } from '../../domain/codes';
import { formatYuan, formatYuanGrouped } from '../../domain/money';
import { NUMBERED_STATUSES } from '../../domain/statuses';
import { decodeFact, type Amounts, type Dimension, type TallyFact, type YearTally } from '../../domain/tally';
import { cstDateTime, cstIso, cstYear, cstYearBounds } from '../../domain/time';
import type { AppDeps } from '../../lib/deps';
import { openToAnyone } from '../../lib/http/authorize';
import { neutralise } from '../../lib/http/csv';
import { parseInput } from '../../lib/validation';
import { Contract, type ContractDoc } from '../contracts/contract.model';
import { RegistrationRequest } from '../contracts/request.model';
import { buildTables, changePct } from '../stats/stats.service';
import { chartSeries, headlineFigure, tableLabels } from '../stats/stats.view';
import { TallyEntry } from '../turnover/turnover.model';
import { getTally, type TurnoverPayload } from '../turnover/turnover.service';
import { marketStats, marketStatsAnswer } from '../market/market.stats';
import { registerItem } from './public.routes';

const yearQuery = z.object({ year: z.coerce.number().int().min(2000).max(2200).optional().or(z.literal('').transform(() => undefined)) });
const yearOf = (req: Request) => parseInput(yearQuery, req.query).year ?? cstYear(new Date());

/** The files change at most with a registration: a minute of caching is fair to everyone. */
const FILE_CACHE = 'public, max-age=60';

// ── The register ───────────────────────────────────────────────────────────────────────

/** The register's columns: the JSON field names of /api/v1/public/register items. */
export const REGISTER_FIELDS = ['registrationNumber', 'title', 'type', 'subtype', 'sellerName', 'buyerNames', 'contractAmount', 'technicalAmount', 'technicalField', 'registeredAt', 'status', 'version'] as const;
/** Public fields only: no contact data, no credit codes, no ID numbers ever leave through here. */
const REGISTER_SELECT = { registrationNumber: 1, title: 1, type: 1, subtype: 1, 'seller.name': 1, 'buyers.name': 1, contractAmountFen: 1, technicalAmountFen: 1, technicalField: 1, registeredAt: 1, status: 1, registrationVersion: 1 };
/** Every contract that was registered in the year (CST), whatever became of it since. */
const registerFilter = (year: number) => ({ status: { $in: [...NUMBERED_STATUSES] }, registeredAt: cstYearBounds(year) });

type RegisterItem = ReturnType<typeof registerItem>;

/** The year's register, in order of registration, one document at a time. */
async function* registerItems(year: number): AsyncGenerator<RegisterItem> {
  // The public register's index (status, registeredAt) serves the filter and the order.
  const cursor = Contract.find(registerFilter(year)).sort({ registeredAt: 1, _id: 1 }).select(REGISTER_SELECT).lean().batchSize(500).cursor();
  for await (const c of cursor) yield registerItem(c as ContractDoc);
}

/** One register row as CSV cells: the parties' names and titles are neutralised (they could start like a formula). */
const registerCells = (i: RegisterItem): string[] => [
  i.registrationNumber ?? '', neutralise(i.title), i.type ?? '', i.subtype ?? '', neutralise(i.sellerName), neutralise(i.buyerNames.join('; ')),
  i.contractAmount, i.technicalAmount, i.technicalField ?? '', i.registeredAt ?? '', i.status, String(i.version),
];

// ── The ledger ─────────────────────────────────────────────────────────────────────────

export const LEDGER_FIELDS = ['registrationNumber', 'event', 'at', 'contractAmountDelta', 'technicalAmountDelta', 'contractsDelta'] as const;
export const LEDGER_EVENTS = ['registered', 'imported', 'changed', 'cancelled', 'revoked'] as const;

/** A ledger entry's `_id` as turnover.service writes it: "<year>-<sequence, 9 digits>". */
const entryId = (year: number, seq: number) => `${year}-${String(seq).padStart(9, '0')}`;

interface LedgerEntry {
  _id: string;
  e: string;
  s: number;
  f: string;
  g?: string | null;
  /** "import": the registration came in with an import of earlier registrations. */
  o?: string | null;
}

export interface Movement {
  event: string;
  contractId: string | null;
  requestId: string | null;
  contractFen: number;
  technicalFen: number;
  count: number;
}

/**
 * What one ledger entry moves in the published totals (the seller side, 输出), exactly as the
 * tally applies it (domain/tally addInPlace): its fact with its sign, less a change's earlier
 * fact. Null for a filler, and for a technology import (技术引进), which counts on the buyer
 * side only and so not in the published figure.
 */
export function movementOf(e: LedgerEntry): Movement | null {
  if (e.s === 0) return null;
  const f = decodeFact(e.f);
  const g = e.g ? decodeFact(e.g) : null;
  if (!f.output && !g?.output) return null;
  const counted = (x: TallyFact | null, k: 'contractFen' | 'technicalFen') => (x?.output ? x[k] : 0);
  const moved = (k: 'contractFen' | 'technicalFen') => e.s * (counted(f, k) - counted(g, k)) || 0; // no -0
  const [kind, first = null] = e.e.split(':');
  const m: Movement = { event: kind, contractId: null, requestId: null, contractFen: moved('contractFen'), technicalFen: moved('technicalFen'), count: e.s * ((f.output ? 1 : 0) - (g?.output ? 1 : 0)) || 0 };
  if (kind === 'registered') return { ...m, event: e.o === 'import' ? 'imported' : 'registered', contractId: first };
  if (kind === 'revoked') return { ...m, contractId: first }; // "revoked:<contract>" or "revoked:<contract>:<change>"
  return { ...m, requestId: first }; // "changed:<request>", "cancelled:<request>"
}

export interface LedgerRow {
  registrationNumber: string;
  event: string;
  at: string;
  contractAmountDelta: string;
  technicalAmountDelta: string;
  contractsDelta: number;
}

const objectIds = (ids: (string | null | undefined)[]) => [...new Set(ids.filter((x): x is string => !!x && Types.ObjectId.isValid(x)))];

/**
 * A batch of movements with their registration numbers and times, read with two queries (the
 * requests, then every contract named). The ledger stores no time: `at` is the event's own
 * time on its record: the contract's registeredAt for a registration or import, the request's
 * applied.at for a change or cancellation, and the contract's revokedAt for a revocation.
 */
async function withNumbers(batch: Movement[]): Promise<LedgerRow[]> {
  const requestIds = objectIds(batch.map((m) => m.requestId));
  const requests = requestIds.length ? await RegistrationRequest.find({ _id: { $in: requestIds } }).select({ contractId: 1, 'applied.at': 1 }).lean() : [];
  const requestOf = new Map(requests.map((r) => [String(r._id), r]));
  const contractIds = objectIds([...batch.map((m) => m.contractId), ...requests.map((r) => String(r.contractId))]);
  const contracts = contractIds.length ? await Contract.find({ _id: { $in: contractIds } }).select({ registrationNumber: 1, registeredAt: 1, revokedAt: 1 }).lean() : [];
  const contractOf = new Map(contracts.map((c) => [String(c._id), c]));
  return batch.map((m) => {
    const r = m.requestId ? requestOf.get(m.requestId) : undefined;
    const c = contractOf.get(m.contractId ?? String(r?.contractId ?? ''));
    const at = m.requestId ? r?.applied?.at : m.event === 'revoked' ? c?.revokedAt : c?.registeredAt;
    return {
      registrationNumber: c?.registrationNumber ?? '',
      event: m.event,
      at: at ? cstIso(new Date(at)) : '',
      contractAmountDelta: formatYuan(m.contractFen),
      technicalAmountDelta: formatYuan(m.technicalFen),
      contractsDelta: m.count,
    };
  });
}

/** The year's movements up to ledger sequence `sequence`, in ledger order, resolved 500 at a time. */
export async function* ledgerRows(year: number, sequence: number): AsyncGenerator<LedgerRow> {
  if (sequence <= 0) return;
  const cursor = TallyEntry.find({ _id: { $gt: entryId(year, 0), $lte: entryId(year, sequence) } }).sort({ _id: 1 }).lean().batchSize(1000).cursor();
  let batch: Movement[] = [];
  for await (const e of cursor) {
    const m = movementOf(e as unknown as LedgerEntry);
    if (m) batch.push(m);
    if (batch.length === 500) {
      yield* await withNumbers(batch);
      batch = [];
    }
  }
  if (batch.length) yield* await withNumbers(batch);
}

// ── The public statistics ──────────────────────────────────────────────────────────────

interface StoredTally {
  tally: YearTally;
  updatedAt: Date | null;
  sequence: number;
}

const amounts = (a: Amounts | undefined) => ({ contracts: a?.count ?? 0, contractAmount: formatYuan(a?.contractFen ?? 0), technicalAmount: formatYuan(a?.technicalFen ?? 0) });

const BREAKDOWNS: [string, Exclude<Dimension, 'month'>, Record<string, CodeLabel>][] = [
  ['byType', 'type', CONTRACT_TYPES],
  ['byField', 'field', TECHNICAL_FIELDS],
  ['byNature', 'nature', ENTITY_NATURES],
  ['byIpType', 'ipType', IP_TYPES],
  ['byPriorityArea', 'priorityArea', PRIORITY_AREAS],
  ['byPlanSource', 'planSource', PLAN_SOURCES],
];

/**
 * The public breakdowns of a year's tally: the seller side (输出: every registration here, the
 * published totals), the buyer side (吸纳: a buyer in the agency's area), large contracts, and
 * each dimension by code (in the code list's order; codes with nothing left out), amounts as strings.
 */
export function publicStatsPayload(s: StoredTally) {
  const t = s.tally;
  const rows = (d: Exclude<Dimension, 'month'>, list: Record<string, CodeLabel>) => {
    const by = t.by[d] ?? {};
    const codes = [...Object.keys(list), ...Object.keys(by).filter((k) => !(k in list)).sort()];
    return codes.filter((k) => by[k] && (by[k].count !== 0 || by[k].contractFen !== 0)).map((code) => ({ code, ...amounts(by[code]) }));
  };
  return {
    year: t.year,
    updatedAt: s.updatedAt ? cstIso(new Date(s.updatedAt)) : null,
    sequence: s.sequence,
    sellerSide: amounts(t.totals),
    buyerSide: amounts(t.buyerSide),
    largeContracts: amounts(t.large),
    ...Object.fromEntries(BREAKDOWNS.map(([name, d, list]) => [name, rows(d, list)])),
    byMonth: Array.from({ length: 12 }, (_, i) => {
      const month = String(i + 1).padStart(2, '0');
      return { month, ...amounts(t.by.month?.[month]) };
    }),
  };
}

// ── The routes ─────────────────────────────────────────────────────────────────────────

/** Writes rows as CSV (UTF-8 with a BOM, for Excel) behind a header row; a client that hangs up ends it quietly. */
async function streamCsv(res: Response, header: readonly string[], rows: AsyncIterable<string[]>): Promise<void> {
  async function* all() {
    yield [...header];
    yield* rows;
  }
  res.write('\uFEFF');
  await pipeline(Readable.from(all()), stringify(), res).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ERR_STREAM_PREMATURE_CLOSE' && !res.destroyed) throw err;
  });
}

const quoted = (parts: (string | number)[]) => `"${createHash('sha1').update(parts.join('|')).digest('base64url')}"`;

/** The download headers, and true when the client's copy is current (answered 304). */
function notModified(req: Request, res: Response, etag: string, type: string, filename: string): boolean {
  res.set({ ETag: etag, 'Cache-Control': FILE_CACHE, 'Content-Type': type, 'Content-Disposition': `attachment; filename="${filename}"`, 'X-Content-Type-Options': 'nosniff' });
  if (!req.fresh) return false;
  res.status(304).end();
  return true;
}

/**
 * The routes anyone may call, mounted before sessions and body parsing (app.ts): the register
 * and ledger files and the statistics JSON. Nothing here writes, so nothing needs a session.
 */
export function openDataFastRoutes(deps: AppDeps): Router {
  const router = Router();
  const tallies = publishedTallies(deps);
  const registerTags = new Map<number, Promise<string>>();

  /**
   * What the year's register file is made of: the figures' ledger sequences of that year and
   * every later one (a change or cancellation counts in the year it is registered), and the
   * count and latest update of the year's numbered contracts (so a change shows before the
   * figures move). Concurrent requests for a year share one reading.
   */
  const registerEtag = (year: number): Promise<string> => {
    let tag = registerTags.get(year);
    if (!tag) {
      tag = (async () => {
        const years = Array.from({ length: Math.max(0, cstYear(new Date()) - year) + 1 }, (_, i) => year + i);
        const [sequences, [agg]] = await Promise.all([
          Promise.all(years.map(async (y) => (await deps.turnover.current(y)).sequence)),
          Contract.aggregate<{ n: number; last: Date | null }>([{ $match: registerFilter(year) }, { $group: { _id: null, n: { $sum: 1 }, last: { $max: '$updatedAt' } } }]),
        ]);
        return quoted(['register-v1', year, agg?.n ?? 0, agg?.last ? new Date(agg.last).getTime() : 0, ...sequences]);
      })().finally(() => registerTags.delete(year));
      registerTags.set(year, tag);
    }
    return tag;
  };

  /** GET /api/v1/public/register.csv?year=: the year's whole public register, header row = JSON field names. */
  router.get('/api/v1/public/register.csv', openToAnyone('public data'), async (req, res) => {
    const year = yearOf(req);
    if (notModified(req, res, await registerEtag(year), 'text/csv; charset=utf-8', `register-${year}.csv`)) return;
    await streamCsv(res, REGISTER_FIELDS, (async function* () {
      for await (const item of registerItems(year)) yield registerCells(item);
    })());
  });

  /** GET /api/v1/public/register.jsonl?year=: the same, one JSON object per line. */
  router.get('/api/v1/public/register.jsonl', openToAnyone('public data'), async (req, res) => {
    const year = yearOf(req);
    if (notModified(req, res, await registerEtag(year), 'application/x-ndjson; charset=utf-8', `register-${year}.jsonl`)) return;
    const lines = (async function* () {
      for await (const item of registerItems(year)) yield `${JSON.stringify(item)}\n`;
    })();
    await pipeline(Readable.from(lines), res).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ERR_STREAM_PREMATURE_CLOSE' && !res.destroyed) throw err;
    });
  });

  /**
   * GET /api/v1/public/ledger.csv?year=: every movement in the year's published totals, as far
   * as the figure this process publishes (its `sequence`, also sent as X-Ledger-Sequence).
   * Entries never change, so the year and that sequence are the whole ETag.
   */
  router.get('/api/v1/public/ledger.csv', openToAnyone('public data'), async (req, res) => {
    const year = yearOf(req);
    const { sequence } = await deps.turnover.current(year);
    res.set('X-Ledger-Sequence', String(sequence));
    if (notModified(req, res, quoted(['ledger-v1', year, sequence]), 'text/csv; charset=utf-8', `ledger-${year}.csv`)) return;
    await streamCsv(res, LEDGER_FIELDS, (async function* () {
      for await (const r of ledgerRows(year, sequence)) yield [r.registrationNumber, r.event, r.at, r.contractAmountDelta, r.technicalAmountDelta, String(r.contractsDelta)];
    })());
  });

  /** GET /api/v1/public/stats?year=: the year's public breakdowns, from its tally. */
  router.get('/api/v1/public/stats', openToAnyone('public data'), async (req, res) => {
    const { body, etag } = await tallies.json(yearOf(req));
    res.set({ 'Cache-Control': 'public, max-age=30', ETag: etag });
    if (req.fresh) return res.status(304).end();
    res.type('json').send(body);
  });

  return router;
}

/**
 * A year's stored tally, read once per published figure (the hub's payload object changes
 * with every figure announced), with its statistics JSON serialised once too.
 */
function publishedTallies(deps: AppDeps) {
  const read = new WeakMap<TurnoverPayload, Promise<StoredTally & { json?: { body: Buffer; etag: string } }>>();
  const of = async (year: number) => {
    const figure = await deps.turnover.current(year);
    let p = read.get(figure);
    if (!p) {
      p = getTally(year);
      read.set(figure, p);
      p.catch(() => read.delete(figure));
    }
    return p;
  };
  return {
    of,
    async json(year: number) {
      const s = await of(year);
      if (!s.json) {
        // What the technology market brought about moves only with a registration, as the figure does.
        const market = marketStatsAnswer(await marketStats(year));
        const body = Buffer.from(JSON.stringify({ ...publicStatsPayload(s), market }));
        s.json = { body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
      }
      return s.json;
    },
  };
}

/**
 * The licence text as runs of text and links: its URLs become links, shown in pieces that may
 * break after each slash (a long URL must not widen a phone's page). The template escapes all.
 */
const linkified = (text: string) =>
  text
    .split(/(https?:\/\/[^\s，。；、）)]+)/)
    .filter(Boolean)
    .map((part) => (/^https?:\/\//.test(part) ? { href: part, pieces: part.split(/(?<=\/)/) } : { href: null, pieces: [part] }));

const label = (l: CodeLabel, lang: string) => (lang === 'en' ? l.en : l.zh);
const codeRows = (list: Record<string, CodeLabel>, lang: string) => Object.entries(list).map(([code, l]) => ({ code, label: label(l, lang) }));

/** Every code list the files use, for the data dictionary. */
function codeLists(t: TFunction, lang: string) {
  const unknown = { code: 'unknown', label: t('openData.unknownCode') };
  return [
    { name: 'type', fields: 'type', rows: codeRows(CONTRACT_TYPES, lang) },
    {
      name: 'subtype',
      fields: 'subtype',
      rows: Object.entries(CONTRACT_SUBTYPES).flatMap(([type, subs]) => Object.entries(subs).map(([code, l]) => ({ code, label: `${label(CONTRACT_TYPES[type as keyof typeof CONTRACT_TYPES], lang)} · ${label(l, lang)}` }))),
    },
    { name: 'technicalField', fields: 'technicalField · byField', rows: codeRows(TECHNICAL_FIELDS, lang) },
    { name: 'status', fields: 'status', rows: ['registered', 'cancelled', 'revoked'].map((code) => ({ code, label: t(`openData.statuses.${code}`) })) },
    { name: 'event', fields: 'event', rows: LEDGER_EVENTS.map((code) => ({ code, label: t(`openData.events.${code}`) })) },
    { name: 'nature', fields: 'byNature', rows: [...codeRows(ENTITY_NATURES, lang), unknown] },
    { name: 'ipType', fields: 'byIpType', rows: [...codeRows(IP_TYPES, lang), unknown] },
    { name: 'priorityArea', fields: 'byPriorityArea', rows: [...codeRows(PRIORITY_AREAS, lang), { code: 'none', label: t('openData.noneCode') }] },
    { name: 'planSource', fields: 'byPlanSource', rows: [...codeRows(PLAN_SOURCES, lang), unknown] },
  ];
}

const STAT_TITLES: Record<string, string> = {
  summary: 'stats.total', type: 'stats.byType', field: 'stats.byField', nature: 'stats.byNature', ipType: 'stats.byIpType',
  priorityArea: 'stats.byPriorityArea', planSource: 'stats.byPlanSource', month: 'stats.byMonth',
};


/** The pages: after sessions (their header shows who is signed in), like /register. */
export function openDataPages(deps: AppDeps): Router {
  const router = Router();
  const tallies = publishedTallies(deps);
  const recentYears = (year: number) => {
    const thisYear = cstYear(new Date());
    return Array.from({ length: 6 }, (_, i) => thisYear - i).concat(year < thisYear - 5 || year > thisYear ? [year] : []);
  };

  /** GET /open-data?year=: the files and APIs, the data dictionary and the licence. */
  router.get('/open-data', openToAnyone('the open data page'), (req, res) => {
    const t = res.locals.t as TFunction;
    const lang = res.locals.lang as string;
    const year = yearOf(req);
    res.set('Cache-Control', 'no-cache');
    res.render('public/open-data', {
      year,
      years: recentYears(year),
      registerFields: REGISTER_FIELDS,
      ledgerFields: LEDGER_FIELDS,
      codeLists: codeLists(t, lang),
      licence: linkified(lang === 'en' ? deps.config.openDataLicence.en : deps.config.openDataLicence.zh),
    });
  });

  /** GET /statistics?year=: the public statistics (the bureau's /stats stays for staff). */
  router.get('/statistics', openToAnyone('the public statistics page'), async (req, res) => {
    const t = res.locals.t as TFunction;
    const lang = res.locals.lang as string;
    const year = yearOf(req);
    const [now, prev, market] = await Promise.all([tallies.of(year), tallies.of(year - 1), marketStats(year)]);
    const tables = buildTables(now.tally, prev.tally, lang, tableLabels(t, lang));
    const { totals, buyerSide, large } = now.tally;
    const byName = (name: string) => tables.find((x) => x.name === name);
    res.set('Cache-Control', 'no-cache');
    res.render('public/statistics', {
      year,
      years: recentYears(year),
      tables: tables.map((tbl) => ({
        ...tbl,
        title: t(STAT_TITLES[tbl.name]),
        // The public page leaves out codes with nothing this year or last (the code lists are long).
        rows: tbl.rows.filter((r) => tbl.name === 'summary' || tbl.name === 'month' || r.contracts !== 0 || r.contractFen !== 0 || r.lastYearFen !== 0).map((r) => ({ ...r, contractText: formatYuanGrouped(r.contractFen), technicalText: formatYuanGrouped(r.technicalFen), lastYearText: formatYuanGrouped(r.lastYearFen) })),
      })),
      glance: {
        contracts: totals.count,
        contract: headlineFigure(t, lang, totals.contractFen),
        technical: headlineFigure(t, lang, totals.technicalFen),
        buyerSide: { contracts: buyerSide.count, ...headlineFigure(t, lang, buyerSide.contractFen) },
        large: { contracts: large.count, ...headlineFigure(t, lang, large.contractFen) },
        change: changePct(totals.contractFen, prev.tally.totals.contractFen),
      },
      updatedAt: now.updatedAt ? cstDateTime(new Date(now.updatedAt)) : null,
      market: { contracts: market.contracts, ...headlineFigure(t, lang, market.contractAmountFen) },
      charts: { month: chartSeries(byName('month')), type: chartSeries(byName('type')), field: chartSeries(byName('field')) },
    });
  });

  return router;
}
