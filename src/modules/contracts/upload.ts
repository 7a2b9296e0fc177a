/**
 * Multipart parsing for contract attachments: one file in memory, 20 MB at most. Multipart
 * has no compression (bytes held = bytes received), so the limits bound everything a request
 * can make us hold: the file, a few small fields with short flat names, part headers (busboy
 * stops at 16 KB each). Routes authorize before this runs, so strangers cannot make us hold
 * even that. What the file inflates to is the PDF check's business (attachments.store.ts).
 */
import type { RequestHandler } from 'express';
import multer from 'multer';
import { MAX_ATTACHMENT_BYTES } from './attachments.store';

export const singlePdfUpload: RequestHandler = multer({
  storage: multer.memoryStorage(),
  // Browsers send UTF-8 file names (合同.pdf) without saying so.
  defParamCharset: 'utf8',
  limits: {
    fileSize: MAX_ATTACHMENT_BYTES,
    files: 1,
    fields: 5,
    parts: 8,
    fieldSize: 64 * 1024,
    fieldNameSize: 100,
    // The upload form has no nested or indexed fields: refuse names like a[b][c] or a[99999].
    fieldNestingDepth: 1,
    fieldArrayIndexLimit: 20,
    headerPairs: 20,
  },
}).single('file');
