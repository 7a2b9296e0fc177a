/**
 * A CSV file's records as rows (sheet-rows.ts), streamed: UTF-8 (a byte-order mark is dropped;
 * anything that is not UTF-8 is refused rather than guessed), RFC 4180 quoting, CRLF, LF or CR
 * line ends, and a comma separator (or a tab or semicolon when the header line uses one of those
 * instead). A cell keeps at most `cellChars` characters, so a hostile cell costs nothing more.
 */
import { ROW_LIMITS, SheetError, type Cell, type RowLimits, type SheetRow } from './sheet-rows';

/** The separator the header line uses (outside quotes): a comma unless it has none and tabs or semicolons. */
function separatorOf(firstLine: string): string {
  let inQuotes = false;
  const count: Record<string, number> = { ',': 0, '\t': 0, ';': 0 };
  for (const ch of firstLine) {
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && ch in count) count[ch] += 1;
  }
  if (count[','] > 0) return ',';
  if (count['\t'] > 0) return '\t';
  return count[';'] > 0 ? ';' : ',';
}

export async function* csvRows(input: AsyncIterable<Buffer | Uint8Array>, limits: RowLimits = ROW_LIMITS): AsyncGenerator<SheetRow> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let sep: string | null = null;
  let head = '';
  let record = 0;
  let cells: (Cell | undefined)[] = [];
  let field = '';
  let fieldLength = 0;
  let tooLong = false;
  let quoted = false; // inside quotes
  let wasQuoted = false; // this field began with a quote
  let afterQuote = false; // a quote just closed inside a quoted field ("" is an escaped quote)
  let pendingCr = false;
  const ready: SheetRow[] = [];

  const pushChar = (ch: string) => {
    if (fieldLength < limits.cellChars + 1) field += ch;
    else tooLong = true;
    fieldLength += 1;
  };
  const endField = () => {
    // Cells beyond the columns read are dropped; the record's other cells keep their places.
    if (cells.length < limits.columns) {
      let cell: Cell | undefined;
      if (fieldLength > 0 || wasQuoted) {
        cell = { text: field, kind: 's' };
        if (tooLong || fieldLength > limits.cellChars) cell.tooLong = true;
        // Never evaluated: a cell a spreadsheet would run as a formula is reported, not read.
        if (/^=/.test(wasQuoted ? field : field.trimStart())) cell.formulaText = true;
        if (!field.trim() && !cell.tooLong) cell = undefined;
      }
      cells.push(cell);
    }
    field = '';
    fieldLength = 0;
    tooLong = false;
    wasQuoted = false;
    afterQuote = false;
  };
  const endRecord = () => {
    endField();
    record += 1;
    ready.push({ row: record, cells });
    cells = [];
  };

  const consume = (text: string) => {
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (pendingCr) {
        pendingCr = false;
        if (ch === '\n') continue; // CRLF
      }
      if (quoted) {
        if (ch === '"') {
          quoted = false;
          afterQuote = true;
        } else pushChar(ch);
        continue;
      }
      if (afterQuote && ch === '"') {
        // "" inside a quoted field
        pushChar('"');
        quoted = true;
        afterQuote = false;
        continue;
      }
      afterQuote = false;
      if (ch === '"' && fieldLength === 0 && !wasQuoted) {
        quoted = true;
        wasQuoted = true;
      } else if (ch === sep) {
        endField();
      } else if (ch === '\n') {
        endRecord();
      } else if (ch === '\r') {
        endRecord();
        pendingCr = true;
      } else {
        pushChar(ch);
      }
    }
  };

  try {
    for await (const chunk of input) {
      let text = decoder.decode(chunk, { stream: true });
      if (sep === null) {
        head += text;
        const nl = head.search(/[\r\n]/);
        if (nl < 0 && head.length < 64 * 1024) continue;
        sep = separatorOf(nl < 0 ? head : head.slice(0, nl));
        text = head;
        head = '';
      }
      consume(text);
      for (const r of ready) yield r;
      ready.length = 0;
    }
    const rest = decoder.decode();
    if (sep === null) {
      sep = separatorOf(head.split(/[\r\n]/)[0]);
      consume(head + rest);
    } else consume(rest);
    if (fieldLength > 0 || cells.length > 0 || wasQuoted) endRecord();
    for (const r of ready) yield r;
  } catch (err) {
    if (err instanceof TypeError && /encoded data|decode/i.test(err.message)) throw new SheetError('not_utf8');
    throw err;
  }
}
