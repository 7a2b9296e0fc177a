/**
 * Multipart parsing for import files: one file in memory, 20 MB at most (413 beyond), a few
 * small fields. Routes authorise before this runs. What the file inflates to is checked by its
 * directory at once (imports.service sniffImportFile) and by the reader as it inflates.
 */
import type { RequestHandler } from 'express';
import multer from 'multer';
import { MAX_IMPORT_BYTES } from './imports.service';

export const importUpload: RequestHandler = multer({
  storage: multer.memoryStorage(),
  defParamCharset: 'utf8',
  limits: {
    fileSize: MAX_IMPORT_BYTES,
    files: 1,
    fields: 5,
    parts: 8,
    fieldSize: 64 * 1024,
    fieldNameSize: 100,
    fieldNestingDepth: 1,
    fieldArrayIndexLimit: 20,
    headerPairs: 20,
  },
}).single('file');
