/** The imports API (API.md "Bringing in earlier registrations"): the template, uploads, progress and rejected rows. For bureau admins. */
import { Router, type Request } from 'express';
import type { TFunction } from 'i18next';
import type { AppDeps } from '../../lib/deps';
import { AppError } from '../../lib/errors';
import { authorize, requireUser } from '../../lib/http/authorize';
import { sendCsv } from '../../lib/http/csv';
import { createImport, getImport, importView, listImports, rejectedRowsCsv } from './imports.service';
import { importUpload } from './upload';
import { templateWorkbook } from './template';

/** The uploaded file, or why there is none: 415 for a body that is not multipart, 422 for a form without a file. */
export function uploadedFile(req: Request): Express.Multer.File {
  if (req.file) return req.file;
  if (!req.is('multipart/form-data')) throw new AppError('UNSUPPORTED_MEDIA_TYPE', { code: 'NOT_A_SPREADSHEET', messageKey: 'imports.errors.notSpreadsheet' });
  throw new AppError('VALIDATION_FAILED', { code: 'FILE_REQUIRED', details: [{ path: 'file', message: 'imports.fileRequired' }] });
}

export function importsApi(deps: AppDeps): Router {
  const router = Router();
  const manage = authorize('imports.manage');

  /** GET /imports/template.xlsx: the Excel template (Chinese headers, an example row, the code lists, drop-downs). */
  router.get('/imports/template.xlsx', manage, async (_req, res) => {
    const wb = await templateWorkbook(deps.config.agency.code);
    res.set({ 'Content-Type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'Content-Disposition': 'attachment; filename="import-template.xlsx"', 'Cache-Control': 'no-store' });
    await wb.xlsx.write(res);
    res.end();
  });

  /** POST /imports: multipart `file`, an .xlsx or a UTF-8 CSV of up to 20 MB: 202 `{id, status: "queued"}`; 415 other types; 413 larger. */
  router.post('/imports', manage, importUpload, async (req, res) => {
    res.status(202).json(await createImport(deps, requireUser(res), uploadedFile(req), req.ip));
  });

  /** GET /imports: the latest imports, newest first. */
  router.get('/imports', manage, async (_req, res) => {
    const t = res.locals.t as TFunction;
    const items = await listImports();
    res.json({ items: await Promise.all(items.map(async (d) => ({ ...(await importView(d, t, 0)), errors: undefined }))) });
  });

  /** GET /imports/{id}: status, counts and the first rejected rows' reasons. */
  router.get('/imports/:id', manage, async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await importView(await getImport(req.params.id as string), res.locals.t as TFunction));
  });

  /** GET /imports/{id}/errors.csv: the rejected rows with their reasons and their cells (correct them and import the file again). */
  router.get('/imports/:id/errors.csv', manage, async (req, res) => {
    const doc = await getImport(req.params.id as string);
    await sendCsv(res, `import-${String(doc._id)}-rejected.csv`, rejectedRowsCsv(String(doc._id), res.locals.t as TFunction));
  });

  return router;
}
