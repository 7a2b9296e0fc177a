/** Statistics tables for the bureau, built from the exact tallies (no scan of the contracts). */
import {
  CONTRACT_TYPES,
  ENTITY_NATURES,
  IP_TYPES,
  PLAN_SOURCES,
  PRIORITY_AREAS,
  TECHNICAL_FIELDS,
  type CodeLabel,
} from '../../domain/codes';
import { csvRowsOf, type SheetSpec } from '../../lib/http/xlsx';
import type { Amounts, Dimension, YearTally } from '../../domain/tally';
import { getTally } from '../turnover/turnover.service';

export const TABLES = ['summary', 'type', 'field', 'nature', 'ipType', 'priorityArea', 'planSource', 'month'] as const;
export type TableName = (typeof TABLES)[number];

const LISTS: Record<Exclude<Dimension, 'month'>, Record<string, CodeLabel>> = {
  type: CONTRACT_TYPES,
  field: TECHNICAL_FIELDS,
  nature: ENTITY_NATURES,
  ipType: IP_TYPES,
  priorityArea: PRIORITY_AREAS,
  planSource: PLAN_SOURCES,
};

export interface StatRow {
  key: string;
  label: string;
  contracts: number;
  contractFen: number;
  technicalFen: number;
  lastYearFen: number;
  /** Change in turnover against the year before, in per cent (null when there was none). */
  changePct: number | null;
}

export interface StatTable {
  name: TableName;
  rows: StatRow[];
}

/** Year-on-year change in per cent, to one decimal (null when there was nothing the year before). */
export const changePct = (fen: number, lastYearFen: number): number | null =>
  lastYearFen > 0 ? Math.round(((fen - lastYearFen) / lastYearFen) * 1000) / 10 : null;

const row = (key: string, label: string, a: Amounts | undefined, prev: Amounts | undefined): StatRow => {
  const contractFen = a?.contractFen ?? 0;
  const lastYearFen = prev?.contractFen ?? 0;
  return {
    key,
    label,
    contracts: a?.count ?? 0,
    contractFen,
    technicalFen: a?.technicalFen ?? 0,
    lastYearFen,
    changePct: changePct(contractFen, lastYearFen),
  };
};

export interface TableLabels {
  total: string;
  sellerSide: string;
  buyerSide: string;
  large: string;
  none: string;
  unknown: string;
  month: (m: string) => string;
}

export function buildTables(t: YearTally, prev: YearTally, lang: string, labels: TableLabels): StatTable[] {
  const pick = (l: CodeLabel) => (lang === 'en' ? l.en : l.zh);
  const summary: StatTable = {
    name: 'summary',
    rows: [
      row('sellerSide', labels.sellerSide, t.totals, prev.totals),
      row('buyerSide', labels.buyerSide, t.buyerSide, prev.buyerSide),
      row('large', labels.large, t.large, prev.large),
    ],
  };
  const dims = (Object.keys(LISTS) as (keyof typeof LISTS)[]).map((d): StatTable => {
    const list = LISTS[d];
    const keys = [...new Set([...Object.keys(list), ...Object.keys(t.by[d] ?? {}), ...Object.keys(prev.by[d] ?? {})])];
    return {
      name: d,
      rows: keys
        .map((k) => row(k, list[k] ? pick(list[k]) : k === 'none' ? labels.none : labels.unknown, t.by[d]?.[k], prev.by[d]?.[k]))
        // Codes nobody used this year or last are left out; the code lists themselves are long.
        .filter((r) => r.contracts !== 0 || r.lastYearFen !== 0 || list[r.key]),
    };
  });
  const month: StatTable = {
    name: 'month',
    rows: Array.from({ length: 12 }, (_, i) => {
      const m = String(i + 1).padStart(2, '0');
      return row(m, labels.month(m), t.by.month?.[m], prev.by.month?.[m]);
    }),
  };
  return [summary, ...dims, month];
}

export async function statsForYear(year: number) {
  const [{ tally, updatedAt }, { tally: prev }] = await Promise.all([getTally(year), getTally(year - 1)]);
  return { tally, prev, updatedAt };
}

/**
 * A table as a sheet, with Chinese headers: money in integer fen. The breakdowns get a totals
 * row (each contract is in exactly one row of them); the summary's rows overlap, so it gets none.
 */
export function tableSheet(table: StatTable, title = ''): SheetSpec {
  return {
    name: table.name,
    title,
    columns: [
      { header: '类别' },
      { header: '合同数', kind: 'count' },
      { header: '成交额（元）', kind: 'money' },
      { header: '技术交易额（元）', kind: 'money' },
      { header: '上年成交额（元）', kind: 'money' },
      { header: '同比（%）', kind: 'percent' },
    ],
    rows: table.rows.map((r) => [r.label, r.contracts, r.contractFen, r.technicalFen, r.lastYearFen, r.changePct]),
    totals: table.name === 'summary' ? undefined : { label: () => '合计', derive: (sums) => ({ 5: changePct(sums[2], sums[4]) }) },
  };
}

/** Rows of a table as cells for CSV, with Chinese headers (amounts as plain yuan decimals). */
export function tableCells(table: StatTable): (string | number)[][] {
  return csvRowsOf(tableSheet(table));
}
