/**
 * Imports of earlier registrations, the use cases: accept an uploaded file (checked by its
 * content), queue it, show its progress and its rejected rows, and resume imports whose job
 * died. The import itself runs in the worker (import-run.ts).
 */
import type { TFunction } from 'i18next';
import { Types } from 'mongoose';
import { cstIso } from '../../domain/time';
import { AppError, notFound } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { enqueue, enqueueNow, type Queues } from '../../lib/queues';
import type { CurrentUser } from '../accounts/current-user';
import { recordAudit } from '../audit/audit.service';
import { columnLabel, IMPORT_COLUMNS, type ImportColumn } from './columns';
import { deleteImportFile, storeImportFile } from './import-file.store';
import { ImportJob, ImportRowError, rowErrorRange, type ImportDoc } from './import.model';
import { isWorkbookDirectory } from './xlsx';
import { bufferSource, looksLikeZip, readDirectory, XLSX_LIMITS, ZipError } from './zip';

export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;
/** Rejected rows the status answer lists (all are in errors.csv). */
export const ERRORS_SHOWN = 100;
/** An import whose progress has not moved for this long while queued or running has lost its job. */
export const STALLED_AFTER_MS = 2 * 60_000;

/** Documents that can pass for text at their start but are not tables: a PDF (its signature may follow some junk), XML, HTML, RTF. */
const notTable = (buf: Buffer) => buf.subarray(0, 1024).includes('%PDF-') || /^(\xEF\xBB\xBF)?\s*(<\?xml|<!doctype|<html|\{\\rtf)/i.test(buf.subarray(0, 64).toString('latin1'));

const unsupported = (messageKey: string, code = 'NOT_A_SPREADSHEET', params?: Record<string, unknown>) =>
  new AppError('UNSUPPORTED_MEDIA_TYPE', { code, messageKey, params });

/**
 * What the upload is, by its content (never its name): an .xlsx workbook (a ZIP with the
 * package's content types and a workbook part, whose directory stays within the limits, so a
 * zip bomb is refused here already) or CSV text in UTF-8. 415 for anything else, 422 for an
 * archive that would inflate too far.
 */
export async function sniffImportFile(buf: Buffer): Promise<'xlsx' | 'csv'> {
  if (!buf.length) throw unsupported('imports.errors.notSpreadsheet');
  if (looksLikeZip(buf)) {
    try {
      const entries = await readDirectory(bufferSource(buf), XLSX_LIMITS);
      if (!isWorkbookDirectory(entries)) throw unsupported('imports.errors.notSpreadsheet');
      return 'xlsx';
    } catch (err) {
      if (!(err instanceof ZipError)) throw err;
      if (err.reason === 'too_large' || err.reason === 'too_many_entries') {
        const params = { max: XLSX_LIMITS.totalBytes / (1024 * 1024) };
        throw new AppError('VALIDATION_FAILED', { code: 'IMPORT_FILE_TOO_COMPLEX', messageKey: 'imports.errors.tooComplex', params, details: [{ path: 'file', message: 'imports.errors.tooComplex', params }] });
      }
      if (err.reason === 'unsupported') throw unsupported('imports.errors.unsupported', 'SPREADSHEET_UNSUPPORTED');
      throw unsupported('imports.errors.notSpreadsheet');
    }
  }
  // The old binary Excel format (an OLE compound file): say what to do with it.
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0xd0cf11e0 && buf.readUInt32BE(4) === 0xa1b11ae1) throw unsupported('imports.errors.xls', 'XLS_NOT_SUPPORTED');
  // Other documents that can pass for text at their start (a PDF), and anything with control
  // characters (binary data) are not CSV; UTF-16 text (a BOM, or NUL bytes) is not the UTF-8 asked for.
  if (notTable(buf)) throw unsupported('imports.errors.notSpreadsheet');
  if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff) || buf.includes(0)) throw unsupported('imports.errors.notUtf8', 'CSV_NOT_UTF8');
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) throw unsupported('imports.errors.notSpreadsheet');
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw unsupported('imports.errors.notUtf8', 'CSV_NOT_UTF8');
  }
  return 'csv';
}

/** A name safe to store and show: no folders, no control characters, bounded. */
export function safeImportName(name: string | undefined, format: 'xlsx' | 'csv'): string {
  const base = String(name ?? '').split(/[\\/]/).pop()!;
  const cleaned = base.replace(/[\u0000-\u001F\u007F"<>|:*?]/g, '').replace(/^\.+/, '').trim().slice(-120);
  return cleaned || `import.${format}`;
}

export interface ImportsDeps {
  queues: Queues | null;
  logger: Logger;
}

/** Stores the file and queues its import: `{id, status: 'queued'}`; 503 (and nothing kept) when the queue is unreachable. */
export async function createImport(deps: ImportsDeps, user: CurrentUser, file: { buffer: Buffer; originalname?: string }, ip?: string): Promise<{ id: string; status: 'queued' }> {
  if (!deps.queues) throw new AppError('UNAVAILABLE');
  const format = await sniffImportFile(file.buffer);
  const filename = safeImportName(file.originalname, format);
  const id = new Types.ObjectId();
  const fileId = await storeImportFile(file.buffer, filename, { importId: String(id), kind: 'import' });
  await ImportJob.create({ _id: id, status: 'queued', filename, format, size: file.buffer.length, fileId, createdBy: new Types.ObjectId(user.id), createdByName: user.name ?? null });
  try {
    await enqueue(deps.queues, 'imports', 'run', { importId: String(id) }, importJobId(String(id)));
  } catch (err) {
    // Producers fail fast when Redis is away: nothing half-done stays behind.
    await ImportJob.deleteOne({ _id: id });
    await deleteImportFile(fileId);
    throw new AppError('UNAVAILABLE', { cause: err });
  }
  await recordAudit({ actor: { id: user.id, email: user.email, role: user.role }, action: 'import.uploaded', targetType: 'import', targetId: String(id), details: { filename, format, size: file.buffer.length }, ip });
  return { id: String(id), status: 'queued' };
}

export const importJobId = (id: string) => `import-${id}`;

export async function getImport(id: string): Promise<ImportDoc> {
  if (!Types.ObjectId.isValid(id) || String(new Types.ObjectId(id)) !== id) throw notFound();
  const doc = (await ImportJob.findById(id).lean()) as ImportDoc | null;
  if (!doc) throw notFound();
  return doc;
}

export async function listImports(limit = 50): Promise<ImportDoc[]> {
  return (await ImportJob.find().sort({ createdAt: -1 }).limit(limit).lean()) as ImportDoc[];
}

/** The language a translation function is fixed to (i18next's getFixedT records it). */
const lang = (t: TFunction): 'zh-CN' | 'en' => ((t as unknown as { lng?: string }).lng === 'en' ? 'en' : 'zh-CN');

/** A stored message (an i18n key and its parameters) as text; column keys among the parameters become their headers. */
export function messageText(t: TFunction, m: { key: string; params?: Record<string, unknown> | null }): string {
  const params: Record<string, unknown> = { ...(m.params ?? {}) };
  const l = lang(t);
  if (Array.isArray(params.columns)) params.columns = (params.columns as string[]).map((c) => ((IMPORT_COLUMNS as readonly string[]).includes(c) ? columnLabel(c as ImportColumn, l) : c)).join('、');
  if (m.key.startsWith('validation.money_')) return String(t(m.key));
  return String(t(m.key, { ...params, defaultValue: m.key }));
}

/** A column key as its header in the reader's language ('' for the row as a whole). */
export const pathLabel = (t: TFunction, path: string) => ((IMPORT_COLUMNS as readonly string[]).includes(path) ? columnLabel(path as ImportColumn, lang(t)) : '');

/** An import's rejected rows in order, each with its reasons. */
export async function* rejectedRows(importId: string, limit = Infinity) {
  const cursor = ImportRowError.find({ _id: rowErrorRange(importId) }).sort({ _id: 1 }).limit(Number.isFinite(limit) ? limit : 0).lean().cursor();
  for await (const r of cursor) yield r as unknown as { row: number; issues: { path: string; key: string; params: Record<string, unknown> | null }[]; cells: Record<string, string> };
}

/** The API's answer (API.md): status and counts, and the first rejected rows' reasons, in the reader's language. */
export async function importView(doc: ImportDoc, t: TFunction, errorsShown = ERRORS_SHOWN) {
  const errors: { row: number; path: string; message: string }[] = [];
  if (errorsShown > 0) for await (const r of rejectedRows(String(doc._id), errorsShown)) {
    for (const i of r.issues) errors.push({ row: r.row, path: i.path, message: messageText(t, i) });
  }
  const total = doc.total ?? null;
  return {
    id: String(doc._id),
    status: doc.status,
    phase: doc.phase ?? null,
    filename: doc.filename,
    format: doc.format,
    total,
    processed: doc.processed,
    imported: doc.imported,
    skipped: doc.skipped,
    rejected: doc.rejected,
    percent: total ? Math.floor((doc.processed / total) * 100) : doc.status === 'done' ? 100 : 0,
    years: [...(doc.years ?? [])].sort(),
    errors,
    errorsTruncated: doc.rejected > errorsShown,
    failure: doc.failure ? messageText(t, doc.failure) : null,
    notes: (doc.notes ?? []).map((n) => messageText(t, n)),
    createdBy: doc.createdByName ?? null,
    createdAt: cstIso(doc.createdAt),
    startedAt: doc.startedAt ? cstIso(doc.startedAt) : null,
    finishedAt: doc.finishedAt ? cstIso(doc.finishedAt) : null,
  };
}

/**
 * The rejected rows as CSV rows: the row number, the reasons, then the row's cells under the
 * template's headers, so the file can be corrected and imported again (the first two columns
 * are then ignored as unknown headers).
 */
export async function* rejectedRowsCsv(importId: string, t: TFunction): AsyncGenerator<string[]> {
  const l = lang(t);
  yield [String(t('imports.errorRow')), String(t('imports.errorColumn')), String(t('imports.errorMessage')), ...IMPORT_COLUMNS.map((c) => columnLabel(c, 'zh-CN'))];
  for await (const r of rejectedRows(importId)) {
    const columns = [...new Set(r.issues.map((i) => (i.path ? columnLabel(i.path as ImportColumn, l) : '')).filter(Boolean))].join('、');
    const reasons = r.issues.map((i) => (i.path ? `${columnLabel(i.path as ImportColumn, l)}：${messageText(t, i)}` : messageText(t, i))).join('；');
    yield [String(r.row), columns, reasons, ...IMPORT_COLUMNS.map((c) => r.cells?.[c] ?? '')];
  }
}

/** Queues again the imports whose job died (no progress for a while); returns how many. */
export async function resumeStalledImports(queues: Queues, now = new Date()): Promise<number> {
  const before = new Date(now.getTime() - STALLED_AFTER_MS);
  const stalled = await ImportJob.find({ status: { $in: ['queued', 'running'] }, $or: [{ heartbeatAt: { $lt: before } }, { heartbeatAt: null, createdAt: { $lt: before } }] })
    .select({ _id: 1 })
    .lean();
  for (const s of stalled) {
    const jobId = importJobId(String(s._id));
    // A job that finished without finishing the import (stopped by a shutdown past its retries) goes again.
    const job = await queues.imports.getJob(jobId);
    if (job && (await job.getState()) === 'completed') await job.remove();
    // Waiting or running: left alone (BullMQ hands a dead worker's job on); delayed or failed: now.
    await enqueueNow(queues, 'imports', 'run', { importId: String(s._id) }, jobId);
  }
  return stalled.length;
}
