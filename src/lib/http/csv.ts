/** CSV downloads: UTF-8 with a BOM (for Excel), streamed, and safe to open in a spreadsheet. */
import { stringify } from 'csv-stringify';
import type { Response } from 'express';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * A cell starting with = + - @ (or a tab/CR) would run as a formula in Excel: prefix it
 * with an apostrophe, the usual defence against CSV injection.
 */
export const neutralise = (v: string) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);

export async function sendCsv(res: Response, filename: string, rows: AsyncIterable<(string | number)[]> | Iterable<(string | number)[]>): Promise<void> {
  res.set({ 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${filename}"`, 'Cache-Control': 'no-store' });
  res.write('\uFEFF');
  await pipeline(Readable.from(rows), stringify({ cast: { string: neutralise } }), res);
}
