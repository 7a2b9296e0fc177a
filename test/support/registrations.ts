/** Registered contracts and their change or cancellation requests, made through the API (and, for earlier years, as the decision path leaves them). */
import request from 'supertest';
import type { Express } from 'express';
import { verifyRequest } from '../../src/modules/changes/request-decisions.service';
import { Contract } from '../../src/modules/contracts/contract.model';
import { RegistrationRequest } from '../../src/modules/contracts/request.model';
import { numberRegistration } from '../../src/modules/registrations/registration-numbers';
import { applyPending, recordTallyEvent } from '../../src/modules/turnover/turnover.service';
import { bearer, inReviewContract, makePdf, readyDraft } from './fixtures';

/** A filing approved by `reviewer` (a token): registered now. */
export async function registeredContract(app: Express, token: string, reviewer: string, over: Record<string, unknown> = {}): Promise<string> {
  const id = await inReviewContract(app, token, over);
  await request(app).post(`/api/v1/contracts/${id}/approve`).set(bearer(reviewer)).send({}).expect(200);
  return id;
}

/** Files a request with its PDF, submits it and runs its verification: it is then in review. */
export async function requestInReview(app: Express, token: string, contractId: string, kind: 'change' | 'cancellation', body: Record<string, unknown>): Promise<string> {
  const path = kind === 'change' ? 'changes' : 'cancellation';
  const created = await request(app).post(`/api/v1/contracts/${contractId}/${path}`).set(bearer(token)).send(body).expect(201);
  expect(created.body).toMatchObject({ kind, status: 'draft', contractId });
  const rid = created.body.id as string;
  await request(app).post(`/api/v1/requests/${rid}/attachments`).set(bearer(token)).attach('file', await makePdf('Supplementary agreement'), { filename: 'agreement.pdf', contentType: 'application/pdf' }).expect(201);
  const submitted = await request(app).post(`/api/v1/requests/${rid}/submit`).set(bearer(token));
  expect([submitted.status, submitted.body.error?.details]).toEqual([202, undefined]);
  const doc = await RegistrationRequest.findById(rid).lean();
  expect(await verifyRequest(rid, doc!.submissionCount, '630100')).toBe('verified');
  return rid;
}

/** A contract registered in an earlier year, as the decision path leaves it (number, ledger entry, applied tally). */
export async function registeredIn(app: Express, year: number, token: string, amount: string): Promise<string> {
  const id = await readyDraft(app, token, { contractAmount: amount, technicalAmount: amount, deductions: [] });
  const at = new Date(`${year}-06-01T02:00:00Z`);
  await Contract.updateOne({ _id: id }, { $set: { status: 'registered', registeredAt: at, registrationYear: year, registrationVersion: 1, certificateFileId: null } });
  await numberRegistration((await Contract.findById(id).lean())!, '630100');
  await recordTallyEvent('registered', (await Contract.findById(id).lean())!, '630100');
  await applyPending(year);
  return id;
}
