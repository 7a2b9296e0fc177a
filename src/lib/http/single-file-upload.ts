/**
 * Multipart parsing for a form that carries one file (an attachment, an import): the file in
 * memory up to `maxBytes`, a few small fields with short flat names. Multipart has no
 * compression (bytes held = bytes received), so the limits bound everything a request can make
 * us hold: the file, the fields, part headers (busboy stops at 16 KB each). Routes authorise
 * before this runs, so strangers cannot make us hold even that. What the file inflates to is
 * the business of its reader (the PDF check, the import's zip reader).
 */
import type { RequestHandler } from 'express';
import multer from 'multer';

export function singleFileUpload(maxBytes: number): RequestHandler {
  return multer({
    storage: multer.memoryStorage(),
    // Browsers send UTF-8 file names (合同.pdf) without saying so.
    defParamCharset: 'utf8',
    limits: {
      fileSize: maxBytes,
      files: 1,
      fields: 5,
      parts: 8,
      fieldSize: 64 * 1024,
      fieldNameSize: 100,
      // The upload forms have no nested or indexed fields: refuse names like a[b][c] or a[99999].
      fieldNestingDepth: 1,
      fieldArrayIndexLimit: 20,
      headerPairs: 20,
    },
  }).single('file');
}
