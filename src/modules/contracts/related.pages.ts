/** "与我相关" pages: registered contracts other organisations filed that name the applicant's organisation. */
import { Router } from 'express';
import { AppError } from '../../lib/errors';
import { authorize, requireUser } from '../../lib/http/authorize';
import { listOrUnfiltered } from '../../lib/http/forms';
import { listRelated, loadRelated, RELATED_STATUSES, relatedView } from './related.service';

export function relatedPages(): Router {
  const router = Router();
  const related = authorize('contracts.related');

  /** GET /related?status=&q=&page=: the list; until the organisation is verified, a note saying so. */
  router.get('/related', related, async (req, res) => {
    const user = requireUser(res);
    const lang = res.locals.lang as string;
    const base = { statuses: RELATED_STATUSES, query: { q: '', status: '' } };
    try {
      const { result, filterError } = await listOrUnfiltered((q) => listRelated(user, q), req.query);
      res.render('related/index', {
        ...base,
        notVerified: false,
        filterError: Boolean(filterError),
        items: result.items.map((c) => relatedView(c, result.uscc, lang)),
        page: result.page,
        total: result.total,
        pages: Math.max(1, Math.ceil(result.total / result.pageSize)),
        query: { q: result.query.q ?? '', status: result.query.status ?? '' },
      });
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'ORGANIZATION_NOT_VERIFIED') throw err;
      res.render('related/index', { ...base, notVerified: true, filterError: false, items: [], page: 1, total: 0, pages: 1 });
    }
  });

  /** GET /related/:id: one of them, read-only, with its certificate while registered. */
  router.get('/related/:id', related, async (req, res) => {
    const doc = await loadRelated(requireUser(res), req.params.id as string);
    res.render('related/show', { contract: relatedView(doc, doc.viewerUscc, res.locals.lang as string) });
  });

  return router;
}
