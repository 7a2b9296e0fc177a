/** The bureau admin's import pages: the template and upload form with the list of imports, and each import's progress. */
import { Router, type RequestHandler } from 'express';
import type { TFunction } from 'i18next';
import type { AppDeps } from '../../lib/deps';
import { AppError } from '../../lib/errors';
import { authorize, requireUser } from '../../lib/http/authorize';
import { flash, renderFormError } from '../../lib/http/forms';
import { uploadedFile } from './imports.api';
import { createImport, ERRORS_SHOWN, getImport, importView, listImports, pathLabel } from './imports.service';
import { MAX_IMPORT_ROWS } from './import-run';
import { importUpload } from './upload';

const STATUS_BADGE: Record<string, string> = { queued: 'pending', running: 'in_review', done: 'verified', failed: 'rejected' };

export function importsPages(deps: AppDeps): Router {
  const router = Router();
  const manage = authorize('imports.manage');

  const listLocals = async (t: TFunction) => ({
    items: await Promise.all((await listImports()).map((d) => importView(d, t, 0))),
    badge: STATUS_BADGE,
    maxRows: MAX_IMPORT_ROWS,
  });

  /** GET /admin/imports: the template, the upload form and the imports so far. */
  router.get('/admin/imports', manage, async (_req, res) => {
    res.render('admin/imports', { ...(await listLocals(res.locals.t as TFunction)), form: null });
  });

  // A file over 20 MB is said on the form, not on an error page; other parser errors go to the handler.
  const upload: RequestHandler = (req, res, next) =>
    importUpload(req, res, (err?: unknown) => {
      if ((err as { code?: string } | undefined)?.code !== 'LIMIT_FILE_SIZE') return next(err);
      res.locals.uploadError = new AppError('PAYLOAD_TOO_LARGE', { code: 'FILE_TOO_LARGE', messageKey: 'errors.fileTooLarge' });
      next();
    });

  /** POST /admin/imports: the form's upload (multipart; the CSRF token comes in the URL). */
  router.post('/admin/imports', manage, upload, async (req, res) => {
    const t = res.locals.t as TFunction;
    try {
      if (res.locals.uploadError) throw res.locals.uploadError;
      const { id } = await createImport(deps, requireUser(res), uploadedFile(req), req.ip);
      flash(req, 'success', t('imports.uploaded'));
      res.redirect(303, `/admin/imports/${id}`);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      renderFormError(res, 'admin/imports', err, {}, await listLocals(t), () => 'file');
    }
  });

  /** GET /admin/imports/{id}: one import's progress (kept up to date by import-progress.js; a reload link without it) and rejected rows. */
  router.get('/admin/imports/:id', manage, async (req, res) => {
    const t = res.locals.t as TFunction;
    const imp = await importView(await getImport(req.params.id as string), t);
    res.render('admin/imports-show', {
      imp,
      badge: STATUS_BADGE,
      shownRows: new Set(imp.errors.map((e) => e.row)).size,
      errorsShown: ERRORS_SHOWN,
      errors: imp.errors.map((e) => ({ ...e, column: pathLabel(t, e.path) })),
    });
  });

  return router;
}
