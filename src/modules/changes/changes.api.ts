/** Changes and cancellations of registered contracts in the JSON API (API.md "After registration"). */
import { Router, type Response } from 'express';
import type { AppDeps } from '../../lib/deps';
import { authorize, requireUser } from '../../lib/http/authorize';
import { sendAttachment } from '../contracts/contracts.api';
import { loadContract } from '../contracts/contracts.service';
import { singlePdfUpload } from '../contracts/upload';
import { reviewDeps } from '../review/review.api';
import { approveRequest, refuseRequest, returnRequest, sendRequestToExpertReview } from './request-decisions.service';
import {
  addRequestAttachment,
  createRequest,
  findRequestAttachment,
  loadRequest,
  requestsOf,
  requestToApi,
  submitRequest,
  updateRequest,
  withdrawRequest,
} from './requests.service';

export function changesApi(deps: AppDeps): Router {
  const router = Router();
  const rd = reviewDeps(deps);
  const lang = (res: Response) => res.locals.lang as string;
  const audienceOf = (res: Response) => (requireUser(res).role === 'applicant' ? 'applicant' : 'bureau');
  const view = async (res: Response, id: string) => requestToApi(await loadRequest(requireUser(res), id), lang(res), audienceOf(res));

  /** POST /contracts/{id}/changes: opens a change (变更登记) with the reason and only the fields that change. */
  router.post('/contracts/:id/changes', authorize('contracts.file'), async (req, res) => {
    const r = await createRequest(requireUser(res), req.params.id as string, 'change', req.body);
    res.status(201).json(requestToApi(r, lang(res), 'applicant'));
  });

  /** POST /contracts/{id}/cancellation: opens a cancellation (注销登记) with the reason. */
  router.post('/contracts/:id/cancellation', authorize('contracts.file'), async (req, res) => {
    const r = await createRequest(requireUser(res), req.params.id as string, 'cancellation', req.body);
    res.status(201).json(requestToApi(r, lang(res), 'applicant'));
  });

  /** GET /contracts/{id}/requests: the contract's changes and cancellations, newest first. */
  router.get('/contracts/:id/requests', authorize('contracts.read'), async (req, res) => {
    const contract = await loadContract(requireUser(res), req.params.id as string); // 404 for anyone else's
    res.json({ items: (await requestsOf(contract._id)).map((r) => requestToApi(r, lang(res), audienceOf(res))) });
  });

  /** GET /requests/{rid} */
  router.get('/requests/:rid', authorize('contracts.read'), async (req, res) => {
    res.json(await view(res, req.params.rid as string));
  });

  /** PATCH /requests/{rid}: a draft or returned request's reason or fields. */
  router.patch('/requests/:rid', authorize('contracts.file'), async (req, res) => {
    res.json(requestToApi(await updateRequest(requireUser(res), req.params.rid as string, req.body), lang(res), 'applicant'));
  });

  /** POST /requests/{rid}/attachments: the supplementary or termination agreement, a PDF of at most 20 MB. */
  router.post('/requests/:rid/attachments', authorize('contracts.file'), singlePdfUpload, async (req, res) => {
    res.status(201).json(await addRequestAttachment(requireUser(res), req.params.rid as string, req.file));
  });

  /** GET /requests/{rid}/attachments/{attachmentId}: the PDF, to its organisation and the bureau. */
  router.get('/requests/:rid/attachments/:attachmentId', authorize('contracts.read'), async (req, res) => {
    const doc = await loadRequest(requireUser(res), req.params.rid as string);
    await sendAttachment(res, findRequestAttachment(doc, req.params.attachmentId as string), req.query.inline === '1');
  });

  /** POST /requests/{rid}/submit: 202; 422 listing what is missing (a PDF is required). */
  router.post('/requests/:rid/submit', authorize('contracts.file'), async (req, res) => {
    res.status(202).json(await submitRequest(deps, requireUser(res), req.params.rid as string));
  });

  /** POST /requests/{rid}/withdraw: before the bureau decides. */
  router.post('/requests/:rid/withdraw', authorize('contracts.file'), async (req, res) => {
    res.json(await withdrawRequest(requireUser(res), req.params.rid as string));
  });

  /** POST /requests/{rid}/approve · /return · /refuse: as for filings; 409 unless in review. */
  router.post('/requests/:rid/approve', authorize('contracts.review'), async (req, res) => {
    res.json(await approveRequest(rd, requireUser(res), req.params.rid as string, req.body, req.ip));
  });
  router.post('/requests/:rid/return', authorize('contracts.review'), async (req, res) => {
    res.json(await returnRequest(rd, requireUser(res), req.params.rid as string, req.body, req.ip));
  });
  router.post('/requests/:rid/refuse', authorize('contracts.review'), async (req, res) => {
    res.json(await refuseRequest(rd, requireUser(res), req.params.rid as string, req.body, req.ip));
  });

  /** POST /requests/{rid}/expert-review: a disputed request goes to expert review (30 working days from today). */
  router.post('/requests/:rid/expert-review', authorize('contracts.review'), async (req, res) => {
    res.json(await sendRequestToExpertReview(requireUser(res), req.params.rid as string, req.body, req.ip));
  });

  return router;
}
