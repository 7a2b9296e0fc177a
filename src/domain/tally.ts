/**
 * Turnover tallies: what one registration adds to its CST registration year, and the sum of
 * many. Pure; the ledger and the stored tallies live in modules/turnover.
 */
import { withinAgencyArea } from './checks';
import { LARGE_CONTRACT_FEN } from './checks';

export interface Amounts {
  count: number;
  contractFen: number;
  technicalFen: number;
}

export const DIMENSIONS = ['month', 'type', 'field', 'nature', 'ipType', 'priorityArea', 'planSource'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export interface YearTally {
  year: number;
  totals: Amounts;
  by: Record<Dimension, Record<string, Amounts>>;
  /** Contracts of 10 million yuan or more. */
  large: Amounts;
  /** 吸纳: contracts with a buyer in the agency's area. (输出, the seller side, is `totals`.) */
  buyerSide: Amounts;
}

/** What one registered contract contributes; the ledger stores it so a revocation takes back exactly that. */
export interface TallyFact {
  year: number;
  month: string;
  contractFen: number;
  technicalFen: number;
  keys: Record<Exclude<Dimension, 'month'>, string>;
  large: boolean;
  buyerInArea: boolean;
  /**
   * Counts in the city's output (输出: the totals and their breakdowns). False for a technology
   * import (技术引进: the seller is abroad), which counts on the buyer side (吸纳) only.
   */
  output: boolean;
}

export const zero = (): Amounts => ({ count: 0, contractFen: 0, technicalFen: 0 });

export function emptyTally(year: number): YearTally {
  return {
    year,
    totals: zero(),
    by: { month: {}, type: {}, field: {}, nature: {}, ipType: {}, priorityArea: {}, planSource: {} },
    large: zero(),
    buyerSide: zero(),
  };
}

export interface FactSource {
  registeredAt: Date;
  contractAmountFen?: number | null;
  technicalAmountFen?: number | null;
  type?: string | null;
  technicalField?: string | null;
  ipType?: string | null;
  priorityArea?: string | null;
  planSource?: string | null;
  seller?: { nature?: string | null } | null;
  buyers?: { regionCode?: string | null }[] | null;
  direction?: string | null;
}

const CST_OFFSET_MS = 8 * 3600_000;

export function factOf(c: FactSource, agencyCode: string): TallyFact {
  const cst = new Date(c.registeredAt.getTime() + CST_OFFSET_MS);
  const contractFen = c.contractAmountFen ?? 0;
  return {
    year: cst.getUTCFullYear(),
    month: String(cst.getUTCMonth() + 1).padStart(2, '0'),
    contractFen,
    technicalFen: c.technicalAmountFen ?? 0,
    keys: {
      type: c.type || 'unknown',
      field: c.technicalField || 'unknown',
      nature: c.seller?.nature || 'unknown',
      ipType: c.ipType || 'unknown',
      priorityArea: c.priorityArea || 'none',
      planSource: c.planSource || 'unknown',
    },
    large: contractFen >= LARGE_CONTRACT_FEN,
    buyerInArea: (c.buyers ?? []).some((b) => withinAgencyArea(b.regionCode ?? undefined, agencyCode)),
    output: c.direction !== 'import',
  };
}

/** The same fact counted at another moment (a change or cancellation counts in the year and month it is registered). */
export function redate(f: TallyFact, at: Date): TallyFact {
  const cst = new Date(at.getTime() + CST_OFFSET_MS);
  return { ...f, year: cst.getUTCFullYear(), month: String(cst.getUTCMonth() + 1).padStart(2, '0') };
}

function add(a: Amounts, f: TallyFact, sign: 1 | -1): Amounts {
  return { count: a.count + sign, contractFen: a.contractFen + sign * f.contractFen, technicalFen: a.technicalFen + sign * f.technicalFen };
}

/** The tally with one fact added (+1) or taken back (-1). Integer fen throughout: exact. */
export function applyFact(t: YearTally, f: TallyFact, sign: 1 | -1): YearTally {
  const buyerSide = f.buyerInArea ? add(t.buyerSide, f, sign) : t.buyerSide;
  if (!f.output) return { ...t, buyerSide };
  const by = { ...t.by };
  const keys: Record<Dimension, string> = { month: f.month, ...f.keys };
  for (const d of DIMENSIONS) {
    const k = keys[d];
    const next = add(by[d][k] ?? zero(), f, sign);
    const dim = { ...by[d] };
    if (next.count === 0 && next.contractFen === 0 && next.technicalFen === 0) delete dim[k];
    else dim[k] = next;
    by[d] = dim;
  }
  return {
    year: t.year,
    totals: add(t.totals, f, sign),
    by,
    large: f.large ? add(t.large, f, sign) : t.large,
    buyerSide,
  };
}

/** Whether two tallies are the same, and a list of what differs (for the reconciliation report). */
export function diffTallies(stored: YearTally, expected: YearTally): string[] {
  const out: string[] = [];
  const cmp = (path: string, a: Amounts | undefined, b: Amounts | undefined) => {
    const x = a ?? zero();
    const y = b ?? zero();
    for (const k of ['count', 'contractFen', 'technicalFen'] as const) {
      if (x[k] !== y[k]) out.push(`${path}.${k}: stored ${x[k]}, expected ${y[k]}`);
    }
  };
  cmp('totals', stored.totals, expected.totals);
  cmp('large', stored.large, expected.large);
  cmp('buyerSide', stored.buyerSide, expected.buyerSide);
  for (const d of DIMENSIONS) {
    const keys = new Set([...Object.keys(stored.by?.[d] ?? {}), ...Object.keys(expected.by[d])]);
    for (const k of keys) cmp(`by.${d}.${k}`, stored.by?.[d]?.[k], expected.by[d][k]);
  }
  return out;
}

/** The same as applyFact, changing `t` in place (for summing many facts quickly). */
export function addInPlace(t: YearTally, f: TallyFact, sign: 1 | -1): void {
  const bump = (a: Amounts) => {
    a.count += sign;
    a.contractFen += sign * f.contractFen;
    a.technicalFen += sign * f.technicalFen;
  };
  if (f.buyerInArea) bump(t.buyerSide);
  if (!f.output) return;
  bump(t.totals);
  const keys: Record<Dimension, string> = { month: f.month, ...f.keys };
  for (const d of DIMENSIONS) {
    const k = keys[d];
    const a = (t.by[d][k] ??= zero());
    bump(a);
    if (a.count === 0 && a.contractFen === 0 && a.technicalFen === 0) delete t.by[d][k];
  }
  if (f.large) bump(t.large);
}

/**
 * A fact as one short string ("2026|03|123456|100000|transfer|…|1|0"): ledger entries are
 * read by the hundred thousand when reconciling, and FerretDB reads a flat document about
 * four times faster than a nested one.
 */
export function encodeFact(f: TallyFact): string {
  const k = f.keys;
  const fields = [f.year, f.month, f.contractFen, f.technicalFen, k.type, k.field, k.nature, k.ipType, k.priorityArea, k.planSource, f.large ? 1 : 0, f.buyerInArea ? 1 : 0];
  // Output is the usual case: only an import adds a 13th field, so older entries read the same.
  return (f.output ? fields : [...fields, 0]).join('|');
}

export function decodeFact(s: string): TallyFact {
  const p = s.split('|');
  if (p.length !== 12 && p.length !== 13) throw new Error(`not a tally fact: ${s}`);
  return {
    year: Number(p[0]),
    month: p[1],
    contractFen: Number(p[2]),
    technicalFen: Number(p[3]),
    keys: { type: p[4], field: p[5], nature: p[6], ipType: p[7], priorityArea: p[8], planSource: p[9] },
    large: p[10] === '1',
    buyerInArea: p[11] === '1',
    output: p[12] !== '0',
  };
}
