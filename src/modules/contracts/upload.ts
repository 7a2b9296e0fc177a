/** Multipart parsing for contract attachments (one PDF of at most 20 MB) and for the filing form. */
import type { RequestHandler } from 'express';
import multer from 'multer';
import { singleFileUpload } from '../../lib/http/single-file-upload';
import { MAX_ATTACHMENT_BYTES } from './attachments.store';

/** One PDF of at most 20 MB and a few small fields (its check reads what it inflates to: attachments.store.ts). */
export const singlePdfUpload: RequestHandler = singleFileUpload(MAX_ATTACHMENT_BYTES);

/**
 * Holds a file in memory up to `max` bytes; a larger one is read to its end and dropped,
 * marked `tooLarge`, instead of aborting the request: the fields after it in the form still
 * arrive, so a PDF over the limit costs the person a message, never what they typed.
 */
function cappedMemoryStorage(max: number): multer.StorageEngine {
  return {
    _handleFile(_req, file, cb) {
      const chunks: Buffer[] = [];
      let size = 0;
      file.stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= max) chunks.push(chunk);
        else chunks.length = 0;
      });
      file.stream.on('error', (err) => cb(err));
      file.stream.on('end', () => cb(null, size > max ? ({ size, tooLarge: true } as Partial<Express.Multer.File>) : { buffer: Buffer.concat(chunks, size), size }));
    },
    _removeFile(_req, file, cb) {
      delete (file as Partial<Express.Multer.File>).buffer;
      cb(null);
    },
  };
}

/** What the filing form's parser leaves in `req.file` for a file over the size limit. */
export const isTooLarge = (file: unknown): boolean => Boolean((file as { tooLarge?: boolean } | undefined)?.tooLarge);

/**
 * The filing form posts every field and, optionally, the signed PDF in one multipart body
 * (so uploading saves what was typed). It has many fields with indexed names
 * (buyers[19][regionDistrict]): as many as the urlencoded parser allows (500 parameters),
 * each small (the longest text is a 300-character address; 16 KB leaves room for anything
 * pasted by mistake, which is kept as typed), at most two levels deep and index 20 (the
 * buyer limit). Bounded: 500 × 16 KB of fields plus the 20 MB file. A urlencoded post (no
 * file) passes through to the ordinary body parser.
 */
export const filingFormUpload: RequestHandler = multer({
  storage: cappedMemoryStorage(MAX_ATTACHMENT_BYTES),
  defParamCharset: 'utf8',
  limits: {
    files: 1,
    fields: 500,
    parts: 501,
    fieldSize: 16 * 1024,
    fieldNameSize: 100,
    fieldNestingDepth: 2,
    fieldArrayIndexLimit: 20,
    headerPairs: 20,
  },
}).single('file');
