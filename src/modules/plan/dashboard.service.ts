/**
 * The plan dashboard of a year, in plain values (no language yet): each indicator's target,
 * value, source, as-of date, whether it is met, and its trend over the years; and the
 * turnover of the ten priority areas. The turnover comes from the registry's year tallies
 * (the same figures the homepage and the statistics publish): nothing is recounted here.
 */
import { PRIORITY_AREAS } from '../../domain/codes';
import { hundredthsOf, INDICATOR_KEYS, INDICATORS, isMet, type Comparison, type IndicatorKey, type IndicatorUnit } from '../../domain/indicators';
import { cstDate } from '../../domain/time';
import { getTally } from '../turnover/turnover.service';
import { figuresBetween, type StoredFigure } from './indicators.service';
import { firstTargetYear, targetBook, targetsIn, type YearTargets } from './targets.service';

/** A trend covers at most this many years, ending with the year shown. */
export const TREND_YEARS = 10;

export interface TrendPoint {
  year: number;
  /** Hundredths (fen for the turnover); null where nothing was entered. */
  value: number | null;
  target: number | null;
  comparison: Comparison | null;
}

export interface IndicatorState {
  key: IndicatorKey;
  unit: IndicatorUnit;
  live: boolean;
  comparison: Comparison | null;
  /** As stored (a decimal string), and in hundredths. */
  target: string | null;
  targetHundredths: number | null;
  value: number | null;
  /** The value as entered (a decimal string), for the entered indicators. */
  valueText: string | null;
  source: string | null;
  asOf: string | null;
  updatedAt: Date | null;
  met: boolean | null;
  /** The latest value of an earlier year, when this year has none yet. */
  latest: { year: number; value: number; valueText: string; source: string; asOf: string } | null;
  trend: TrendPoint[];
}

export interface AreaRow {
  /** A priority area's code, or `none` for contracts in none of them. */
  code: string;
  contracts: number;
  contractFen: number;
  /** Shares of the year's turnover and contracts, in per cent to one decimal (null when the year has none). */
  share: number | null;
  contractsShare: number | null;
}

export interface Dashboard {
  year: number;
  targets: YearTargets;
  indicators: IndicatorState[];
  areas: { rows: AreaRow[]; contracts: number; contractFen: number };
  /** When the year's tally last moved. */
  tallyUpdatedAt: Date | null;
}

const pct = (part: number, whole: number): number | null => (whole > 0 ? Math.round((part / whole) * 1000) / 10 : null);

/** The priority areas of a year's tally, in the code list's order, and what is in none of them. */
export function areaRows(by: Record<string, { count: number; contractFen: number }> | undefined, total: { count: number; contractFen: number }): AreaRow[] {
  const rows = Object.keys(PRIORITY_AREAS).map((code) => ({ code, contracts: by?.[code]?.count ?? 0, contractFen: by?.[code]?.contractFen ?? 0 }));
  // Everything else (no area, or a code no longer listed) is one row, so the rows add up to the total.
  const rest = Object.entries(by ?? {}).filter(([code]) => !(code in PRIORITY_AREAS));
  rows.push({ code: 'none', contracts: rest.reduce((s, [, a]) => s + a.count, 0), contractFen: rest.reduce((s, [, a]) => s + a.contractFen, 0) });
  return rows.map((r) => ({ ...r, share: pct(r.contractFen, total.contractFen), contractsShare: pct(r.contracts, total.count) }));
}

export async function planDashboard(year: number): Promise<Dashboard> {
  const first = await firstTargetYear();
  const start = Math.max(year - TREND_YEARS + 1, Math.min(first ?? year, year));
  const years = Array.from({ length: year - start + 1 }, (_, i) => start + i);
  const [book, figures, tallies] = await Promise.all([targetBook(year), figuresBetween(start, year), Promise.all(years.map((y) => getTally(y)))]);
  const targets = targetsIn(book, year);
  const byYear = new Map(years.map((y) => [y, targetsIn(book, y)]));
  const figureOf = new Map<string, StoredFigure>(figures.map((f) => [`${f.year}:${f.key}`, f]));
  const tallyOf = new Map(years.map((y, i) => [y, tallies[i]]));
  const current = tallyOf.get(year)!;

  const indicators = INDICATOR_KEYS.map((key): IndicatorState => {
    const def = INDICATORS[key];
    const live = def.origin === 'tally';
    const valueIn = (y: number): number | null => {
      if (live) return tallyOf.get(y)!.tally.totals.contractFen;
      const f = figureOf.get(`${y}:${key}`);
      return f ? hundredthsOf(f.value) : null;
    };
    const trend = years.map((y) => {
      const t = byYear.get(y)!.rows.get(key);
      return { year: y, value: valueIn(y), target: t?.hundredths ?? null, comparison: t?.comparison ?? null };
    });
    const target = targets.rows.get(key) ?? null;
    const value = valueIn(year);
    const entered = live ? null : (figureOf.get(`${year}:${key}`) ?? null);
    const earlier = live || entered ? null : [...years].reverse().map((y) => figureOf.get(`${y}:${key}`)).find((f) => f && f.year < year) ?? null;
    return {
      key,
      unit: target?.unit ?? def.unit,
      live,
      comparison: target?.comparison ?? null,
      target: target?.target ?? null,
      targetHundredths: target?.hundredths ?? null,
      value,
      valueText: entered?.value ?? null,
      // The turnover's source is the registry itself; it stands at the tally's last movement.
      source: live ? null : (entered?.source ?? null),
      asOf: live ? (current.updatedAt ? cstDate(new Date(current.updatedAt)) : null) : (entered?.asOf ?? null),
      updatedAt: live ? current.updatedAt : (entered?.updatedAt ?? null),
      met: target ? isMet(value, target.hundredths, target.comparison) : null,
      latest: earlier ? { year: earlier.year, value: hundredthsOf(earlier.value), valueText: earlier.value, source: earlier.source, asOf: earlier.asOf } : null,
      trend,
    };
  });

  const totals = current.tally.totals;
  return {
    year,
    targets,
    indicators,
    areas: { rows: areaRows(current.tally.by?.priorityArea, totals), contracts: totals.count, contractFen: totals.contractFen },
    tallyUpdatedAt: current.updatedAt,
  };
}
