/** Contracts in the JSON API (API.md "Contracts"): applicants' filing endpoints and reading. */
import { Router, type Response } from 'express';
import { create as contentDisposition } from 'content-disposition';
import type { AppDeps } from '../../lib/deps';
import { authorize, requireUser } from '../../lib/http/authorize';
import { openPdf } from './attachments.store';
import {
  addAttachment,
  createDraft,
  deleteDraft,
  findAttachment,
  listContracts,
  loadContract,
  removeAttachment,
  submitContract,
  toApi,
  updateDraft,
  withdrawContract,
} from './contracts.service';
import { ensureAcceptance, receiptData, renderReceipt } from './receipt';
import { singlePdfUpload } from './upload';

/** Streams a stored PDF; `inline` lets the review page embed it. */
export async function sendAttachment(res: Response, att: { id: string; filename: string; size: number }, inline: boolean) {
  res.set({
    'Content-Type': 'application/pdf',
    'Content-Length': String(att.size),
    'Content-Disposition': contentDisposition(att.filename, { type: inline ? 'inline' : 'attachment' }),
    'Cache-Control': 'private, no-store',
  });
  await new Promise<void>((resolve, reject) => {
    openPdf(att.id).on('error', reject).pipe(res).on('finish', resolve).on('error', reject);
  });
}

export function contractsApi(deps: AppDeps): Router {
  const router = Router();
  const lang = (res: Response) => res.locals.lang as string;
  const audienceOf = (res: Response) => (requireUser(res).role === 'applicant' ? 'applicant' : 'bureau');

  /** POST /contracts: creates a draft (the seller defaults to the applicant's organisation). */
  router.post('/contracts', authorize('contracts.file'), async (req, res) => {
    const { contract } = await createDraft(requireUser(res), req.body ?? {});
    res.status(201).json(toApi(contract, lang(res), audienceOf(res)));
  });

  /** GET /contracts?status=&year=&q=&page=&pageSize= */
  router.get('/contracts', authorize('contracts.read'), async (req, res) => {
    const { items, page, pageSize, total } = await listContracts(requireUser(res), req.query);
    res.json({ items: items.map((c) => toApi(c, lang(res), audienceOf(res))), page, pageSize, total });
  });

  /** GET /contracts/{id} */
  router.get('/contracts/:id', authorize('contracts.read'), async (req, res) => {
    res.json(toApi(await loadContract(requireUser(res), req.params.id as string), lang(res), audienceOf(res)));
  });

  /** PATCH /contracts/{id}: changes a draft or returned filing. */
  router.patch('/contracts/:id', authorize('contracts.file'), async (req, res) => {
    const { contract } = await updateDraft(requireUser(res), req.params.id as string, req.body ?? {});
    res.json(toApi(contract, lang(res), audienceOf(res)));
  });

  /**
   * DELETE /contracts/{id}: deletes a draft and its PDFs (204); 409 once it has been submitted
   * (or is anything but a draft), 404 for another organisation's.
   */
  router.delete('/contracts/:id', authorize('contracts.file'), async (req, res) => {
    await deleteDraft(requireUser(res), req.params.id as string);
    res.status(204).end();
  });

  /** POST /contracts/{id}/attachments: multipart field `file`, a PDF of at most 20 MB. */
  router.post('/contracts/:id/attachments', authorize('contracts.file'), singlePdfUpload, async (req, res) => {
    res.status(201).json(await addAttachment(requireUser(res), req.params.id as string, req.file));
  });

  /** GET /contracts/{id}/attachments/{attachmentId}: the PDF, to its organisation and the bureau. */
  router.get('/contracts/:id/attachments/:attachmentId', authorize('contracts.read'), async (req, res) => {
    const att = await findAttachment(requireUser(res), req.params.id as string, req.params.attachmentId as string);
    await sendAttachment(res, att, req.query.inline === '1');
  });

  /** DELETE /contracts/{id}/attachments/{attachmentId} */
  router.delete('/contracts/:id/attachments/:attachmentId', authorize('contracts.file'), async (req, res) => {
    await removeAttachment(requireUser(res), req.params.id as string, req.params.attachmentId as string);
    res.status(204).end();
  });

  /** POST /contracts/{id}/submit: 202 once saved as submitted; verification follows. */
  router.post('/contracts/:id/submit', authorize('contracts.file'), async (req, res) => {
    // The acceptance receipt's number and deadline are not in this answer (its shape is fixed by
    // the tests); GET /contracts/{id}/receipt.pdf has them.
    const { status, queued } = await submitContract(deps, requireUser(res), req.params.id as string);
    res.status(202).json({ status, queued });
  });

  /**
   * GET /contracts/{id}/receipt.pdf: the acceptance receipt (受理回执) of the latest submission,
   * to its organisation and the bureau; 409 before the first submission. Rendered on demand.
   */
  router.get('/contracts/:id/receipt.pdf', authorize('contracts.read'), async (req, res) => {
    const doc = await loadContract(requireUser(res), req.params.id as string);
    const acceptance = await ensureAcceptance(doc);
    const pdf = await renderReceipt(
      receiptData(doc, acceptance, { lang: lang(res), agencyName: lang(res) === 'en' ? deps.config.agency.nameEn : deps.config.agency.nameZh, publicUrl: deps.config.publicUrl }),
      res.locals.t,
      lang(res),
    );
    res.set({
      'Content-Type': 'application/pdf',
      'Content-Length': String(pdf.length),
      'Content-Disposition': contentDisposition(`receipt-${acceptance.number}.pdf`, { type: req.query.inline === '1' ? 'inline' : 'attachment' }),
      'Cache-Control': 'private, no-store',
    });
    res.end(pdf);
  });

  /** POST /contracts/{id}/withdraw */
  router.post('/contracts/:id/withdraw', authorize('contracts.file'), async (req, res) => {
    const note = typeof req.body?.note === 'string' ? req.body.note.slice(0, 1000) : null;
    res.json(await withdrawContract(requireUser(res), req.params.id as string, note));
  });

  return router;
}
