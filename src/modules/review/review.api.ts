/** Review decisions and certificates in the JSON API (API.md "Contracts"). */
import { Router } from 'express';
import type { AppDeps } from '../../lib/deps';
import { AppError } from '../../lib/errors';
import { authorize, requireUser } from '../../lib/http/authorize';
import { cstIso } from '../../domain/time';
import { formatYuan } from '../../domain/money';
import { sendAttachment } from '../contracts/contracts.api';
import { loadContract } from '../contracts/contracts.service';
import { loadRelated } from '../contracts/related.service';
import { ensureCertificate } from './certificate';
import { approveContract, refuseContract, returnContract, revokeContract, sendToExpertReview, type ReviewDeps } from './decisions.service';
import { Contract } from '../contracts/contract.model';
import { listReviewQueue } from './queue.service';

export function reviewDeps(deps: AppDeps): ReviewDeps {
  return { queues: deps.queues, logger: deps.logger, config: deps.config, redis: deps.redis };
}

export function reviewApi(deps: AppDeps): Router {
  const router = Router();
  const rd = reviewDeps(deps);

  /** POST /contracts/{id}/approve: registers the contract; 409 unless in review. */
  router.post('/contracts/:id/approve', authorize('contracts.review'), async (req, res) => {
    res.json(await approveContract(rd, requireUser(res), req.params.id as string, req.body, req.ip));
  });

  /** POST /contracts/{id}/return: back to the applicant for correction, with the reason. */
  router.post('/contracts/:id/return', authorize('contracts.review'), async (req, res) => {
    res.json(await returnContract(rd, requireUser(res), req.params.id as string, req.body, req.ip));
  });

  /** POST /contracts/{id}/refuse: one of the nine official reasons (a note is required for 9). */
  router.post('/contracts/:id/refuse', authorize('contracts.review'), async (req, res) => {
    res.json(await refuseContract(rd, requireUser(res), req.params.id as string, req.body, req.ip));
  });

  /** POST /contracts/{id}/expert-review: a disputed filing goes to expert review with a note (30 working days from today). */
  router.post('/contracts/:id/expert-review', authorize('contracts.review'), async (req, res) => {
    res.json(await sendToExpertReview(Contract, requireUser(res), req.params.id as string, req.body, { ip: req.ip, targetType: 'contract' }));
  });

  /** POST /contracts/{id}/revoke: an admin revokes a registration, with the reason. */
  router.post('/contracts/:id/revoke', authorize('contracts.revoke'), async (req, res) => {
    res.json(await revokeContract(rd, requireUser(res), req.params.id as string, req.body, req.ip));
  });

  /** GET /contracts/{id}/certificate.pdf: the registration certificate, once registered. */
  router.get('/contracts/:id/certificate.pdf', authorize('contracts.read'), async (req, res) => {
    const doc = await loadContract(requireUser(res), req.params.id as string);
    if (doc.status !== 'registered') {
      throw new AppError('CONFLICT', { code: 'CONTRACT_NOT_REGISTERED', messageKey: 'errors.contractNotRegistered', extra: { current: { status: doc.status } } });
    }
    const { fileId, size } = await ensureCertificate(String(doc._id), deps.config.agency.nameZh, deps.config.publicUrl);
    await sendAttachment(res, { id: fileId, filename: `certificate-${doc.registrationNumber}.pdf`, size }, req.query.inline === '1');
  });

  /** GET /review?status=&type=&deadline=&findings=&minAmount=&maxAmount=&q=&page=&pageSize=: the bureau's queue. */
  router.get('/review', authorize('contracts.review'), async (req, res) => {
    const { items, page, pageSize, total } = await listReviewQueue(req.query);
    res.json({
      items: items.map((c) => ({
        id: String(c._id),
        kind: c.kind,
        contractId: c.contractId,
        status: c.status,
        title: c.title ?? null,
        type: c.type ?? null,
        sellerName: c.seller?.name ?? null,
        contractAmount: typeof c.contractAmountFen === 'number' ? formatYuan(c.contractAmountFen) : null,
        technicalAmount: typeof c.technicalAmountFen === 'number' ? formatYuan(c.technicalAmountFen) : null,
        submittedAt: c.submittedAt ? cstIso(c.submittedAt) : null,
        decisionDeadline: c.decisionDeadline ?? null,
        workingDaysLeft: c.workingDaysLeft,
        urgency: c.urgency,
        expertReview: Boolean(c.expertReview),
        findings: (c.findings ?? []).map((f) => ({ code: f.code, severity: f.severity })),
      })),
      page,
      pageSize,
      total,
    });
  });

  /** GET /related-contracts/{id}/certificate.pdf: the certificate of a registered contract another organisation filed naming the applicant's (404 otherwise). */
  router.get('/related-contracts/:id/certificate.pdf', authorize('contracts.related'), async (req, res) => {
    const doc = await loadRelated(requireUser(res), req.params.id as string);
    if (doc.status !== 'registered') {
      throw new AppError('CONFLICT', { code: 'CONTRACT_NOT_REGISTERED', messageKey: 'errors.contractNotRegistered', extra: { current: { status: doc.status } } });
    }
    const { fileId, size } = await ensureCertificate(String(doc._id), deps.config.agency.nameZh, deps.config.publicUrl);
    await sendAttachment(res, { id: fileId, filename: `certificate-${doc.registrationNumber}.pdf`, size }, req.query.inline === '1');
  });

  return router;
}
