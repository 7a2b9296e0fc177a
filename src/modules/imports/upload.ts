/**
 * Multipart parsing for import files: one file in memory, 20 MB at most (413 beyond), a few
 * small fields. What the file inflates to is checked by its directory at once
 * (imports.service sniffImportFile) and by the reader as it inflates.
 */
import type { RequestHandler } from 'express';
import { singleFileUpload } from '../../lib/http/single-file-upload';
import { MAX_IMPORT_BYTES } from './imports.service';

export const importUpload: RequestHandler = singleFileUpload(MAX_IMPORT_BYTES);
