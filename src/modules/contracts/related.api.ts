/**
 * "与我相关" in the JSON API: registered contracts that other organisations filed naming the
 * applicant's verified organisation. The certificate route lives with the certificates
 * (review.api.ts), since contracts do not import review.
 */
import { Router } from 'express';
import { authorize, requireUser } from '../../lib/http/authorize';
import { listRelated, loadRelated, relatedToApi } from './related.service';

export function relatedApi(): Router {
  const router = Router();

  /** GET /related-contracts?status=&q=&page=&pageSize=: 403 ORGANIZATION_NOT_VERIFIED until verified. */
  router.get('/related-contracts', authorize('contracts.related'), async (req, res) => {
    const { items, page, pageSize, total, uscc } = await listRelated(requireUser(res), req.query);
    res.json({ items: items.map((c) => relatedToApi(c, uscc)), page, pageSize, total });
  });

  /** GET /related-contracts/{id}: one of them, read-only; 404 for anything else. */
  router.get('/related-contracts/:id', authorize('contracts.related'), async (req, res) => {
    const doc = await loadRelated(requireUser(res), req.params.id as string);
    res.json(relatedToApi(doc, doc.viewerUscc));
  });

  return router;
}
