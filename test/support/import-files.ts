/** Files for the import tests and the benchmark: workbooks and CSV in the import's columns, and hand-made ZIP archives (for hostile ones). */
import zlib from 'node:zlib';
import ExcelJS from 'exceljs';
import { columnLabel, IMPORT_COLUMNS, type ImportColumn } from '../../src/modules/imports/columns';

export type ImportRow = Partial<Record<ImportColumn, string | number | Date | ExcelJS.CellFormulaValue | null>>;

/** A complete row for registration `serial` of `year` (Chinese names for the codes, as people write them). */
export function importRow(year: number, serial: number, over: ImportRow = {}): ImportRow {
  const amount = 100_000 + serial * 10;
  return {
    registrationNumber: `${year}630100${String(serial).padStart(6, '0')}`,
    registeredAt: `${year}-03-${String(1 + (serial % 28)).padStart(2, '0')}`,
    title: `高原特色生物资源开发第${serial}号技术开发合同`,
    contractNumber: `HIST-${year}-${serial}`,
    type: '技术开发',
    subtype: '委托开发',
    signedOn: `${year}-02-01`,
    validFrom: `${year}-02-01`,
    validTo: `${year + 1}-01-31`,
    contractAmount: `${amount.toLocaleString('en-US')}.00`,
    technicalAmount: String(amount - 1000),
    sellerName: `青海第${serial % 97}研究所`,
    sellerUscc: '',
    sellerNature: '科研机构',
    sellerRegionCode: '630102',
    buyerName: `西宁第${serial}科技有限公司`,
    buyerNature: '150',
    buyerRegionCode: '630100',
    technicalField: 'agriculture',
    ipType: '技术秘密',
    socioEconomicObjective: '农业',
    priorityArea: '现代农业',
    paymentMethod: '一次总付',
    planSource: '计划外',
    relatedParty: '否',
    ...over,
  };
}

/** Headers as the template writes them (Chinese), or as API keys. */
export const headersOf = (style: 'zh' | 'keys' = 'zh', columns: readonly ImportColumn[] = IMPORT_COLUMNS) => columns.map((k) => (style === 'zh' ? columnLabel(k) : k));

const plain = (v: ImportRow[ImportColumn]) => (v === null || v === undefined ? '' : v instanceof Date ? v.toISOString().slice(0, 10) : typeof v === 'object' ? String((v as { result?: unknown }).result ?? '') : String(v));

/** A CSV file (UTF-8 with a BOM unless told otherwise). */
export function csvOf(rows: ImportRow[], opts: { style?: 'zh' | 'keys'; bom?: boolean; columns?: readonly ImportColumn[] } = {}): Buffer {
  const columns = opts.columns ?? IMPORT_COLUMNS;
  const quote = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [headersOf(opts.style, columns).map(quote).join(','), ...rows.map((r) => columns.map((k) => quote(plain(r[k]))).join(','))];
  return Buffer.from(`${opts.bom === false ? '' : '\uFEFF'}${lines.join('\r\n')}\r\n`, 'utf8');
}

/** An .xlsx workbook (exceljs), headers in the first row. */
export async function xlsxOf(rows: ImportRow[], opts: { style?: 'zh' | 'keys'; columns?: readonly ImportColumn[]; sharedStrings?: boolean } = {}): Promise<Buffer> {
  const columns = opts.columns ?? IMPORT_COLUMNS;
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('登记');
  ws.addRow(headersOf(opts.style, columns));
  for (const r of rows) ws.addRow(columns.map((k) => r[k] ?? null));
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** A streamed .xlsx of `n` generated rows written to `file` (shared strings, as Excel writes them). */
export async function writeLargeXlsx(file: string, year: number, n: number, first = 1): Promise<void> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: true });
  const ws = wb.addWorksheet('登记');
  ws.addRow(headersOf('zh')).commit();
  for (let i = 0; i < n; i++) {
    const r = importRow(year, first + i);
    ws.addRow(IMPORT_COLUMNS.map((k) => r[k] ?? null)).commit();
  }
  ws.commit();
  await wb.commit();
}

export interface ZipPart {
  name: string;
  data: Buffer;
  /** The uncompressed size to declare (a liar declares less or more than the data holds). */
  declaredSize?: number;
  store?: boolean;
}

/** A ZIP archive written by hand, declaring whatever it is told to. */
export function zipOf(parts: ZipPart[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const p of parts) {
    const data = p.store ? p.data : zlib.deflateRawSync(p.data, { level: 9 });
    const name = Buffer.from(p.name, 'utf8');
    const size = p.declaredSize ?? p.data.length;
    const crc = zlib.crc32 ? zlib.crc32(p.data) : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(p.store ? 0 : 8, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, data);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(0x800, 8);
    c.writeUInt16LE(p.store ? 0 : 8, 10);
    c.writeUInt32LE(crc >>> 0, 16);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(c, name);
    offset += 30 + name.length + data.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

/** The parts every workbook has, around a given first worksheet (and shared strings, if any). */
export function workbookParts(sheetXml: Buffer | string, opts: { sharedStrings?: string } = {}): ZipPart[] {
  const b = (s: string) => Buffer.from(s, 'utf8');
  return [
    { name: '[Content_Types].xml', data: b('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>') },
    { name: 'xl/workbook.xml', data: b('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>') },
    { name: 'xl/_rels/workbook.xml.rels', data: b('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>') },
    ...(opts.sharedStrings !== undefined ? [{ name: 'xl/sharedStrings.xml', data: b(opts.sharedStrings) }] : []),
    { name: 'xl/worksheets/sheet1.xml', data: typeof sheetXml === 'string' ? b(sheetXml) : sheetXml },
  ];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const letters = (i: number) => (i < 26 ? String.fromCharCode(65 + i) : String.fromCharCode(64 + Math.floor(i / 26)) + String.fromCharCode(65 + (i % 26)));

/** One worksheet row as SpreadsheetML: inline strings, or raw cell XML where given. */
export function sheetRowXml(row: number, cells: (string | { xml: string } | null)[]): string {
  return `<row r="${row}">${cells
    .map((c, i) => (c === null ? '' : typeof c === 'string' ? `<c r="${letters(i)}${row}" t="inlineStr"><is><t>${esc(c)}</t></is></c>` : c.xml.replace('{ref}', `${letters(i)}${row}`)))
    .join('')}</row>`;
}

export const sheetXml = (rows: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows.join('')}</sheetData></worksheet>`;
