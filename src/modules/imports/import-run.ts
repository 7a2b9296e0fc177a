/**
 * Running an import (the `imports` job): the stored file read as a stream of rows, its header
 * matched, its data rows counted (so the page can show rows processed of the total), then
 * imported in batches (import-batch). After each batch the import document records the
 * batch's outcome and its last row in one update conditional on the row before, so a batch is
 * counted once however many runners race, and a restarted job resumes after the last batch
 * committed. Each year's tally is brought up to date and published once per batch.
 */
import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import { cstDate } from '../../domain/time';
import type { Logger } from '../../lib/logger';
import { recordAudit } from '../audit/audit.service';
import { refreshYear } from '../turnover/turnover.service';
import { mapHeader, type ImportColumn } from './columns';
import { csvRows } from './csv';
import { importFileSource } from './import-file.store';
import { ImportJob, type ImportDoc } from './import.model';
import { importBatch, type BatchRow } from './import-batch';
import { isBlankRow, ROW_LIMITS, SheetError, type SheetRow } from './sheet-rows';
import { openWorkbook } from './xlsx';
import zh from '../../i18n/zh-CN';

/** The most data rows one import takes (blank rows not counted). */
export const MAX_IMPORT_ROWS = 200_000;
export const BATCH_SIZE = 500;

export interface ImportRunDeps {
  agencyCode: string;
  logger: Logger;
  /** For publishing the live figure (the worker's connection); absent in some tests. */
  redis?: Redis;
  prefix: string;
  targetFen: number;
}

export interface RunOptions {
  batchSize?: number;
  /** Stop after this many batches, as a worker dying there would (for tests). */
  stopAfterBatches?: number;
  /** Asked after each batch: true stops there (the worker is shutting down); the job resumes later. */
  shouldStop?: () => boolean;
}

export type RunResult = { status: 'done' | 'failed' | 'stopped' | 'superseded' | 'finished-before' };

/** Rows of the stored file: its format's reader, and how to read dates. */
async function openRows(doc: Pick<ImportDoc, 'fileId' | 'format'>): Promise<{ rows: () => AsyncGenerator<SheetRow>; date1904: boolean }> {
  const src = await importFileSource(doc.fileId);
  if (doc.format === 'xlsx') {
    const wb = await openWorkbook(src, ROW_LIMITS);
    return { rows: () => wb.rows(), date1904: wb.date1904 };
  }
  return { rows: () => csvRows(src.stream(0, src.size) as AsyncIterable<Buffer>, ROW_LIMITS), date1904: false };
}

const cellsText = (r: SheetRow) => r.cells.map((c) => c?.text);

/** The template's example row (ignored wherever it is left). */
function isExample(r: SheetRow, titleColumn: number | undefined): boolean {
  return titleColumn !== undefined && r.cells[titleColumn]?.text.trim() === zh.imports.exampleTitle;
}

async function fail(id: Types.ObjectId, key: string, params: Record<string, unknown> | null = null): Promise<RunResult> {
  const failed = await ImportJob.updateOne({ _id: id, status: { $in: ['queued', 'running'] } }, { $set: { status: 'failed', phase: null, failure: { key, params }, finishedAt: new Date(), heartbeatAt: new Date() } });
  if (failed.modifiedCount === 1) await recordAudit({ actor: null, action: 'import.failed', targetType: 'import', targetId: String(id), details: { reason: key } });
  return { status: 'failed' };
}

/** Marks an import failed for good (the job's last attempt failed on something unexpected). */
export async function markImportFailed(importId: string): Promise<void> {
  await fail(new Types.ObjectId(importId), 'imports.failed.internal');
}

export async function runImport(importId: string, deps: ImportRunDeps, opts: RunOptions = {}): Promise<RunResult> {
  const id = new Types.ObjectId(importId);
  let doc = (await ImportJob.findById(id).lean()) as ImportDoc | null;
  if (!doc) throw new Error(`import ${importId} not found`);
  if (doc.status === 'done' || doc.status === 'failed') return { status: 'finished-before' };
  await ImportJob.updateOne({ _id: id, status: { $in: ['queued', 'running'] } }, { $set: { status: 'running', heartbeatAt: new Date(), ...(doc.startedAt ? {} : { startedAt: new Date() }) } });

  let source: Awaited<ReturnType<typeof openRows>>;
  try {
    source = await openRows(doc);
  } catch (err) {
    if (err instanceof SheetError) return fail(id, `imports.failed.${err.reason}`);
    throw err;
  }

  try {
    // The header: the first row with anything in it.
    let header: SheetRow | null = null;
    const headerRows = source.rows();
    for await (const r of headerRows) {
      if (!isBlankRow(r)) {
        header = r;
        break;
      }
    }
    await headerRows.return(undefined);
    if (!header) return fail(id, 'imports.failed.noHeader');
    const map = mapHeader(cellsText(header));
    if (map.duplicate) return fail(id, 'imports.failed.duplicateColumn', { column: map.duplicate });
    if (map.missing.length) return fail(id, 'imports.failed.missingColumns', { columns: map.missing });
    const columns = Object.entries(map.columns) as [ImportColumn, number][];
    const titleColumn = map.columns.title;

    // The total, counted once (a resumed job has it): the page shows progress against it.
    if (doc.total === null || doc.total === undefined) {
      await ImportJob.updateOne({ _id: id }, { $set: { phase: 'counting', lastRow: header.row, notes: map.ignored.length ? [{ key: 'imports.notes_ignored', params: { columns: map.ignored.slice(0, 20) } }] : [] } });
      let total = 0;
      let beat = Date.now();
      for await (const r of source.rows()) {
        if (r.row <= header.row || isBlankRow(r) || isExample(r, titleColumn)) continue;
        total += 1;
        if (total > MAX_IMPORT_ROWS) return fail(id, 'imports.failed.tooManyRows', { max: MAX_IMPORT_ROWS });
        if (Date.now() - beat > 5_000) {
          beat = Date.now();
          await ImportJob.updateOne({ _id: id }, { $set: { heartbeatAt: new Date() } });
        }
      }
      await ImportJob.updateOne({ _id: id, total: null }, { $set: { total, phase: 'importing', heartbeatAt: new Date() } });
      doc = (await ImportJob.findById(id).lean()) as ImportDoc;
    }

    const ctx = {
      importId,
      filename: doc.filename,
      actorId: doc.createdBy as Types.ObjectId,
      agencyCode: deps.agencyCode,
      today: cstDate(new Date()),
      date1904: source.date1904,
      maxChars: ROW_LIMITS.cellChars,
    };
    const size = opts.batchSize ?? BATCH_SIZE;
    let lastRow = Math.max(doc.lastRow ?? 0, header.row);
    let batches = 0;
    let batch: BatchRow[] = [];
    const years = new Set<number>(doc.years ?? []);

    const commit = async (upTo: number): Promise<boolean> => {
      const out = await importBatch(batch, ctx);
      for (const y of out.years) years.add(y);
      // The years as a whole array, not `$addToSet`: the embedded database (DocumentDB) fails an
      // update that combines `$addToSet` with another operator from the 21st on one document
      // ("Size … is larger than MaxDocumentSize"). Only the runner at `lastRow` writes, so it is exact.
      const done = await ImportJob.updateOne(
        { _id: id, lastRow, status: 'running' },
        {
          $set: { lastRow: upTo, heartbeatAt: new Date(), phase: 'importing', years: [...years].sort() },
          $inc: { processed: batch.length, imported: out.imported, skipped: out.skipped, rejected: out.rejected },
        },
      );
      batch = [];
      if (done.matchedCount !== 1) return false; // another runner committed it: leave the import to it
      lastRow = upTo;
      batches += 1;
      for (const year of out.years) {
        await refreshYear(deps, year).catch((err: Error) => deps.logger.warn({ year, err: err.message }, 'turnover not refreshed after an import batch; the next one or the tally job will'));
      }
      return true;
    };

    for await (const r of source.rows()) {
      if (r.row <= lastRow) continue;
      if (isBlankRow(r) || isExample(r, titleColumn)) continue;
      const cells: BatchRow['cells'] = {};
      for (const [key, col] of columns) if (r.cells[col]) cells[key] = r.cells[col];
      batch.push({ row: r.row, cells });
      if (batch.length >= size) {
        if (!(await commit(r.row))) return { status: 'superseded' };
        if ((opts.stopAfterBatches !== undefined && batches >= opts.stopAfterBatches) || opts.shouldStop?.()) return { status: 'stopped' };
      }
    }
    if (batch.length && !(await commit(batch[batch.length - 1].row))) return { status: 'superseded' };
    // Done: the total is what was processed (a count cannot drift from it, but say it exactly).
    const final = (await ImportJob.findById(id).select({ processed: 1, imported: 1, skipped: 1, rejected: 1 }).lean()) as Pick<ImportDoc, 'processed' | 'imported' | 'skipped' | 'rejected'>;
    const finished = await ImportJob.updateOne({ _id: id, status: 'running' }, { $set: { status: 'done', phase: null, total: final.processed, finishedAt: new Date(), heartbeatAt: new Date() } });
    if (finished.modifiedCount === 1) {
      await recordAudit({ actor: null, action: 'import.done', targetType: 'import', targetId: importId, details: { rows: final.processed, imported: final.imported, skipped: final.skipped, rejected: final.rejected } });
    }
    return { status: 'done' };
  } catch (err) {
    if (err instanceof SheetError) return fail(id, `imports.failed.${err.reason}`);
    throw err;
  }
}
