/**
 * Contract filing for applicants: drafts, attachments, submission, withdrawal, lists.
 * Plain values in and out; every write is a version-claimed transition (lib/transitions).
 */
import { Types } from 'mongoose';
import { z } from 'zod';
import { CONTRACT_TYPES, REFUSAL_REASON_TEXTS } from '../../domain/codes';
import {
  mergeFields,
  parseContractInput,
  submissionIssues,
  type ContractFields,
  type Issue,
  type Party,
} from '../../domain/contract-input';
import { formatYuan } from '../../domain/money';
import { cstDate, cstIso } from '../../domain/time';
import { AppError, conflict, notFound } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { Queues } from '../../lib/queues';
import { atVersion, changeIf, updateIf, updateLatest } from '../../lib/transitions';
import { escapeRegex, parseInput } from '../../lib/validation';
import type { CurrentUser } from '../accounts/current-user';
import { getOrganization } from '../organizations/organizations.service';
import { deletePdf, inspectPdf, MAX_ATTACHMENT_BYTES, safeFilename, storePdf } from './attachments.store';
import { Contract, CONTRACT_STATUSES, EDITABLE_STATUSES, WITHDRAWABLE_STATUSES, type ContractDoc, type ContractStatus } from './contract.model';
import { enqueueVerification } from './contracts.jobs';
import { findingFor, type Finding } from '../../domain/checks';

export type ContractRecord = ContractDoc;

const FIELD_KEYS: (keyof ContractFields)[] = [
  'title', 'contractNumber', 'type', 'subtype', 'signedOn', 'validFrom', 'validTo', 'contractAmountFen', 'technicalAmountFen',
  'deductions', 'paymentMethod', 'relatedParty', 'planSource', 'ipType', 'technicalField', 'socioEconomicObjective',
  'priorityArea', 'seller', 'buyers', 'declaration',
];

/** The filing's fields as stored, without Mongoose's empty values. */
export function fieldsOf(doc: ContractRecord): ContractFields {
  const out: Record<string, unknown> = {};
  for (const k of FIELD_KEYS) {
    const v = (doc as Record<string, unknown>)[k];
    if (v !== undefined && v !== null) out[k] = v;
  }
  return out as ContractFields;
}

/**
 * The text the searches match: public fields only (title, registration number, the parties'
 * names), since the public register searches it too. The parties' own contract number is not
 * public: the applicant's and the bureau's searches match it separately (see textFilter).
 */
export function searchTextOf(f: Pick<ContractFields, 'title' | 'seller' | 'buyers'>, registrationNumber?: string | null): string {
  return [f.title, registrationNumber, f.seller?.name, ...(f.buyers ?? []).map((b) => b.name)]
    .filter(Boolean)
    .join(' ')
    .toLowerCase();
}

/** The filter for a free-text search: public fields, and for the parties and the bureau also the contract number. */
export function textFilter(q: string, audience: 'public' | 'private'): Record<string, unknown> {
  const text = { searchText: { $regex: escapeRegex(q.toLowerCase()) } };
  return audience === 'public' ? text : { $or: [text, { contractNumber: { $regex: escapeRegex(q), $options: 'i' } }] };
}

/** Once over existing data: search texts written before contract numbers were left out of them. */
export async function rebuildSearchTexts(): Promise<number> {
  let changed = 0;
  const cursor = Contract.find({}).select({ title: 1, seller: 1, buyers: 1, registrationNumber: 1, searchText: 1 }).lean().cursor();
  let batch: { updateOne: { filter: Record<string, unknown>; update: Record<string, unknown> } }[] = [];
  for await (const c of cursor as AsyncIterable<ContractDoc>) {
    const text = searchTextOf(c as unknown as ContractFields, c.registrationNumber);
    if (text === c.searchText) continue;
    batch.push({ updateOne: { filter: { _id: c._id }, update: { $set: { searchText: text } } } });
    if (batch.length === 500) {
      changed += (await Contract.bulkWrite(batch, { ordered: false })).modifiedCount;
      batch = [];
    }
  }
  if (batch.length) changed += (await Contract.bulkWrite(batch, { ordered: false })).modifiedCount;
  return changed;
}

/** The `$set` that stores a complete set of fields (absent ones are cleared). */
function fieldsSet(f: ContractFields, registrationNumber?: string | null): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  for (const k of FIELD_KEYS) set[k] = f[k] ?? null;
  set.signedYear = f.signedOn ? Number(f.signedOn.slice(0, 4)) : null;
  set.searchText = searchTextOf(f, registrationNumber);
  return set;
}

const historyEntry = (user: CurrentUser | null, action: string, note: string | null = null) => ({
  at: new Date(),
  actorId: user ? new Types.ObjectId(user.id) : null,
  actorName: user?.name ?? null,
  action,
  note,
});

// ── Reading ────────────────────────────────────────────────────────────────────────────

/** The contract if `user` may see it: its own organisation's, or any for the bureau. Else 404. */
export async function loadContract(user: CurrentUser, id: string): Promise<ContractRecord> {
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const doc = (await Contract.findById(id).lean()) as ContractRecord | null;
  if (!doc) throw notFound();
  if (user.role === 'applicant' && String(doc.organizationId) !== user.organizationId) throw notFound();
  return doc;
}

export const listQuerySchema = z.object({
  status: z.enum(CONTRACT_STATUSES).optional().or(z.literal('').transform(() => undefined)),
  year: z.coerce.number().int().min(1949).max(2200).optional().or(z.literal('').transform(() => undefined)),
  q: z.string().trim().max(100).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
});
export type ListQuery = z.output<typeof listQuerySchema>;

/** Applicants see their organisation's contracts; the bureau sees all. Newest change first. */
export async function listContracts(user: CurrentUser, rawQuery: unknown) {
  const q = parseInput(listQuerySchema, rawQuery);
  const filter: Record<string, unknown> = {};
  if (user.role === 'applicant') filter.organizationId = new Types.ObjectId(user.organizationId!);
  if (q.status) filter.status = q.status;
  if (q.year) filter.signedYear = q.year;
  if (q.q) Object.assign(filter, textFilter(q.q, 'private'));
  const [items, total] = await Promise.all([
    Contract.find(filter)
      .sort({ updatedAt: -1, _id: -1 })
      .skip((q.page - 1) * q.pageSize)
      .limit(q.pageSize)
      .select({ history: 0, draftRaw: 0, findings: 0 })
      .lean(),
    Contract.countDocuments(filter),
  ]);
  return { items: items as ContractRecord[], page: q.page, pageSize: q.pageSize, total, query: q };
}

// ── Writing ────────────────────────────────────────────────────────────────────────────

function requireApplicant(user: CurrentUser): string {
  if (user.role !== 'applicant' || !user.organizationId) throw new AppError('FORBIDDEN');
  return user.organizationId;
}

const notEditable = (status: string) => conflict('CONTRACT_NOT_EDITABLE', 'errors.contractNotEditable', { current: { status } });

/**
 * Changes the applicant's document with `change` (which sees the latest version and returns
 * the `$set`), applied only at the version it saw and retried when another writer got in
 * first: edits should not fail just because something else changed the document a moment earlier.
 * `withoutResult`: the caller does not use the changed document (what is returned is the one read).
 */
async function mutate(
  user: CurrentUser,
  id: string,
  change: (doc: ContractRecord) => Record<string, unknown>,
  readBefore?: ContractRecord,
  opts: { withoutResult?: boolean } = {},
): Promise<ContractRecord> {
  const read = readBefore ?? (await loadContract(user, id)); // 404 for anyone else's
  try {
    return (await updateLatest<ContractRecord>(Contract, id, (doc) => ({ $set: change(doc) }), { read, ...opts })).doc;
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (/too many concurrent changes/.test((err as Error).message)) throw conflict('CONTRACT_BUSY', 'errors.contractBusy');
    throw err;
  }
}

/** The seller defaults to the applicant's own organisation. */
async function sellerDefaults(organizationId: string): Promise<Party> {
  const org = await getOrganization(organizationId);
  if (!org) return {};
  return { name: org.name, uscc: org.uscc, nature: org.nature, regionCode: org.regionCode, ...(org.address ? { address: org.address } : {}) };
}

/**
 * The registrant is the seller (DOMAIN.md): its name, credit code, nature and region are the
 * verified organisation's, whatever was sent. Only contact details are the applicant's to fill.
 */
function withOwnSeller(fields: ContractFields, own: Party): ContractFields {
  return { ...fields, seller: { ...fields.seller, name: own.name, uscc: own.uscc, nature: own.nature, regionCode: own.regionCode } };
}

export interface SaveOptions {
  /** Values come from the filing form (grouped amounts, checkboxes). */
  forms?: boolean;
  /**
   * Keep invalid values as typed (the page's "save draft") instead of refusing the request
   * (the API). The problems are returned so the page can show them.
   */
  keepInvalid?: boolean;
  /** The raw strings of the form, to keep those whose value is invalid. */
  raw?: Map<string, string>;
}

function rawEntries(issues: Issue[], raw: Map<string, string> | undefined) {
  return issues.filter((i) => raw?.has(i.path)).map((i) => ({ path: i.path, value: raw!.get(i.path)! }));
}

/** Creates a draft. The API refuses invalid values; the form keeps them as typed. */
export async function createDraft(user: CurrentUser, input: unknown, opts: SaveOptions = {}): Promise<{ contract: ContractRecord; issues: Issue[] }> {
  const organizationId = requireApplicant(user);
  const { values, issues } = parseContractInput(input, { forms: opts.forms });
  if (issues.length && !opts.keepInvalid) throw new AppError('VALIDATION_FAILED', { details: issues });
  const own = await sellerDefaults(organizationId);
  const fields = withOwnSeller(mergeFields({ seller: own }, values), own);
  const doc = await Contract.create({
    organizationId: new Types.ObjectId(organizationId),
    status: 'draft',
    ...fieldsSet(fields),
    draftRaw: rawEntries(issues, opts.raw),
    history: [historyEntry(user, 'created')],
    createdBy: new Types.ObjectId(user.id),
  });
  return { contract: doc.toObject() as ContractRecord, issues };
}

/** Changes a draft or returned filing: present fields replace, null clears. */
export async function updateDraft(user: CurrentUser, id: string, input: unknown, opts: SaveOptions = {}): Promise<{ contract: ContractRecord; issues: Issue[] }> {
  const organizationId = requireApplicant(user);
  const { values, issues } = parseContractInput(input, { forms: opts.forms });
  if (issues.length && !opts.keepInvalid) {
    await loadContract(user, id); // 404 before 422 for someone else's contract
    throw new AppError('VALIDATION_FAILED', { details: issues });
  }
  const own = await sellerDefaults(organizationId);
  const contract = await mutate(user, id, (doc) => {
    if (!EDITABLE_STATUSES.includes(doc.status as ContractStatus)) throw notEditable(doc.status);
    const fields = withOwnSeller(mergeFields(fieldsOf(doc), values), own);
    // A form save replaces every field, so only its own invalid entries remain; an API
    // patch clears the entries of the fields it set.
    const keptRaw = opts.forms ? [] : (doc.draftRaw ?? []).filter((r) => !Object.keys(values).some((k) => r.path === k || String(r.path).startsWith(`${k}.`)));
    const last = doc.history[doc.history.length - 1];
    const recentlyUpdated = last?.action === 'updated' && String(last.actorId) === user.id && Date.now() - new Date(last.at).getTime() < 10 * 60_000;
    return {
      ...fieldsSet(fields, doc.registrationNumber),
      draftRaw: [...keptRaw, ...rawEntries(issues, opts.raw)],
      // One "updated" entry per editing session, not one per keystroke-save.
      history: recentlyUpdated ? doc.history : [...doc.history, historyEntry(user, 'updated')],
    };
  });
  return { contract, issues };
}

export interface UploadedFile {
  buffer: Buffer;
  originalname?: string;
  size: number;
}

/** Adds a signed-contract PDF (checked by content) to a draft or returned filing. */
export async function addAttachment(user: CurrentUser, id: string, file: UploadedFile | undefined) {
  requireApplicant(user);
  const before = await loadContract(user, id);
  if (!EDITABLE_STATUSES.includes(before.status as ContractStatus)) throw notEditable(before.status);
  if (!file) throw new AppError('VALIDATION_FAILED', { details: [{ path: 'file', message: 'validation.fileRequired' }] });
  if (file.size > MAX_ATTACHMENT_BYTES) throw new AppError('PAYLOAD_TOO_LARGE', { code: 'FILE_TOO_LARGE' });
  const { pages } = await inspectPdf(file.buffer);
  const filename = safeFilename(file.originalname);
  const fileId = await storePdf(file.buffer, filename, { contractId: id, organizationId: String(before.organizationId) });
  const attachment = { id: fileId, filename, size: file.size, pages, uploadedAt: new Date(), uploadedBy: new Types.ObjectId(user.id) };
  try {
    await mutate(user, id, (doc) => {
      if (!EDITABLE_STATUSES.includes(doc.status as ContractStatus)) throw notEditable(doc.status);
      if (doc.attachments.length >= 20) throw new AppError('VALIDATION_FAILED', { details: [{ path: 'file', message: 'validation.tooManyFiles', params: { max: 20 } }] });
      return { attachments: [...doc.attachments, attachment] };
    }, before, { withoutResult: true });
  } catch (err) {
    // The filing could not take the file: do not keep an orphan in GridFS.
    await deletePdf(fileId).catch(() => undefined);
    throw err;
  }
  return { id: fileId, filename, size: file.size };
}

export async function removeAttachment(user: CurrentUser, id: string, attachmentId: string): Promise<void> {
  requireApplicant(user);
  let removed = false;
  await mutate(user, id, (doc) => {
    if (!EDITABLE_STATUSES.includes(doc.status as ContractStatus)) throw notEditable(doc.status);
    if (!doc.attachments.some((a) => a.id === attachmentId)) throw notFound();
    removed = true;
    return { attachments: doc.attachments.filter((a) => a.id !== attachmentId) };
  });
  if (removed) await deletePdf(attachmentId);
}

/** Finds the attachment if `user` may read the contract. */
export async function findAttachment(user: CurrentUser, id: string, attachmentId: string) {
  const doc = await loadContract(user, id);
  const att = doc.attachments.find((a) => a.id === attachmentId);
  if (!att) throw notFound();
  return att;
}

export interface SubmitDeps {
  queues: Queues;
  logger: Logger;
}

/** Everything standing between a filing and its submission, all at once. */
export function submitProblems(doc: ContractRecord, today = cstDate(new Date())): Issue[] {
  const issues = submissionIssues(fieldsOf(doc), today);
  for (const r of doc.draftRaw ?? []) {
    if (r.path && !issues.some((i) => i.path === r.path)) issues.push({ path: r.path, message: 'validation.invalid' });
  }
  if (!doc.attachments.length) issues.push({ path: 'attachments', message: 'validation.pdfRequired' });
  return issues;
}

/**
 * Submits a draft or returned filing: it becomes `submitted` and a verification job is
 * enqueued. If Redis is away the submission still stands; the worker's sweeper enqueues it.
 */
export async function submitContract(deps: SubmitDeps, user: CurrentUser, id: string): Promise<{ status: 'submitted'; queued: boolean }> {
  const organizationId = requireApplicant(user);
  const doc = await loadContract(user, id);
  if (!EDITABLE_STATUSES.includes(doc.status as ContractStatus)) {
    throw conflict('CONTRACT_NOT_SUBMITTABLE', 'errors.contractNotSubmittable', { current: { status: doc.status } });
  }
  const org = await getOrganization(organizationId);
  if (org?.status !== 'verified') throw new AppError('FORBIDDEN', { code: 'ORGANIZATION_NOT_VERIFIED', messageKey: 'errors.organizationNotVerified' });
  const issues = submitProblems(doc);
  if (issues.length) throw new AppError('VALIDATION_FAILED', { code: 'FILING_INCOMPLETE', details: issues });
  const submission = (doc.submissionCount ?? 0) + 1;
  // At the version checked above: an edit made meanwhile would not have been checked.
  const submitted = await changeIf(
    Contract,
    { ...atVersion(doc), status: { $in: EDITABLE_STATUSES } },
    {
      $set: { status: 'submitted', submissionCount: submission, submittedAt: new Date(), decisionDeadline: null },
      $push: { history: historyEntry(user, 'submitted') },
    },
  );
  if (!submitted) {
    const current = await Contract.findById(id).select({ status: 1 }).lean();
    throw conflict('CONTRACT_NOT_SUBMITTABLE', 'errors.contractNotSubmittable', { current: { status: current?.status ?? doc.status } });
  }
  try {
    await enqueueVerification(deps.queues, id, submission);
    return { status: 'submitted', queued: true };
  } catch (err) {
    deps.logger.warn({ contractId: id, err: (err as Error).message }, 'verification not enqueued; the sweeper will enqueue it');
    return { status: 'submitted', queued: false };
  }
}

/** Withdraws a filing before the bureau decides. */
export async function withdrawContract(user: CurrentUser, id: string, note: string | null = null): Promise<{ status: 'withdrawn' }> {
  requireApplicant(user);
  const doc = await loadContract(user, id);
  const refuse = (status: string) => conflict('CONTRACT_NOT_WITHDRAWABLE', 'errors.contractNotWithdrawable', { current: { status } });
  if (!WITHDRAWABLE_STATUSES.includes(doc.status as ContractStatus)) throw refuse(doc.status);
  const withdrawn = await updateIf(
    Contract,
    { _id: doc._id, status: { $in: WITHDRAWABLE_STATUSES } },
    { $set: { status: 'withdrawn' }, $push: { history: historyEntry(user, 'withdrawn', note) } },
  );
  if (!withdrawn) throw refuse((await Contract.findById(id).select({ status: 1 }).lean())?.status ?? doc.status);
  return { status: 'withdrawn' };
}

// ── Output ─────────────────────────────────────────────────────────────────────────────

const money = (fen: number | null | undefined) => (typeof fen === 'number' ? formatYuan(fen) : null);

/** The API shape of a contract (API.md). */
export interface DecisionView {
  kind: 'registered' | 'returned' | 'refused' | 'revoked';
  reasonCode: number | null;
  /** The official wording of the refusal reason, in the reader's language. */
  reasonText: string | null;
  note: string | null;
  decidedAt: string;
}

/** The bureau's decision on a filing as its readers see it (API.md `decision`); null before one. */
export function decisionView(doc: Pick<ContractRecord, 'status' | 'decision' | 'revokedAt' | 'history'>, lang: string): DecisionView | null {
  if (doc.status === 'revoked' && doc.revokedAt) {
    const entry = [...(doc.history ?? [])].reverse().find((h) => h.action === 'revoked');
    return { kind: 'revoked', reasonCode: null, reasonText: null, note: entry?.note ?? null, decidedAt: cstIso(new Date(doc.revokedAt)) };
  }
  const d = doc.decision;
  if (!d?.action || !d.at || !['registered', 'returned', 'refused'].includes(d.action)) return null;
  const code = typeof d.reasonCode === 'number' ? d.reasonCode : null;
  const text = code === null ? null : REFUSAL_REASON_TEXTS[String(code)];
  return {
    kind: d.action as DecisionView['kind'],
    reasonCode: code,
    reasonText: text ? (lang === 'en' ? text.en : text.zh) : null,
    note: d.note ?? null,
    decidedAt: cstIso(new Date(d.at)),
  };
}

/** A contract as the API shows it; an applicant gets findings without other organisations' data. */
export function toApi(doc: ContractRecord, lang: string, audience: 'applicant' | 'bureau') {
  const f = fieldsOf(doc);
  return {
    id: String(doc._id),
    status: doc.status,
    organizationId: String(doc.organizationId),
    title: f.title ?? null,
    contractNumber: f.contractNumber ?? null,
    type: f.type ?? null,
    subtype: f.subtype ?? null,
    signedOn: f.signedOn ?? null,
    validFrom: f.validFrom ?? null,
    validTo: f.validTo ?? null,
    contractAmount: money(f.contractAmountFen),
    technicalAmount: money(f.technicalAmountFen),
    deductions: (f.deductions ?? []).map((d) => ({ item: d.item, amount: formatYuan(d.amountFen) })),
    seller: f.seller ?? null,
    buyers: f.buyers ?? [],
    technicalField: f.technicalField ?? null,
    ipType: f.ipType ?? null,
    socioEconomicObjective: f.socioEconomicObjective ?? null,
    priorityArea: f.priorityArea ?? null,
    paymentMethod: f.paymentMethod ?? null,
    relatedParty: f.relatedParty ?? null,
    planSource: f.planSource ?? null,
    declaration: f.declaration ?? false,
    attachments: (doc.attachments ?? []).map((a) => ({ id: a.id, filename: a.filename, size: a.size })),
    invalidDraftValues: (doc.draftRaw ?? []).map((r) => ({ path: r.path, value: r.value })),
    registrationNumber: doc.registrationNumber ?? null,
    registeredAt: doc.registeredAt ? cstIso(doc.registeredAt) : null,
    submittedAt: doc.submittedAt ? cstIso(doc.submittedAt) : null,
    decisionDeadline: doc.decisionDeadline ?? null,
    findings: (doc.findings ?? [])
      .map((x) => findingFor(x as Finding, audience))
      .map((x) => ({ code: x.code, severity: x.severity, message: lang === 'en' ? x.messageEn : x.message })),
    history: (doc.history ?? []).map((h) => ({ at: cstIso(new Date(h.at)), actor: h.actorName ?? (h.actorId ? String(h.actorId) : null), action: h.action, note: h.note ?? null })),
    decision: decisionView(doc, lang),
    createdAt: cstIso(doc.createdAt),
    updatedAt: cstIso(doc.updatedAt),
  };
}

export const contractTypeLabel = (type: string | null | undefined, lang: string) =>
  type && type in CONTRACT_TYPES ? CONTRACT_TYPES[type as keyof typeof CONTRACT_TYPES][lang === 'en' ? 'en' : 'zh'] : '';
