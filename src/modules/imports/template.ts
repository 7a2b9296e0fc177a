/**
 * The import template: a first sheet with a Chinese header for every import column and one
 * example row (recognised by its title and ignored on import), drop-down lists on the coded
 * columns, and a second sheet with the code lists as people know them (name and code).
 */
import type ExcelJS from 'exceljs';
import { excel } from '../../lib/http/xlsx';
import { CONTRACT_SUBTYPES, CONTRACT_TYPES, type CodeLabel } from '../../domain/codes';
import { cstYear } from '../../domain/time';
import zh from '../../i18n/zh-CN';
import { CODE_COLUMNS, columnLabel, DATE_COLUMNS, IMPORT_COLUMNS, REQUIRED_COLUMNS, type ImportColumn } from './columns';
import { displayWidth } from '../../lib/http/xlsx';

/** Rows the drop-down lists cover (validation is the server's in any case). */
export const TEMPLATE_VALIDATED_ROWS = 10_000;
const TEXT_COLUMNS: ImportColumn[] = ['registrationNumber', 'contractNumber', 'sellerUscc', 'sellerRegionCode', 'buyerUscc', 'buyerRegionCode'];

interface CodeBlock {
  title: string;
  rows: [string, string, string?][];
  /** The sheet's column of the names (1-based), for the drop-downs. */
  column?: number;
}

function codeBlocks(): Record<string, CodeBlock> {
  const list = (codes: Record<string, CodeLabel>): [string, string][] => Object.entries(codes).map(([k, l]) => [l.zh, k]);
  const m = zh.imports;
  const blocks: Record<string, CodeBlock> = {
    type: { title: m.lists.type, rows: list(CONTRACT_TYPES) },
    subtype: {
      title: m.lists.subtype,
      rows: Object.entries(CONTRACT_SUBTYPES).flatMap(([type, subs]) => Object.entries(subs).map(([k, l]) => [l.zh, k, CONTRACT_TYPES[type as keyof typeof CONTRACT_TYPES].zh] as [string, string, string])),
    },
  };
  for (const spec of Object.values(CODE_COLUMNS)) if (!blocks[spec!.list]) blocks[spec!.list] = { title: m.lists[spec!.list], rows: list(spec!.codes) };
  blocks.relatedParty = { title: m.lists.relatedParty, rows: [[m.yes, 'true'], [m.no, 'false']] };
  return blocks;
}

export async function templateWorkbook(agencyCode: string, now = new Date()): Promise<ExcelJS.Workbook> {
  const m = zh.imports;
  const wb = new (excel().Workbook)();
  wb.creator = 'Technology contract registry';
  wb.created = now;
  const data = wb.addWorksheet(m.sheetData, { views: [{ state: 'frozen', ySplit: 1, topLeftCell: 'A2', activeCell: 'A2' }] });
  const codes = wb.addWorksheet(m.sheetCodes);

  // The code lists, side by side: name, code (and the type a sub-type belongs to), a gap.
  const blocks = codeBlocks();
  let col = 1;
  for (const b of Object.values(blocks)) {
    const width = b.rows[0]?.[2] !== undefined ? 3 : 2;
    codes.getCell(1, col).value = b.title;
    codes.getCell(1, col).font = { bold: true };
    const heads = [m.codeLabel, m.codeKey, ...(width === 3 ? [m.lists.type] : [])];
    heads.forEach((h, i) => {
      const cell = codes.getCell(2, col + i);
      cell.value = h;
      cell.font = { bold: true };
      cell.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFF0F3F7' } };
    });
    b.rows.forEach((r, i) => r.forEach((v, j) => (codes.getCell(3 + i, col + j).value = v ?? null)));
    for (let j = 0; j < width; j++) codes.getColumn(col + j).width = Math.max(8, ...[b.title, heads[j], ...b.rows.map((r) => r[j] ?? '')].map((s) => displayWidth(String(s)) + 2));
    b.column = col;
    col += width + 1;
  }

  // The data sheet: the headers (required ones marked in a note), the example, formats, drop-downs.
  const header = data.addRow(IMPORT_COLUMNS.map((k) => columnLabel(k, 'zh-CN')));
  header.font = { bold: true };
  header.eachCell((cell, i) => {
    cell.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: REQUIRED_COLUMNS.includes(IMPORT_COLUMNS[i - 1]) ? 'FFFDE2E0' : 'FFF0F3F7' } };
    if (REQUIRED_COLUMNS.includes(IMPORT_COLUMNS[i - 1])) cell.note = m.requiredNote;
  });
  const year = cstYear(now);
  const day = (y: number, mo: number, d: number) => new Date(Date.UTC(y, mo - 1, d));
  const example: Record<ImportColumn, string | number | Date> = {
    registrationNumber: `${year}${agencyCode}000001`,
    registeredAt: day(year, 1, 15),
    title: m.exampleTitle,
    contractNumber: `QH-${year}-001`,
    type: CONTRACT_TYPES.transfer.zh,
    subtype: CONTRACT_SUBTYPES.transfer.patent.zh,
    signedOn: day(year, 1, 5),
    validFrom: day(year, 1, 5),
    validTo: day(year + 1, 1, 4),
    contractAmount: 1250000,
    technicalAmount: 1100000,
    sellerName: '青海盐湖新材料研究院',
    sellerUscc: '91350100M000100Y43',
    sellerNature: '科研机构',
    sellerRegionCode: '630102',
    buyerName: '青海锂业新材料有限公司',
    buyerUscc: '',
    buyerNature: '有限责任公司',
    buyerRegionCode: '630100',
    buyerCountry: '',
    technicalField: '新材料及其应用',
    ipType: '发明专利',
    socioEconomicObjective: '工业生产与技术',
    priorityArea: '锂电产业',
    paymentMethod: '分期支付',
    planSource: '计划外',
    relatedParty: m.no,
  };
  const row = data.addRow(IMPORT_COLUMNS.map((k) => example[k]));
  row.font = { italic: true, color: { argb: 'FF566173' } };

  const last = 1 + TEMPLATE_VALIDATED_ROWS;
  // A range of cells per validation (exceljs has it; its type declarations do not).
  const validations = (data as unknown as { dataValidations: { add(range: string, v: ExcelJS.DataValidation): void } }).dataValidations;
  IMPORT_COLUMNS.forEach((key, i) => {
    const column = data.getColumn(i + 1);
    column.width = Math.min(40, Math.max(12, displayWidth(columnLabel(key, 'zh-CN')) + 4, key === 'title' ? 40 : 0));
    if (TEXT_COLUMNS.includes(key)) column.numFmt = '@';
    if (DATE_COLUMNS.includes(key)) column.numFmt = 'yyyy-mm-dd';
    if (key === 'contractAmount' || key === 'technicalAmount') column.numFmt = '#,##0.00';
    const list = key === 'type' || key === 'subtype' || key === 'relatedParty' ? blocks[key] : CODE_COLUMNS[key] ? blocks[CODE_COLUMNS[key]!.list] : null;
    if (list?.column) {
      const letter = data.getColumn(i + 1).letter;
      const codeLetter = codes.getColumn(list.column).letter;
      validations.add(`${letter}2:${letter}${last}`, {
        type: 'list',
        allowBlank: true,
        formulae: [`'${m.sheetCodes}'!$${codeLetter}$3:$${codeLetter}$${2 + list.rows.length}`],
        // A warning, not a refusal: the codes themselves (transfer, 150) are accepted too.
        showErrorMessage: true,
        errorStyle: 'warning',
        errorTitle: m.codeList,
        error: m.listError.replace('{{list}}', list.title).replace('{{sheet}}', m.sheetCodes),
      });
    }
  });
  return wb;
}
