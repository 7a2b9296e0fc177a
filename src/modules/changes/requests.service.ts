/**
 * Changes (变更登记) and cancellations (注销登记) of registered contracts, as their applicants
 * file them (API.md "After registration"): create with a reason (a change with only the fields
 * that change), attach the supplementary or termination agreement, submit, withdraw, read.
 */
import { Types } from 'mongoose';
import { z } from 'zod';
import { mergeFields, parseContractInput, submissionIssues, type ContractFields, type Issue, type ParsedFields, type Party } from '../../domain/contract-input';
import { formatYuan } from '../../domain/money';
import { isOpenRequest, OPEN_REQUEST_STATUSES, type RequestKind } from '../../domain/statuses';
import { cstDate, cstIso } from '../../domain/time';
import { AppError, conflict, notFound } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { enqueue, type Queues } from '../../lib/queues';
import { changeIf, updateIf } from '../../lib/transitions';
import { parseInput, text } from '../../lib/validation';
import type { CurrentUser } from '../accounts/current-user';
import { deletePdf, inspectPdf, MAX_ATTACHMENT_BYTES, safeFilename, storePdf } from '../contracts/attachments.store';
import { Contract, type ContractDoc } from '../contracts/contract.model';
import { decisionView, fieldsOf, historyEntry, loadContract, partyFor, requireApplicant, withStoredIdNumbers, type UploadedFile } from '../contracts/contracts.service';
import { RegistrationRequest, type RequestDoc } from '../contracts/request.model';
export { requestsOf } from '../contracts/request.model';
import { releaseRequestSlot, takeRequestSlot } from '../contracts/requests.slot';
import { findingFor, type Finding } from '../../domain/checks';
import { getOrganization } from '../organizations/organizations.service';

/** Fields a change may not touch: the registrant's identity (the seller's name, code, nature, region), the direction, the declaration. */
const FIXED_PARTY_KEYS = ['name', 'uscc', 'nature', 'regionCode'] as const;

export const changeSchema = z.object({ reason: text(2000), fields: z.record(z.string(), z.unknown()) });
export const cancellationSchema = z.object({ reason: text(2000) });

const notRegistered = (status: string) => conflict('CONTRACT_NOT_REGISTERED', 'errors.contractNotRegistered', { current: { status } });
const requestOpen = (requestId: string) => conflict('REQUEST_ALREADY_OPEN', 'errors.requestAlreadyOpen', { current: { requestId } });
const notEditable = (status: string) => conflict('REQUEST_NOT_EDITABLE', 'errors.requestNotEditable', { current: { status } });

/** The change as stored: only what changes; the registrant's identity and the direction stay as registered. */
function parseChanges(contract: ContractDoc, raw: Record<string, unknown>, forms = false): ParsedFields {
  // A masked ID number sent back unchanged keeps the registered one (as for drafts).
  const { values, issues } = parseContractInput(withStoredIdNumbers(raw, fieldsOf(contract)), { forms });
  if (issues.length) throw new AppError('VALIDATION_FAILED', { details: issues.map((i) => ({ ...i, path: `fields.${i.path}` })) });
  const changes: ParsedFields = { ...values };
  delete changes.declaration;
  delete changes.direction;
  if (changes.seller) {
    const own = contract.seller ?? {};
    changes.seller = { ...changes.seller, ...Object.fromEntries(FIXED_PARTY_KEYS.map((k) => [k, (own as Record<string, unknown>)[k]]).filter(([, v]) => v != null)) };
  }
  const current = fieldsOf(contract) as Record<string, unknown>;
  // Only real differences: a field sent with its registered value is not a change.
  for (const [k, v] of Object.entries(changes)) {
    if (JSON.stringify(v ?? null) === JSON.stringify(current[k] ?? null)) delete (changes as Record<string, unknown>)[k];
  }
  if (!Object.keys(changes).length) throw new AppError('VALIDATION_FAILED', { code: 'NOTHING_CHANGES', details: [{ path: 'fields', message: 'validation.nothingChanges' }] });
  return changes;
}

/** Opens a change or a cancellation on the applicant's registered contract: 409 unless registered, or while another request is open. */
export async function createRequest(user: CurrentUser, contractId: string, kind: RequestKind, input: unknown, { forms = false } = {}): Promise<RequestDoc> {
  requireApplicant(user);
  const contract = await loadContract(user, contractId); // 404 for anyone else's
  if (contract.status !== 'registered') throw notRegistered(contract.status);
  const parsed = kind === 'change' ? parseInput(changeSchema, input ?? {}) : { ...parseInput(cancellationSchema, input ?? {}), fields: undefined };
  const changes = kind === 'change' ? parseChanges(contract, parsed.fields ?? {}, forms) : {};
  const id = new Types.ObjectId();
  const slot = await takeRequestSlot(contract._id, id);
  if (!slot.taken) throw slot.reason === 'open' ? requestOpen(slot.requestId) : notRegistered(slot.status);
  try {
    const doc = await RegistrationRequest.create({
      _id: id,
      contractId: contract._id,
      organizationId: contract.organizationId,
      kind,
      status: 'draft',
      reason: parsed.reason,
      changes,
      contractTitle: contract.title ?? '',
      contractType: contract.type ?? null,
      registrationNumber: contract.registrationNumber ?? null,
      searchText: contract.searchText ?? '',
      history: [historyEntry(user, 'created', parsed.reason)],
      createdBy: new Types.ObjectId(user.id),
    });
    return doc.toObject() as RequestDoc;
  } catch (err) {
    await releaseRequestSlot(contract._id, id);
    throw err;
  }
}

/** The request if `user` may see it: its organisation's, or any for the bureau. Else 404. */
export async function loadRequest(user: CurrentUser, id: string): Promise<RequestDoc> {
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const doc = (await RegistrationRequest.findById(id).lean()) as RequestDoc | null;
  if (!doc) throw notFound();
  if (user.role === 'applicant' && String(doc.organizationId) !== user.organizationId) throw notFound();
  return doc;
}

/** Changes a draft or returned change request: a new reason and/or new fields. */
export async function updateRequest(user: CurrentUser, id: string, input: unknown): Promise<RequestDoc> {
  requireApplicant(user);
  const doc = await loadRequest(user, id);
  if (!['draft', 'returned'].includes(doc.status)) throw notEditable(doc.status);
  const body = parseInput(z.object({ reason: text(2000).optional(), fields: z.record(z.string(), z.unknown()).optional() }), input ?? {});
  const set: Record<string, unknown> = {};
  if (body.reason) set.reason = body.reason;
  if (body.fields && doc.kind === 'change') {
    const contract = (await Contract.findById(doc.contractId).lean()) as ContractDoc;
    set.changes = parseChanges(contract, body.fields);
  }
  const after = await updateIf<RequestDoc>(RegistrationRequest, { _id: doc._id, version: doc.version, status: { $in: ['draft', 'returned'] } }, { $set: set });
  if (!after) throw notEditable((await loadRequest(user, id)).status);
  return after;
}

/** Adds the supplementary (or termination) agreement, a PDF checked by content, to a draft or returned request. */
export async function addRequestAttachment(user: CurrentUser, id: string, file: UploadedFile | undefined) {
  requireApplicant(user);
  const before = await loadRequest(user, id);
  if (!['draft', 'returned'].includes(before.status)) throw notEditable(before.status);
  if (!file) throw new AppError('VALIDATION_FAILED', { details: [{ path: 'file', message: 'validation.fileRequired' }] });
  if (file.size > MAX_ATTACHMENT_BYTES) throw new AppError('PAYLOAD_TOO_LARGE', { code: 'FILE_TOO_LARGE' });
  const { pages } = await inspectPdf(file.buffer);
  const filename = safeFilename(file.originalname);
  const fileId = await storePdf(file.buffer, filename, { requestId: id, organizationId: String(before.organizationId) });
  const attachment = { id: fileId, filename, size: file.size, pages, uploadedAt: new Date(), uploadedBy: new Types.ObjectId(user.id) };
  const added = await changeIf(
    RegistrationRequest,
    { _id: before._id, status: { $in: ['draft', 'returned'] }, 'attachments.19': { $exists: false } },
    { $push: { attachments: attachment } },
  );
  if (!added) {
    await deletePdf(fileId).catch(() => undefined); // no orphan in GridFS
    const now = await loadRequest(user, id);
    if (!['draft', 'returned'].includes(now.status)) throw notEditable(now.status);
    throw new AppError('VALIDATION_FAILED', { details: [{ path: 'file', message: 'validation.tooManyFiles', params: { max: 20 } }] });
  }
  return { id: fileId, filename, size: file.size };
}

export function findRequestAttachment(doc: RequestDoc, attachmentId: string) {
  const att = (doc.attachments ?? []).find((a) => a.id === attachmentId);
  if (!att) throw notFound();
  return att;
}

/** The contract as it would be after the change (for checks, the review page and the approval). */
export function mergedFields(contract: ContractDoc, r: Pick<RequestDoc, 'kind' | 'changes'>): ContractFields {
  return r.kind === 'change' ? mergeFields(fieldsOf(contract), (r.changes ?? {}) as ParsedFields) : fieldsOf(contract);
}

/** What stands between a request and its submission. */
export function requestProblems(contract: ContractDoc, r: RequestDoc, today = cstDate(new Date())): Issue[] {
  const issues: Issue[] = r.kind === 'change' ? submissionIssues(mergedFields(contract, r), today).map((i) => ({ ...i, path: `fields.${i.path}` })) : [];
  if (!(r.attachments ?? []).length) issues.push({ path: 'attachments', message: 'validation.pdfRequired' });
  return issues;
}

export interface RequestDeps {
  queues: Queues;
  logger: Logger;
}

export const requestVerificationJobId = (requestId: string, submission: number) => `verify-request-${requestId}-${submission}`;

/** Submits a draft or returned request for review; verification follows (or the sweeper queues it when Redis is away). */
export async function submitRequest(deps: RequestDeps, user: CurrentUser, id: string): Promise<{ status: 'submitted'; queued: boolean }> {
  const organizationId = requireApplicant(user);
  const doc = await loadRequest(user, id);
  const refuse = (status: string) => conflict('REQUEST_NOT_SUBMITTABLE', 'errors.requestNotSubmittable', { current: { status } });
  if (!['draft', 'returned'].includes(doc.status)) throw refuse(doc.status);
  const org = await getOrganization(organizationId);
  if (org?.status !== 'verified') throw new AppError('FORBIDDEN', { code: 'ORGANIZATION_NOT_VERIFIED', messageKey: 'errors.organizationNotVerified' });
  const contract = (await Contract.findById(doc.contractId).lean()) as ContractDoc;
  if (contract.status !== 'registered') throw notRegistered(contract.status);
  const issues = requestProblems(contract, doc);
  if (issues.length) throw new AppError('VALIDATION_FAILED', { code: 'FILING_INCOMPLETE', details: issues });
  const submission = (doc.submissionCount ?? 0) + 1;
  const submitted = await changeIf(
    RegistrationRequest,
    { _id: doc._id, version: doc.version, status: { $in: ['draft', 'returned'] } },
    { $set: { status: 'submitted', submissionCount: submission, submittedAt: new Date(), decisionDeadline: null }, $push: { history: historyEntry(user, 'submitted') } },
  );
  if (!submitted) throw refuse((await loadRequest(user, id)).status);
  try {
    await enqueue(deps.queues, 'verification', 'verify-request', { requestId: id, submission }, requestVerificationJobId(id, submission));
    return { status: 'submitted', queued: true };
  } catch (err) {
    deps.logger.warn({ requestId: id, err: (err as Error).message }, 'request verification not enqueued; the sweeper will');
    return { status: 'submitted', queued: false };
  }
}

/** Enqueues verification for every submitted request (safe at any time: same job ids; the processor skips what moved on). */
export async function requeueSubmittedRequests(queues: Queues): Promise<number> {
  const submitted = await RegistrationRequest.find({ status: 'submitted' }).select({ _id: 1, submissionCount: 1 }).lean();
  for (const r of submitted) await enqueue(queues, 'verification', 'verify-request', { requestId: String(r._id), submission: r.submissionCount ?? 1 }, requestVerificationJobId(String(r._id), r.submissionCount ?? 1));
  return submitted.length;
}

/** Withdraws a request before the bureau decides; the contract's slot is free again. */
export async function withdrawRequest(user: CurrentUser, id: string): Promise<{ status: 'withdrawn' }> {
  requireApplicant(user);
  const doc = await loadRequest(user, id);
  const refuse = (status: string) => conflict('REQUEST_NOT_WITHDRAWABLE', 'errors.requestNotWithdrawable', { current: { status } });
  if (!isOpenRequest(doc.status)) throw refuse(doc.status);
  const done = await changeIf(
    RegistrationRequest,
    { _id: doc._id, status: { $in: OPEN_REQUEST_STATUSES } },
    { $set: { status: 'withdrawn' }, $push: { history: historyEntry(user, 'withdrawn') } },
  );
  if (!done) throw refuse((await loadRequest(user, id)).status);
  await releaseRequestSlot(doc.contractId, doc._id);
  return { status: 'withdrawn' };
}

// ── Output ─────────────────────────────────────────────────────────────────────────────

/** Stored field values in the API's form (amounts as strings; a person's ID number masked but for the bureau). */
export function changesToApi(changes: Record<string, unknown>, audience: 'applicant' | 'bureau'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(changes ?? {})) {
    if (k === 'seller') out.seller = partyFor(v as Party | null, audience);
    else if (k === 'buyers' || k === 'coSellers') out[k] = Array.isArray(v) ? v.map((p: Party) => partyFor(p, audience)) : v;
    else if (k === 'contractAmountFen') out.contractAmount = typeof v === 'number' ? formatYuan(v) : null;
    else if (k === 'technicalAmountFen') out.technicalAmount = typeof v === 'number' ? formatYuan(v) : null;
    else if (k === 'deductions') out.deductions = Array.isArray(v) ? v.map((d: { item: string; amountFen: number }) => ({ item: d.item, amount: formatYuan(d.amountFen) })) : null;
    else out[k] = v;
  }
  return out;
}

/** The API shape of a request (API.md). */
export function requestToApi(doc: RequestDoc, lang: string, audience: 'applicant' | 'bureau') {
  const decision = decisionView({ status: doc.status, decision: doc.decision, revokedAt: null, history: doc.history as never }, lang);
  return {
    id: String(doc._id),
    contractId: String(doc.contractId),
    kind: doc.kind,
    status: doc.status,
    reason: doc.reason,
    fields: changesToApi(doc.changes as Record<string, unknown>, audience),
    before: doc.applied?.before ? changesToApi(doc.applied.before as Record<string, unknown>, audience) : null,
    registrationNumber: doc.registrationNumber ?? null,
    version: doc.applied?.version ?? null,
    attachments: (doc.attachments ?? []).map((a) => ({ id: a.id, filename: a.filename, size: a.size })),
    submittedAt: doc.submittedAt ? cstIso(doc.submittedAt) : null,
    decisionDeadline: doc.decisionDeadline ?? null,
    expertReview: Boolean(doc.expertReview),
    findings: (doc.findings ?? [])
      .map((x) => findingFor(x as Finding, audience))
      .map((x) => ({ code: x.code, severity: x.severity, message: lang === 'en' ? x.messageEn : x.message })),
    history: (doc.history ?? []).map((h) => ({ at: cstIso(new Date(h.at!)), actor: h.actorName ?? (h.actorId ? String(h.actorId) : null), action: h.action, note: h.note ?? null })),
    // An approved cancellation is the contract's cancellation.
    decision: decision && doc.kind === 'cancellation' && decision.kind === 'registered' ? { ...decision, kind: 'cancelled' as const } : decision,
    createdAt: cstIso(doc.createdAt),
    updatedAt: cstIso(doc.updatedAt),
  };
}
