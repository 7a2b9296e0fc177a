/** Multipart parsing for contract attachments: one file in memory, 20 MB at most. */
import type { RequestHandler } from 'express';
import multer from 'multer';
import { MAX_ATTACHMENT_BYTES } from './attachments.store';

export const singlePdfUpload: RequestHandler = multer({
  storage: multer.memoryStorage(),
  // Browsers send UTF-8 file names (合同.pdf) without saying so.
  defParamCharset: 'utf8',
  limits: { fileSize: MAX_ATTACHMENT_BYTES, files: 1, fields: 5, parts: 8, fieldSize: 64 * 1024 },
}).single('file');
