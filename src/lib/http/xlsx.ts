/**
 * Excel downloads that read like the page: a title row (what, which year, exported when),
 * the header frozen under it, amounts as numbers in yuan with a ¥ format, a totals row,
 * and every column as wide as its content. CSV downloads of the same sheet (csv.ts) carry
 * the header and the rows only, amounts as plain decimals, for other programs.
 */
import type ExcelJS from 'exceljs';
import { lazy } from '../lazy';
import type { Response } from 'express';
import type { TFunction } from 'i18next';
import { cstDateTime } from '../../domain/time';
import { formatYuan, formatYuanGrouped } from '../../domain/money';
import { sendCsv } from './csv';

/** `money` cells hold integer fen; `count` whole numbers; `percent` a number of per cent (12.5 is 12.5%). */
export type ColumnKind = 'text' | 'money' | 'count' | 'percent';
export type SheetCell = string | number | null | undefined;

export interface SheetColumn {
  header: string;
  kind?: ColumnKind;
}

export interface SheetTotals {
  /** The totals row's first cell, given how many rows it counts. */
  label: (rows: number) => string;
  /** The rows the totals count (all by default), e.g. not the revoked registrations. */
  counts?: (row: SheetCell[]) => boolean;
  /** Cells for columns that are not summed, from the sums (integer fen for money columns). */
  derive?: (sums: number[]) => Record<number, SheetCell>;
}

export interface SheetSpec {
  /** The worksheet's name (at most 31 characters in Excel). */
  name: string;
  /** The title row: the list, its year and the export time. */
  title: string;
  columns: SheetColumn[];
  rows: SheetCell[][];
  /** Money and count columns are summed: money in integer fen, written as yuan. */
  totals?: SheetTotals;
}

/** exceljs, loaded at the first export. */
export const excel = lazy(() => require('exceljs') as typeof ExcelJS);

/** The most rows one list export carries; a longer list says so in its title row. */
export const EXPORT_MAX_ROWS = 50_000;

/** The title row of an export: what, which year, and when it was exported (CST); and whether rows were left out. */
export function sheetTitle(t: TFunction, title: string, year: number, total: number, shown: number, now = new Date()): string {
  const base = t('lists.sheetTitle', { title, year, time: cstDateTime(now) });
  return total > shown ? base + t('lists.sheetCut', { limit: shown, total }) : base;
}

/** Yuan with thousands separators and two decimals; negative amounts in red. */
export const YUAN_FORMAT = '"¥"#,##0.00;[Red]-"¥"#,##0.00';
const PERCENT_FORMAT = '+0.0"%";-0.0"%";0.0"%"';
const COUNT_FORMAT = '#,##0';

/** Characters as wide as two Latin ones in a spreadsheet: CJK, fullwidth forms and the like. */
const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u;
export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += WIDE.test(ch) ? 2 : 1;
  return w;
}

/** Integer fen to the yuan an Excel cell stores (a double): the one exact division, at the cell. */
const yuanCell = (fen: number) => fen / 100;

function shown(kind: ColumnKind, v: SheetCell): string {
  if (v === null || v === undefined || v === '') return '';
  if (kind === 'money' && typeof v === 'number') return `¥${formatYuanGrouped(v)}`;
  if (kind === 'percent' && typeof v === 'number') return `${v > 0 ? '+' : ''}${v.toFixed(1)}%`;
  if (kind === 'count' && typeof v === 'number') return v.toLocaleString('en-US');
  return String(v);
}

/** Sums of the money and count columns over the counted rows, in integer fen and units. */
export function sheetSums(spec: SheetSpec): { sums: number[]; rows: number } {
  const sums = spec.columns.map(() => 0);
  let rows = 0;
  for (const row of spec.rows) {
    if (spec.totals?.counts && !spec.totals.counts(row)) continue;
    rows += 1;
    spec.columns.forEach((c, i) => {
      const v = row[i];
      if ((c.kind === 'money' || c.kind === 'count') && typeof v === 'number') sums[i] += v;
    });
  }
  for (const s of sums) if (!Number.isSafeInteger(s)) throw new RangeError('a total is beyond a safe integer');
  return { sums, rows };
}

export function addSheet(wb: ExcelJS.Workbook, spec: SheetSpec): ExcelJS.Worksheet {
  const n = spec.columns.length;
  const ws = wb.addWorksheet(spec.name.replace(/[\\/?*[\]:]/g, ' ').slice(0, 31), { views: [{ state: 'frozen', xSplit: 0, ySplit: 2, topLeftCell: 'A3', activeCell: 'A3' }] });
  const widths = spec.columns.map((c) => displayWidth(c.header));

  const title = ws.addRow([spec.title]);
  title.font = { bold: true, size: 13 };
  title.height = 22;
  if (n > 1) ws.mergeCells(1, 1, 1, n);

  const header = ws.addRow(spec.columns.map((c) => c.header));
  header.font = { bold: true };
  header.alignment = { vertical: 'middle', wrapText: false };
  header.eachCell((cell, i) => {
    cell.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFF0F3F7' } };
    cell.border = { bottom: { style: 'thin', color: { argb: 'FF8A94A3' } } };
    const kind = spec.columns[i - 1]?.kind ?? 'text';
    if (kind !== 'text') cell.alignment = { horizontal: 'right' };
  });

  const writeRow = (cells: SheetCell[]) => {
    const row = ws.addRow(cells.map((v, i) => {
      const kind = spec.columns[i]?.kind ?? 'text';
      if (v === null || v === undefined) return null;
      return kind === 'money' && typeof v === 'number' ? yuanCell(v) : v;
    }));
    cells.forEach((v, i) => {
      const w = displayWidth(shown(spec.columns[i]?.kind ?? 'text', v));
      if (w > widths[i]) widths[i] = w;
    });
    return row;
  };
  for (const r of spec.rows) writeRow(r);

  if (spec.totals) {
    const { sums, rows } = sheetSums(spec);
    const derived = spec.totals.derive?.(sums) ?? {};
    const cells: SheetCell[] = spec.columns.map((c, i) => (i in derived ? derived[i] : c.kind === 'money' || c.kind === 'count' ? sums[i] : null));
    cells[0] = spec.totals.label(rows);
    const row = writeRow(cells);
    row.font = { bold: true };
    row.eachCell({ includeEmpty: true }, (cell) => (cell.border = { top: { style: 'thin' }, bottom: { style: 'double' } }));
  }

  spec.columns.forEach((c, i) => {
    const col = ws.getColumn(i + 1);
    col.width = Math.min(60, Math.max(6, widths[i] + 2));
    if (c.kind === 'money') col.numFmt = YUAN_FORMAT;
    if (c.kind === 'count') col.numFmt = COUNT_FORMAT;
    if (c.kind === 'percent') col.numFmt = PERCENT_FORMAT;
  });
  // The column formats would also reach the title and header: they are text, but keep them plain.
  for (const r of [1, 2]) ws.getRow(r).eachCell((cell) => (cell.numFmt = 'General'));
  ws.autoFilter = { from: { row: 2, column: 1 }, to: { row: 2, column: n } };
  return ws;
}

export function workbookOf(sheets: SheetSpec[]): ExcelJS.Workbook {
  const wb = new (excel().Workbook)();
  wb.creator = 'Technology contract registry';
  wb.created = new Date();
  for (const s of sheets) addSheet(wb, s);
  return wb;
}

export async function sendXlsx(res: Response, filename: string, sheets: SheetSpec[]): Promise<void> {
  const wb = workbookOf(sheets);
  res.set({ 'Content-Type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'Content-Disposition': `attachment; filename="${filename}"`, 'Cache-Control': 'no-store' });
  await wb.xlsx.write(res);
  res.end();
}

/** The sheet as CSV rows: the header, then the rows, money as plain yuan decimals ("1250000.00"). */
export function csvRowsOf(spec: Pick<SheetSpec, 'columns' | 'rows'>): (string | number)[][] {
  return [
    spec.columns.map((c) => c.header),
    ...spec.rows.map((r) => spec.columns.map((c, i) => {
      const v = r[i];
      if (v === null || v === undefined) return '';
      return c.kind === 'money' && typeof v === 'number' ? formatYuan(v) : v;
    })),
  ];
}

/** One sheet as an .xlsx or a .csv download (anything else is not found). */
export async function sendSheet(res: Response, format: string, basename: string, spec: SheetSpec): Promise<boolean> {
  if (format === 'xlsx') {
    await sendXlsx(res, `${basename}.xlsx`, [spec]);
    return true;
  }
  if (format === 'csv') {
    await sendCsv(res, `${basename}.csv`, csvRowsOf(spec));
    return true;
  }
  return false;
}
