/**
 * The rows of an uploaded table, as a stream, whatever the format: the first worksheet of an
 * .xlsx workbook (zip.ts, xml.ts) or a CSV file (csv.ts). A row is its spreadsheet row number
 * and its cells by column; a cell keeps its text as written in the file (a number's decimal
 * digits, never a binary float) and its kind, so each column reads it by its own rules.
 */

/** `s` text, `n` a number (its decimal text), `b` a boolean ("1"/"0"), `d` an ISO date, `e` an error value (#N/A). */
export type CellKind = 's' | 'n' | 'b' | 'd' | 'e';

export interface Cell {
  text: string;
  kind: CellKind;
  /** Longer than the limit: `text` holds only its beginning. */
  tooLong?: boolean;
  /** A formula: `text` is the value the spreadsheet computed and saved (never computed here). */
  formula?: boolean;
  /** A formula saved without a computed value. */
  noValue?: boolean;
  /** Text that would run as a formula in a spreadsheet (a CSV cell starting with "="). */
  formulaText?: boolean;
}

export interface SheetRow {
  /** The row number a person sees in the spreadsheet (CSV: the record number, the header being 1). */
  row: number;
  /** Cells by column (0 = A); missing ones are empty. */
  cells: (Cell | undefined)[];
}

export interface RowLimits {
  /** Columns read; cells further right are ignored. */
  columns: number;
  /** Characters kept of a cell; a longer one is marked `tooLong`. */
  cellChars: number;
}

export const ROW_LIMITS: RowLimits = { columns: 100, cellChars: 2000 };

/** Whether a row has nothing in it (blank rows are passed over, cheaply). */
export function isBlankRow(r: SheetRow): boolean {
  for (const c of r.cells) if (c && (c.noValue || c.text.trim() !== '')) return false;
  return true;
}

/** Column letters ("A", "AA") to a 0-based index; -1 when they are not column letters. */
export function columnIndex(letters: string): number {
  let n = 0;
  for (let i = 0; i < letters.length; i++) {
    const c = letters.charCodeAt(i);
    if (c < 65 || c > 90) return -1;
    n = n * 26 + (c - 64);
  }
  return n - 1;
}

/** A file the reader cannot take apart: the import fails with this reason (no retry helps). */
export class SheetError extends Error {
  constructor(
    readonly reason: 'too_complex' | 'unreadable' | 'not_utf8' | 'no_sheet',
    detail?: string,
  ) {
    super(`sheet: ${reason}${detail ? ` (${detail})` : ''}`);
  }
}
