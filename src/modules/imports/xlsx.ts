/**
 * The first worksheet of an .xlsx workbook, streamed row by row (sheet-rows.ts) without loading
 * the file: the workbook's small parts are read whole (each capped), the shared strings into a
 * compact table of UTF-8 bytes (a workbook of 100,000 rows has some 400,000 of them: as
 * JavaScript strings they would cost several times more), and the worksheet is inflated and
 * scanned chunk by chunk. Formulas are never evaluated: a cell gives the value the spreadsheet
 * saved with it, or says it has none.
 */
import { openEntry, readDirectory, readEntryText, XLSX_LIMITS, ZipError, type ByteSource, type ZipEntry } from './zip';
import { attr, decodeXml, XmlError, XmlScanner } from './xml';
import { columnIndex, ROW_LIMITS, SheetError, type Cell, type RowLimits, type SheetRow } from './sheet-rows';

const SMALL_PART = 4 * 1024 * 1024;

export interface Workbook {
  /** Dates counted from 1904 (old Mac workbooks) instead of 1900. */
  date1904: boolean;
  /** The first worksheet's rows, from the top; may be called again for another pass. */
  rows(): AsyncGenerator<SheetRow>;
}

/** Whether a ZIP directory is a spreadsheet's: the package's content types and a workbook part. */
export function isWorkbookDirectory(entries: ZipEntry[]): boolean {
  const names = new Set(entries.map((e) => e.name));
  return names.has('[Content_Types].xml') && (names.has('xl/workbook.xml') || [...names].some((n) => /^xl\/workbook\d*\.xml$/.test(n)));
}

/** Resolves a relationship target against the folder of the part that names it. */
function resolvePart(base: string, target: string): string {
  if (target.startsWith('/')) return target.slice(1);
  const parts = base.split('/').slice(0, -1);
  for (const seg of target.split('/')) {
    if (seg === '..') parts.pop();
    else if (seg !== '.' && seg !== '') parts.push(seg);
  }
  return parts.join('/');
}

/** A failure of the archive or its XML as the reason an import fails. */
function sheetError(err: unknown): Error {
  if (err instanceof SheetError) return err;
  if (err instanceof ZipError) return new SheetError(err.reason === 'too_large' || err.reason === 'too_many_entries' ? 'too_complex' : 'unreadable', err.reason);
  if (err instanceof XmlError) return new SheetError('unreadable', err.reason);
  // zlib's errors (bad compressed data) and the like: the file is damaged, not our fault.
  if (err instanceof Error && /zlib|invalid|incorrect|unexpected end/i.test(`${err.message} ${(err as { code?: string }).code ?? ''}`)) return new SheetError('unreadable', err.message);
  return err as Error;
}

export async function openWorkbook(src: ByteSource, limits: RowLimits = ROW_LIMITS): Promise<Workbook> {
  try {
    const entries = await readDirectory(src, XLSX_LIMITS);
    if (!isWorkbookDirectory(entries)) throw new SheetError('no_sheet');
    const byName = new Map(entries.map((e) => [e.name, e]));
    const workbookPath = byName.has('xl/workbook.xml') ? 'xl/workbook.xml' : entries.find((e) => /^xl\/workbook\d*\.xml$/.test(e.name))!.name;
    const relsPath = workbookPath.replace(/([^/]+)$/, '_rels/$1.rels');
    const workbookXml = await readEntryText(src, byName.get(workbookPath)!, SMALL_PART);
    const relsXml = byName.has(relsPath) ? await readEntryText(src, byName.get(relsPath)!, SMALL_PART) : '';

    const rels = new Map<string, { type: string; target: string }>();
    for (const m of relsXml.matchAll(/<(?:\w+:)?Relationship\b([^>]*)>/g)) {
      const id = attr(m[1], 'Id');
      const target = attr(m[1], 'Target');
      if (id && target) rels.set(id, { type: attr(m[1], 'Type') ?? '', target: resolvePart(workbookPath, target) });
    }
    const pr = /<(?:\w+:)?workbookPr\b([^>]*)>/.exec(workbookXml);
    const date1904 = pr ? /^(1|true)$/i.test(attr(pr[1], 'date1904') ?? '') : false;
    // The first sheet that is not hidden, in the workbook's order (the tab a person sees first).
    let sheetPath: string | undefined;
    for (const m of workbookXml.matchAll(/<(?:\w+:)?sheet\b([^>]*)>/g)) {
      if (/hidden/i.test(attr(m[1], 'state') ?? '')) continue;
      const rid = attr(m[1], 'r:id') ?? attr(m[1], 'id');
      sheetPath = rid ? rels.get(rid)?.target : undefined;
      break;
    }
    sheetPath ??= byName.has('xl/worksheets/sheet1.xml') ? 'xl/worksheets/sheet1.xml' : undefined;
    const sheet = sheetPath ? byName.get(sheetPath) : undefined;
    if (!sheet) throw new SheetError('no_sheet');
    const sstPath = [...rels.values()].find((r) => /\/sharedStrings$/.test(r.type))?.target ?? 'xl/sharedStrings.xml';
    const sst = byName.get(sstPath);
    const strings = sst ? await readSharedStrings(src, sst, limits.cellChars) : new StringTable();
    return {
      date1904,
      rows: () => sheetRows(src, sheet, strings, limits),
    };
  } catch (err) {
    throw sheetError(err);
  }
}

/** Strings as UTF-8 in 1 MB blocks with their offsets: about their size in bytes, not several times it. */
export class StringTable {
  private static readonly BLOCK = 1024 * 1024;
  private readonly blocks: Buffer[] = [];
  private used = StringTable.BLOCK;
  private offsets = new Float64Array(1024);
  private lengths = new Uint32Array(1024);
  private long = new Set<number>();
  count = 0;

  add(s: string, tooLong: boolean): void {
    const bytes = Buffer.byteLength(s);
    if (this.used + bytes > StringTable.BLOCK) {
      this.blocks.push(Buffer.allocUnsafe(Math.max(StringTable.BLOCK, bytes)));
      this.used = 0;
    }
    const block = this.blocks.length - 1;
    this.blocks[block].write(s, this.used);
    if (this.count === this.offsets.length) {
      const o = new Float64Array(this.count * 2);
      o.set(this.offsets);
      this.offsets = o;
      const l = new Uint32Array(this.count * 2);
      l.set(this.lengths);
      this.lengths = l;
    }
    this.offsets[this.count] = block * StringTable.BLOCK + this.used;
    this.lengths[this.count] = bytes;
    if (tooLong) this.long.add(this.count);
    this.used += bytes;
    this.count += 1;
  }

  get(i: number): { text: string; tooLong: boolean } | null {
    if (!(i >= 0 && i < this.count)) return null;
    const at = this.offsets[i];
    const block = Math.floor(at / StringTable.BLOCK);
    const start = at - block * StringTable.BLOCK;
    return { text: this.blocks[block].toString('utf8', start, start + this.lengths[i]), tooLong: this.long.has(i) };
  }
}

/**
 * Text gathered up to a limit: a cell's characters beyond it are not kept. References are
 * decoded at the end, so the raw text may run to ten characters per character kept.
 */
class TextBuffer {
  private parts: string[] = [];
  private length = 0;
  overflow = false;
  constructor(private readonly max: number) {}
  add(raw: string): void {
    if (this.overflow) return;
    if (this.length + raw.length > this.max * 10) {
      this.parts.push(raw.slice(0, this.max * 10 - this.length));
      this.overflow = true;
      return;
    }
    this.parts.push(raw);
    this.length += raw.length;
  }
  take(): { text: string; tooLong: boolean } {
    let text = decodeXml(this.parts.length === 1 ? this.parts[0] : this.parts.join(''));
    let tooLong = this.overflow;
    if (text.length > this.max) {
      text = text.slice(0, this.max + 1);
      tooLong = true;
    }
    this.parts = [];
    this.length = 0;
    this.overflow = false;
    return { text, tooLong };
  }
}

async function readSharedStrings(src: ByteSource, entry: ZipEntry, maxChars: number): Promise<StringTable> {
  const table = new StringTable();
  const buf = new TextBuffer(maxChars);
  let inSi = false;
  let inT = false;
  let phonetic = 0; // <rPh>: the reading of East Asian text, not part of it
  const scanner = new XmlScanner({
    open(name, _attrs, selfClosing) {
      if (name === 'si') {
        if (selfClosing) table.add('', false);
        else inSi = true;
      } else if (name === 'rPh' && !selfClosing) phonetic += 1;
      else if (name === 't' && inSi && !phonetic && !selfClosing) inT = true;
    },
    close(name) {
      if (name === 't') inT = false;
      else if (name === 'rPh') phonetic = Math.max(0, phonetic - 1);
      else if (name === 'si' && inSi) {
        const { text, tooLong } = buf.take();
        table.add(text, tooLong);
        inSi = false;
      }
    },
    text(raw) {
      if (inT) buf.add(raw);
    },
  });
  for await (const chunk of await openEntry(src, entry)) scanner.write(chunk as Buffer);
  scanner.end();
  return table;
}

async function* sheetRows(src: ByteSource, entry: ZipEntry, strings: StringTable, limits: RowLimits): AsyncGenerator<SheetRow> {
  const ready: SheetRow[] = [];
  const value = new TextBuffer(limits.cellChars);
  let inData = false;
  let row: SheetRow | null = null;
  let lastRow = 0;
  let col = -1;
  let type = 'n';
  let formula = false;
  let capturing = false;
  let hasValue = false;
  let inInline = false;
  let phonetic = 0;

  const finishCell = () => {
    if (!row || col < 0 || col >= limits.columns) return;
    if (!hasValue) {
      if (formula) row.cells[col] = { text: '', kind: 'e', formula: true, noValue: true };
      return;
    }
    const { text, tooLong } = value.take();
    let cell: Cell;
    switch (type) {
      case 's': {
        const s = strings.get(Number(text.trim()));
        cell = s ? { text: s.text, kind: 's', tooLong: s.tooLong } : { text: '#REF!', kind: 'e' };
        break;
      }
      case 'inlineStr':
      case 'str':
        cell = { text, kind: 's', tooLong };
        break;
      case 'b':
        cell = { text: text.trim(), kind: 'b' };
        break;
      case 'e':
        cell = { text: text.trim(), kind: 'e' };
        break;
      case 'd':
        cell = { text: text.trim(), kind: 'd' };
        break;
      default:
        cell = { text: text.trim(), kind: 'n', tooLong };
    }
    if (formula) cell.formula = true;
    row.cells[col] = cell;
  };

  const scanner = new XmlScanner({
    open(name, attrs, selfClosing) {
      if (!inData) {
        if (name === 'sheetData' && !selfClosing) inData = true;
        return;
      }
      switch (name) {
        case 'row': {
          const r = Number(attr(attrs, 'r') ?? lastRow + 1);
          // Rows come in order; a file that goes back is not one we can resume in safely.
          if (!Number.isSafeInteger(r) || r <= lastRow) throw new SheetError('unreadable', 'rows out of order');
          lastRow = r;
          col = -1;
          if (!selfClosing) row = { row: r, cells: [] };
          break;
        }
        case 'c': {
          const ref = attr(attrs, 'r');
          const letters = ref ? /^[A-Z]+/.exec(ref)?.[0] : undefined;
          col = letters ? columnIndex(letters) : col + 1;
          type = attr(attrs, 't') ?? 'n';
          formula = false;
          hasValue = false;
          inInline = false;
          break;
        }
        case 'f':
          formula = true;
          break;
        case 'v':
          if (!selfClosing) {
            capturing = true;
            hasValue = true;
          }
          break;
        case 'is':
          if (!selfClosing) inInline = true;
          break;
        case 'rPh':
          if (!selfClosing) phonetic += 1;
          break;
        case 't':
          if (inInline && !phonetic && !selfClosing) {
            capturing = true;
            hasValue = true;
          }
          break;
      }
    },
    close(name) {
      if (!inData) return;
      switch (name) {
        case 'v':
        case 't':
          capturing = false;
          break;
        case 'rPh':
          phonetic = Math.max(0, phonetic - 1);
          break;
        case 'is':
          inInline = false;
          break;
        case 'c':
          finishCell();
          value.take();
          break;
        case 'row':
          if (row) ready.push(row);
          row = null;
          break;
        case 'sheetData':
          inData = false;
          break;
      }
    },
    text(raw) {
      if (capturing) value.add(raw);
    },
  });
  try {
    const stream = await openEntry(src, entry);
    try {
      for await (const chunk of stream) {
        scanner.write(chunk as Buffer);
        for (const r of ready) yield r;
        ready.length = 0;
      }
      scanner.end();
      for (const r of ready) yield r;
    } finally {
      stream.destroy();
    }
  } catch (err) {
    throw sheetError(err);
  }
}
