/**
 * Signed contract PDFs in MongoDB GridFS, so web and workers on different machines see the
 * same files. Uploads are checked by content: the PDF signature and a full parse, which runs
 * in a check process with memory, time and decompression limits (src/lib/pdf), never here.
 */
import { Readable } from 'node:stream';
import path from 'node:path';
import mongoose from 'mongoose';
import { gridBucket } from '../../lib/gridfs';
import { AppError } from '../../lib/errors';
import { checkPdf, PdfCheckBusy, PDF_LIMITS, type PdfCheck } from '../../lib/pdf/inspect-pdf';

export const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024;
const bucket = () => gridBucket('attachments');

/** A file name safe to store and to send back: no folders, no control characters, bounded. */
export function safeFilename(name: string | undefined): string {
  const base = path.posix.basename(path.win32.basename(String(name ?? '')));
  const cleaned = base.replace(/[\u0000-\u001F\u007F"<>|:*?\\/]/g, '').replace(/^\.+/, '').trim().slice(-120);
  if (!cleaned) return 'contract.pdf';
  return /\.pdf$/i.test(cleaned) ? cleaned : `${cleaned}.pdf`;
}

/**
 * Checks that the bytes are a PDF that parses, off the event loop; returns its page count.
 * 415 NOT_A_PDF or PDF_UNREADABLE; 422 PDF_TOO_COMPLEX for a file that would inflate beyond
 * the limits or exhaust the check's memory or time (a decompression bomb); 503 when the
 * checks are all busy.
 */
export async function inspectPdf(buf: Buffer): Promise<{ pages: number }> {
  // The signature may follow a little junk (allowed by readers), but must be near the start.
  const head = buf.subarray(0, 1024).toString('latin1');
  if (buf.length === 0 || !head.includes('%PDF-')) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', { code: 'NOT_A_PDF', messageKey: 'errors.notPdf' });
  }
  let check: PdfCheck;
  try {
    check = await checkPdf(buf);
  } catch (err) {
    if (err instanceof PdfCheckBusy) throw new AppError('UNAVAILABLE', { code: 'PDF_CHECK_BUSY', cause: err });
    throw err;
  }
  if (check.ok) return { pages: check.pages };
  if (check.reason === 'unreadable') throw new AppError('UNSUPPORTED_MEDIA_TYPE', { code: 'PDF_UNREADABLE', messageKey: 'errors.pdfUnreadable' });
  const params = { max: PDF_LIMITS.inflatedBytes / (1024 * 1024) };
  throw new AppError('VALIDATION_FAILED', {
    code: 'PDF_TOO_COMPLEX',
    messageKey: 'errors.pdfTooComplex',
    params,
    details: [{ path: 'file', message: 'errors.pdfTooComplex', params }],
    extra: { limit: check.reason },
  });
}

export async function storePdf(buf: Buffer, filename: string, metadata: Record<string, unknown>): Promise<string> {
  const upload = bucket().openUploadStream(filename, { metadata: { ...metadata, contentType: 'application/pdf' } });
  await new Promise<void>((resolve, reject) => {
    Readable.from([buf]).pipe(upload).on('finish', () => resolve()).on('error', reject);
  });
  return String(upload.id);
}

/** The stored file's size in bytes (null when there is none), from GridFS's file record alone. */
export async function storedSize(id: string): Promise<number | null> {
  return (await storedSizes([id])).get(id) ?? null;
}

/** The sizes of the stored files among `ids` (missing ones are absent), in one query. */
export async function storedSizes(ids: string[]): Promise<Map<string, number>> {
  const valid = ids.filter((id) => mongoose.Types.ObjectId.isValid(id)).map((id) => new mongoose.Types.ObjectId(id));
  if (!valid.length) return new Map();
  const files = await bucket().find({ _id: { $in: valid } }, { projection: { _id: 1, length: 1 } }).toArray();
  return new Map(files.map((f) => [String(f._id), f.length]));
}

export function openPdf(id: string): NodeJS.ReadableStream {
  return bucket().openDownloadStream(new mongoose.Types.ObjectId(id));
}

export async function readPdf(id: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of openPdf(id) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function deletePdf(id: string): Promise<void> {
  await bucket()
    .delete(new mongoose.Types.ObjectId(id))
    .catch((err: Error) => {
      // Already gone (a retried clean-up): nothing to do.
      if (!/not found/i.test(err.message)) throw err;
    });
}
