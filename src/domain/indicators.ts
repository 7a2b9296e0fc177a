/**
 * The city plan's indicators (DOMAIN.md "The city plan's indicators"): which there are, how a
 * value is read and compared with its target, and the 14th Five-Year Plan's targets that seed
 * the plan-target data. Pure: the stored targets and values live in modules/plan.
 *
 * Every figure is a decimal with at most two places: inside it is an integer number of
 * hundredths (fen, for the turnover in yuan), so a comparison with a target is exact.
 */
import { formatYuan, parseYuan } from './money';

export const INDICATOR_KEYS = [
  'rd_intensity',
  'enterprises_with_rd_share',
  'enterprise_rd_share',
  'invention_patents_per_10k',
  'rd_personnel_per_10k',
  'contract_turnover',
] as const;
export type IndicatorKey = (typeof INDICATOR_KEYS)[number];

export const INDICATOR_UNITS = ['percent', 'per10k_people', 'per10k_employed', 'yuan'] as const;
export type IndicatorUnit = (typeof INDICATOR_UNITS)[number];

/** How a value meets its target: above (>), at least (≥), below (<), at most (≤). */
export const COMPARISONS = ['gt', 'gte', 'lt', 'lte'] as const;
export type Comparison = (typeof COMPARISONS)[number];
export const COMPARISON_SIGNS: Record<Comparison, string> = { gt: '>', gte: '≥', lt: '<', lte: '≤' };

export interface IndicatorDef {
  key: IndicatorKey;
  unit: IndicatorUnit;
  /** `tally`: the registry counts it (the year's contract turnover); `entered`: the bureau enters it. */
  origin: 'tally' | 'entered';
  /** The largest sensible value, in hundredths: 100 % for shares, 10,000 per 10,000. */
  maxHundredths: number;
}

const PERCENT_MAX = 100_00;
const PER_10K_MAX = 10_000_00;

export const INDICATORS: Record<IndicatorKey, IndicatorDef> = {
  rd_intensity: { key: 'rd_intensity', unit: 'percent', origin: 'entered', maxHundredths: PERCENT_MAX },
  enterprises_with_rd_share: { key: 'enterprises_with_rd_share', unit: 'percent', origin: 'entered', maxHundredths: PERCENT_MAX },
  enterprise_rd_share: { key: 'enterprise_rd_share', unit: 'percent', origin: 'entered', maxHundredths: PERCENT_MAX },
  invention_patents_per_10k: { key: 'invention_patents_per_10k', unit: 'per10k_people', origin: 'entered', maxHundredths: PER_10K_MAX },
  rd_personnel_per_10k: { key: 'rd_personnel_per_10k', unit: 'per10k_employed', origin: 'entered', maxHundredths: PER_10K_MAX },
  // Money: integer fen, up to the registry's largest amount.
  contract_turnover: { key: 'contract_turnover', unit: 'yuan', origin: 'tally', maxHundredths: 999_999_999_999_999 },
};

export const isIndicatorKey = (k: unknown): k is IndicatorKey => typeof k === 'string' && (INDICATOR_KEYS as readonly string[]).includes(k);

export type DecimalParse = { ok: true; hundredths: number; text: string } | { ok: false; reason: 'format' | 'negative' | 'precision' | 'too_large' };

/**
 * A figure as typed or sent: a JSON number or a plain decimal string, not negative, at most two
 * decimals (grouped thousands allowed from forms). The same digit-wise reading as money, so no
 * binary fraction decides a comparison. `text` is the figure as given, without grouping.
 */
export function parseFigure(input: unknown, max: number, opts: { grouped?: boolean } = {}): DecimalParse {
  const p = parseYuan(typeof input === 'string' ? input.trim() : input, opts);
  if (!p.ok) return p;
  if (p.fen > max) return { ok: false, reason: 'too_large' };
  const given = typeof input === 'number' ? String(input) : String(input).trim().replace(/^[¥￥]\s*/, '').replace(/[,， ]/g, '');
  return { ok: true, hundredths: p.fen, text: given };
}

/** Hundredths of a figure stored as text (one this module accepted). */
export function hundredthsOf(text: string): number {
  const p = parseYuan(text);
  if (!p.ok) throw new RangeError(`not a figure: ${text}`);
  return p.fen;
}

/** Whether a value meets its target; null when either is missing. */
export function isMet(value: number | null, target: number | null, comparison: Comparison): boolean | null {
  if (value === null || target === null) return null;
  switch (comparison) {
    case 'gt':
      return value > target;
    case 'gte':
      return value >= target;
    case 'lt':
      return value < target;
    case 'lte':
      return value <= target;
  }
}

/** Hundredths as the shortest decimal ("1.5", "20", "0.05"), for figures that are not money. */
export function figureText(hundredths: number): string {
  const s = formatYuan(hundredths);
  return s.replace(/\.?0+$/, '') || '0';
}

/** The figure as the API gives it: money as a yuan string ("1000000000.00"), the others as a JSON number. */
export function figureOut(unit: IndicatorUnit, hundredths: number | null): string | number | null {
  if (hundredths === null) return null;
  return unit === 'yuan' ? formatYuan(hundredths) : Number(figureText(hundredths));
}

export interface PlanTargetSeed {
  plan: string;
  year: number;
  key: IndicatorKey;
  /** The target as a decimal string (yuan for the turnover). */
  target: string;
  comparison: Comparison;
  unit: IndicatorUnit;
}

/** The 14th Five-Year Plan's targets for 2025 (DOMAIN.md), the same for each of its years. */
export const PLAN_14TH_TARGETS: Record<IndicatorKey, { target: string; comparison: Comparison }> = {
  rd_intensity: { target: '1.5', comparison: 'gt' },
  enterprises_with_rd_share: { target: '20', comparison: 'gt' },
  enterprise_rd_share: { target: '75', comparison: 'gt' },
  invention_patents_per_10k: { target: '7', comparison: 'gte' },
  rd_personnel_per_10k: { target: '35', comparison: 'gte' },
  contract_turnover: { target: '1000000000', comparison: 'gt' },
};

/**
 * The rows seeded into the plan-target data: 十四五, 2021–2025. The plan states end-of-plan
 * targets only, so each of its years carries them; the bureau may enter yearly ones instead.
 */
export function plan14thSeed(): PlanTargetSeed[] {
  const rows: PlanTargetSeed[] = [];
  for (let year = 2021; year <= 2025; year++) {
    for (const key of INDICATOR_KEYS) rows.push({ plan: '十四五', year, key, unit: INDICATORS[key].unit, ...PLAN_14TH_TARGETS[key] });
  }
  return rows;
}

/**
 * The year whose targets apply to `year`: that year's own when it has any, else the latest
 * earlier year's (targets carry forward until the bureau enters others), else none.
 */
export function targetYearFor(year: number, yearsWithTargets: Iterable<number>): number | null {
  let best: number | null = null;
  for (const y of yearsWithTargets) if (y <= year && (best === null || y > best)) best = y;
  return best;
}
