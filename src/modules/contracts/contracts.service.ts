/**
 * Contract filing for applicants: drafts, attachments, submission, withdrawal, lists.
 * Plain values in and out; every write is a version-claimed transition (lib/transitions).
 */
import { Types } from 'mongoose';
import { z } from 'zod';
import { CONTRACT_TYPES, REFUSAL_REASON_TEXTS } from '../../domain/codes';
import {
  issueOfKeptValue,
  mergeFields,
  parseContractInput,
  submissionIssues,
  type ContractFields,
  type Issue,
  type Party,
} from '../../domain/contract-input';
import { isMaskOf, maskResidentId } from '../../domain/resident-id';
import { formatYuan } from '../../domain/money';
import { cstDate, cstIso } from '../../domain/time';
import { AppError, conflict, notFound } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { Queues } from '../../lib/queues';
import { atVersion, changeIf, updateIf, updateLatest } from '../../lib/transitions';
import { escapeRegex, parseInput } from '../../lib/validation';
import type { CurrentUser } from '../accounts/current-user';
import { getOrganization, rememberContact } from '../organizations/organizations.service';
import { deletePdf, inspectPdf, MAX_ATTACHMENT_BYTES, safeFilename, storePdf } from './attachments.store';
import { Contract, CONTRACT_STATUSES, EDITABLE_STATUSES, WITHDRAWABLE_STATUSES, type ContractDoc, type ContractStatus } from './contract.model';
import { enqueueVerification } from './contracts.jobs';
import { findingFor, type Finding } from '../../domain/checks';
import { acceptanceView, newAcceptance, takeAcceptanceNumber } from './receipt';

export type ContractRecord = ContractDoc;

const FIELD_KEYS: (keyof ContractFields)[] = [
  'direction', 'title', 'contractNumber', 'type', 'subtype', 'signedOn', 'validFrom', 'validTo', 'contractAmountFen', 'technicalAmountFen',
  'deductions', 'paymentMethod', 'relatedParty', 'planSource', 'ipType', 'technicalField', 'socioEconomicObjective',
  'priorityArea', 'seller', 'coSellers', 'buyers', 'declaration',
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
export function searchTextOf(f: Pick<ContractFields, 'title' | 'seller' | 'coSellers' | 'buyers'>, registrationNumber?: string | null): string {
  return [f.title, registrationNumber, f.seller?.name, ...(f.coSellers ?? []).map((c) => c.name), ...(f.buyers ?? []).map((b) => b.name)]
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
  const cursor = Contract.find({}).select({ title: 1, seller: 1, coSellers: 1, buyers: 1, registrationNumber: 1, searchText: 1 }).lean().cursor();
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
export function fieldsSet(f: ContractFields, registrationNumber?: string | null): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  for (const k of FIELD_KEYS) set[k] = f[k] ?? null;
  set.signedYear = f.signedOn ? Number(f.signedOn.slice(0, 4)) : null;
  set.searchText = searchTextOf(f, registrationNumber);
  return set;
}

export const historyEntry = (user: CurrentUser | null, action: string, note: string | null = null) => ({
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

export function requireApplicant(user: CurrentUser): string {
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

/** The applicant's own organisation as a party: the seller, or in an import the first buyer. */
async function sellerDefaults(organizationId: string): Promise<Party> {
  const org = await getOrganization(organizationId);
  if (!org) return {};
  return { name: org.name, uscc: org.uscc, nature: org.nature, regionCode: org.regionCode, ...(org.address ? { address: org.address } : {}) };
}

/** What the registrant fills in itself on its own party: everything but the verified identity. */
const OWN_CONTACT_KEYS = ['idNumber', 'legalRepresentative', 'contactPerson', 'phone', 'email', 'address'] as const;
const contactOf = (p: Party | undefined): Party => {
  const out: Party = {};
  for (const k of OWN_CONTACT_KEYS) if (p?.[k]) out[k] = p[k];
  return out;
};
const ownIdentity = (own: Party): Party => ({ name: own.name, uscc: own.uscc, nature: own.nature, regionCode: own.regionCode });

/**
 * The registrant's party carries the verified organisation's name, credit code, nature and
 * region, whatever was sent (DOMAIN.md); only its contact details are the applicant's to fill.
 * Domestic filings: the registrant is the seller. Imports (技术引进): it is the first buyer,
 * and the seller is the party abroad. `before` is the stored filing: when the direction
 * changes, the registrant's contact details move with it to its new place.
 * `buyerShift`: how far the buyers sent moved in the list (+1: the registrant went in front).
 */
function withOwnSeller(fields: ContractFields, own: Party, before?: ContractFields): { fields: ContractFields; buyerShift: number } {
  const wasImport = before?.direction === 'import';
  if (fields.direction !== 'import') {
    let buyers = fields.buyers;
    let seller = fields.seller;
    let buyerShift = 0;
    if (wasImport) {
      // Back from an import: the registrant leaves the buyers, and the seller abroad goes.
      seller = {};
      if (buyers?.length && buyers[0].uscc === own.uscc) {
        seller = contactOf(buyers[0]);
        buyers = buyers.slice(1);
        buyerShift = -1;
      }
    }
    const { country: _abroad, ...placed } = { ...seller, ...ownIdentity(own) };
    return { fields: { ...fields, seller: placed, ...(buyers ? { buyers } : {}) }, buyerShift };
  }
  let seller = fields.seller;
  const buyers = [...(fields.buyers ?? [])];
  let buyerShift = 0;
  if (!wasImport && seller?.uscc === own.uscc) {
    // Turned into an import: the registrant moves from the seller to the front of the buyers.
    buyers.unshift(contactOf(seller));
    seller = undefined;
    buyerShift = 1;
  } else if (buyers[0] && ((buyers[0].uscc && buyers[0].uscc !== own.uscc) || buyers[0].country)) {
    // Never written over another identified party: the registrant goes in front of it.
    buyers.unshift({});
    buyerShift = 1;
  }
  const { country: _abroad, ...first } = { ...(buyers[0] ?? {}), ...ownIdentity(own) };
  const out: ContractFields = { ...fields, buyers: [first, ...buyers.slice(1)] };
  if (seller) out.seller = seller;
  else delete out.seller;
  return { fields: out, buyerShift };
}

/** A field path of a buyer moved by `shift` rows (null: the row left the buyers). */
function shiftBuyerPath(path: string, shift: number): string | null {
  const m = /^buyers\.(\d+)(\..*)?$/.exec(path);
  if (!shift || !m) return path;
  const index = Number(m[1]) + shift;
  return index < 0 ? null : `buyers.${index}${m[2] ?? ''}`;
}

function shiftIssues<T extends { path?: string | null }>(items: T[], shift: number): T[] {
  return items.flatMap((i) => {
    const path = shiftBuyerPath(i.path ?? '', shift);
    return path === null ? [] : [{ ...i, path }];
  });
}

/** The contact details a new filing starts with: the organisation's profile, else its latest filing. */
const CONTACT_DEFAULT_KEYS = ['legalRepresentative', 'contactPerson', 'phone', 'email'] as const;

async function contactDefaults(organizationId: string, own: Party): Promise<Party> {
  const org = await getOrganization(organizationId);
  // The profile's contact block is read defensively: older organisations have none.
  const profile = ((org as unknown as { contact?: Record<string, unknown> } | null)?.contact ?? {}) as Record<string, unknown>;
  const fromProfile: Party = {};
  for (const k of CONTACT_DEFAULT_KEYS) if (typeof profile[k] === 'string' && (profile[k] as string).trim()) fromProfile[k] = (profile[k] as string).trim();
  if (Object.keys(fromProfile).length) return fromProfile;
  const recent = (await Contract.find({ organizationId: new Types.ObjectId(organizationId) })
    .sort({ _id: -1 }) // newest first: ids grow with creation time, and their index serves the sort
    .limit(5)
    .select({ direction: 1, seller: 1, buyers: 1 })
    .lean()) as Pick<ContractRecord, 'direction' | 'seller' | 'buyers'>[];
  for (const c of recent) {
    const mine = c.direction === 'import' ? c.buyers?.[0] : c.seller;
    if (!mine || (own.uscc && mine.uscc && mine.uscc !== own.uscc)) continue;
    const out: Party = {};
    for (const k of CONTACT_DEFAULT_KEYS) if (mine[k]) out[k] = mine[k] as string;
    if (Object.keys(out).length) return out;
  }
  return {};
}

/** Fills the registrant's empty contact fields of a new filing from `defaults`, and its address from the organisation's. */
function withContactDefaults(fields: ContractFields, own: Party, defaults: Party): ContractFields {
  const fill = (p: Party | undefined): Party => {
    const out: Party = { ...p };
    for (const k of CONTACT_DEFAULT_KEYS) if (!out[k] && defaults[k]) out[k] = defaults[k];
    if (!out.address && own.address) out.address = own.address;
    return out;
  };
  if (fields.direction === 'import') {
    const [first, ...rest] = fields.buyers ?? [];
    return { ...fields, buyers: [fill(first), ...rest] };
  }
  return { ...fields, seller: fill(fields.seller) };
}

/**
 * Pages and API answers show ID numbers masked to applicants; sending such a value back
 * unchanged means "keep the number", not "replace it with the stars". Matched against any
 * party of the stored filing, since rows may have moved (a buyer removed above it).
 */
export function withStoredIdNumbers(input: unknown, stored: ContractFields): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input;
  const known = [stored.seller, ...(stored.coSellers ?? []), ...(stored.buyers ?? [])].map((p) => p?.idNumber).filter((x): x is string => Boolean(x));
  const restore = (p: unknown): unknown => {
    if (!p || typeof p !== 'object' || Array.isArray(p)) return p;
    const party = p as Record<string, unknown>;
    if (typeof party.idNumber !== 'string' || !party.idNumber.includes('*')) return p;
    const matches = [...new Set(known.filter((id) => isMaskOf(party.idNumber as string, id)))];
    return matches.length === 1 ? { ...party, idNumber: matches[0] } : p;
  };
  const restoreList = (v: unknown) => (Array.isArray(v) ? v.map(restore) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, restore(x)])) : v);
  const src = input as Record<string, unknown>;
  const out: Record<string, unknown> = { ...src };
  if ('seller' in src) out.seller = restore(src.seller);
  if ('coSellers' in src) out.coSellers = restoreList(src.coSellers);
  if ('buyers' in src) out.buyers = restoreList(src.buyers);
  return out;
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
  /** A new draft started from this technology market listing (modules/market), remembered on it. */
  fromListing?: string;
}

function rawEntries(issues: Issue[], raw: Map<string, string> | undefined) {
  return issues.filter((i) => raw?.has(i.path)).map((i) => ({ path: i.path, value: raw!.get(i.path)! }));
}

/** A new filing's fields: the registrant's identity and contact details, then what was sent. */
async function newFilingFields(organizationId: string, values: ReturnType<typeof parseContractInput>['values']) {
  const own = await sellerDefaults(organizationId);
  const start: ContractFields = values.direction === 'import' ? { buyers: [{ ...own }] } : { seller: own };
  const placed = withOwnSeller(mergeFields(start, values), own);
  // Looked up only when the registrant's contact details are not all given (API clients usually send them).
  const mine = placed.fields.direction === 'import' ? placed.fields.buyers?.[0] : placed.fields.seller;
  const complete = CONTACT_DEFAULT_KEYS.every((k) => Boolean(mine?.[k]));
  const fields = complete ? placed.fields : withContactDefaults(placed.fields, own, await contactDefaults(organizationId, own));
  return { placed, fields };
}

/**
 * The empty filing form shows this: a draft as it would start, never stored (the first save
 * creates it, so opening the form and leaving makes nothing to clean up).
 */
export async function unsavedDraft(user: CurrentUser): Promise<ContractRecord> {
  const organizationId = requireApplicant(user);
  const { fields } = await newFilingFields(organizationId, {});
  return new Contract({ organizationId: new Types.ObjectId(organizationId), status: 'draft', ...fieldsSet(fields) }).toObject() as ContractRecord;
}

/** Creates a draft. The API refuses invalid values; the form keeps them as typed. */
export async function createDraft(user: CurrentUser, input: unknown, opts: SaveOptions = {}): Promise<{ contract: ContractRecord; issues: Issue[] }> {
  const organizationId = requireApplicant(user);
  const { values, issues } = parseContractInput(input, { forms: opts.forms });
  if (issues.length && !opts.keepInvalid) throw new AppError('VALIDATION_FAILED', { details: issues });
  const { placed, fields } = await newFilingFields(organizationId, values);
  const doc = await Contract.create({
    organizationId: new Types.ObjectId(organizationId),
    status: 'draft',
    ...fieldsSet(fields),
    draftRaw: shiftIssues(rawEntries(issues, opts.raw), placed.buyerShift),
    history: [historyEntry(user, 'created')],
    createdBy: new Types.ObjectId(user.id),
    ...(opts.fromListing ? { fromListing: new Types.ObjectId(opts.fromListing) } : {}),
  });
  return { contract: doc.toObject() as ContractRecord, issues: shiftIssues(issues, placed.buyerShift) };
}

/** Changes a draft or returned filing: present fields replace, null clears. */
export async function updateDraft(user: CurrentUser, id: string, input: unknown, opts: SaveOptions = {}): Promise<{ contract: ContractRecord; issues: Issue[] }> {
  const organizationId = requireApplicant(user);
  const read = await loadContract(user, id); // 404 before 422 for someone else's contract
  const { values, issues } = parseContractInput(withStoredIdNumbers(input, fieldsOf(read)), { forms: opts.forms });
  if (issues.length && !opts.keepInvalid) throw new AppError('VALIDATION_FAILED', { details: issues });
  const own = await sellerDefaults(organizationId);
  let buyerShift = 0;
  const contract = await mutate(user, id, (doc) => {
    if (!EDITABLE_STATUSES.includes(doc.status as ContractStatus)) throw notEditable(doc.status);
    const before = fieldsOf(doc);
    const placed = withOwnSeller(mergeFields(before, values), own, before);
    const fields = placed.fields;
    // Kept and new invalid entries follow their buyer row when the registrant moved in front of it or out.
    buyerShift = placed.buyerShift;
    // A form save replaces every field, so only its own invalid entries remain; an API
    // patch clears the entries of the fields it set.
    const keptRaw = opts.forms ? [] : (doc.draftRaw ?? []).filter((r) => !Object.keys(values).some((k) => r.path === k || String(r.path).startsWith(`${k}.`)));
    const last = doc.history[doc.history.length - 1];
    const recentlyUpdated = last?.action === 'updated' && String(last.actorId) === user.id && Date.now() - new Date(last.at).getTime() < 10 * 60_000;
    return {
      ...fieldsSet(fields, doc.registrationNumber),
      draftRaw: shiftIssues([...keptRaw.map((r) => ({ path: r.path ?? '', value: r.value ?? '' })), ...rawEntries(issues, opts.raw)], buyerShift),
      // One "updated" entry per editing session, not one per keystroke-save.
      history: recentlyUpdated ? doc.history : [...doc.history, historyEntry(user, 'updated')],
    };
  }, read);
  return { contract, issues: shiftIssues(issues, buyerShift) };
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

/** The values a draft keeps as typed (they were invalid), each with the message it had when typed. */
export function keptValueIssues(doc: Pick<ContractRecord, 'draftRaw'>): Issue[] {
  return (doc.draftRaw ?? []).filter((r) => r.path).map((r) => issueOfKeptValue(r.path!, r.value ?? ''));
}

/** A filing is submitted with at least one signed-contract PDF. */
export const needsAttachment = (doc: Pick<ContractRecord, 'attachments'>) => !doc.attachments?.length;

/** Everything standing between a filing and its submission, all at once. */
export function submitProblems(doc: ContractRecord, today = cstDate(new Date())): Issue[] {
  const kept = keptValueIssues(doc);
  // A value kept as typed says what is wrong with it, instead of "required" for the field it left empty.
  const issues = submissionIssues(fieldsOf(doc), today).filter((i) => !kept.some((k) => k.path === i.path));
  issues.push(...kept);
  if (needsAttachment(doc)) issues.push({ path: 'attachments', message: 'validation.pdfRequired' });
  return issues;
}

/**
 * Submits a draft or returned filing: it becomes `submitted`, gets its acceptance receipt
 * (受理回执: number, time, legal deadline; see receipt.ts) and a verification job is enqueued.
 * If Redis is away the submission still stands; the worker's sweeper enqueues it.
 */
export async function submitContract(
  deps: SubmitDeps,
  user: CurrentUser,
  id: string,
): Promise<{ status: 'submitted'; queued: boolean; acceptance: ReturnType<typeof acceptanceView> }> {
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
  const submittedAt = new Date();
  // The receipt comes with the submission, numbered in the same update (receipt.ts says why).
  const fresh = newAcceptance(submission, submittedAt, doc.technicalAmountFen);
  const number = await takeAcceptanceNumber(id, fresh).catch((err: Error) => {
    deps.logger.warn({ contractId: id, err: err.message }, 'acceptance number not taken yet; the receipt download will take it');
    return null;
  });
  const acceptance = { ...fresh, number };
  // At the version checked above: an edit made meanwhile would not have been checked.
  const submitted = await changeIf(
    Contract,
    { ...atVersion(doc), status: { $in: EDITABLE_STATUSES } },
    {
      $set: { status: 'submitted', submissionCount: submission, submittedAt, decisionDeadline: null, acceptance },
      $push: { history: historyEntry(user, 'submitted') },
    },
  );
  if (!submitted) {
    const current = await Contract.findById(id).select({ status: 1 }).lean();
    throw conflict('CONTRACT_NOT_SUBMITTABLE', 'errors.contractNotSubmittable', { current: { status: current?.status ?? doc.status } });
  }
  // The first filing's contact details become the organisation's defaults (cheap for the next ones: the profile is cached).
  const mine = doc.direction === 'import' ? doc.buyers?.[0] : doc.seller;
  const remembered = mine
    ? rememberContact(organizationId, { legalRepresentative: mine.legalRepresentative ?? undefined, contactPerson: mine.contactPerson ?? undefined, phone: mine.phone ?? undefined, email: mine.email ?? undefined }).catch(() => undefined)
    : Promise.resolve();
  const [queued] = await Promise.all([
    enqueueVerification(deps.queues, id, submission).then(
      () => true,
      (err: Error) => {
        deps.logger.warn({ contractId: id, err: err.message }, 'verification not enqueued; the sweeper will enqueue it');
        return false;
      },
    ),
    remembered,
  ]);
  return { status: 'submitted', queued, acceptance: acceptanceView(acceptance) };
}

/**
 * Deletes a draft (a filing never submitted) and its stored PDFs; anything else answers 409.
 * The delete is conditional on the status, so when a submission races it exactly one wins:
 * the submission (the delete then answers 409) or the delete (the submission finds nothing).
 */
export async function deleteDraft(user: CurrentUser, id: string): Promise<void> {
  requireApplicant(user);
  const doc = await loadContract(user, id); // 404 for anyone else's
  const refuse = (status: string) => conflict('CONTRACT_NOT_DELETABLE', 'errors.contractNotDeletable', { current: { status } });
  if (doc.status !== 'draft') throw refuse(doc.status);
  const deleted = (await Contract.findOneAndDelete({ _id: doc._id, organizationId: doc.organizationId, status: 'draft' }).lean()) as ContractRecord | null;
  if (!deleted) {
    const current = await Contract.findById(doc._id).select({ status: 1 }).lean();
    if (!current) throw notFound();
    throw refuse(current.status);
  }
  // The PDFs go with it; one left behind by a failure is unreachable, not exposed.
  await Promise.all((deleted.attachments ?? []).map((a) => deletePdf(a.id).catch(() => undefined)));
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
  kind: 'registered' | 'returned' | 'refused' | 'revoked' | 'cancelled';
  reasonCode: number | null;
  /** The official wording of the refusal reason, in the reader's language. */
  reasonText: string | null;
  note: string | null;
  decidedAt: string;
}

/** The bureau's decision on a filing as its readers see it (API.md `decision`); null before one. */
export function decisionView(doc: Pick<ContractRecord, 'status' | 'decision' | 'revokedAt' | 'history'> & { cancelledAt?: Date | null }, lang: string): DecisionView | null {
  // The last word on a registration: its revocation, or its approved cancellation (note: the reason filed).
  for (const [kind, at] of [['revoked', doc.revokedAt], ['cancelled', doc.cancelledAt]] as const) {
    if (doc.status !== kind || !at) continue;
    const entry = [...(doc.history ?? [])].reverse().find((h) => h.action === kind);
    return { kind, reasonCode: null, reasonText: null, note: entry?.note ?? null, decidedAt: cstIso(new Date(at)) };
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

/** A party as its reader may see it: the bureau sees a person's ID number in full, everyone else masked. */
export function partyFor<P extends Party | null | undefined>(p: P, audience: 'applicant' | 'bureau' | 'public'): P {
  if (!p || !p.idNumber || audience === 'bureau') return p;
  return { ...p, idNumber: maskResidentId(p.idNumber) };
}

/** A contract as the API shows it; an applicant gets findings without other organisations' data, and ID numbers masked. */
export function toApi(doc: ContractRecord, lang: string, audience: 'applicant' | 'bureau') {
  const f = fieldsOf(doc);
  return {
    id: String(doc._id),
    status: doc.status,
    organizationId: String(doc.organizationId),
    direction: f.direction ?? 'domestic',
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
    seller: partyFor(f.seller, audience) ?? null,
    coSellers: (f.coSellers ?? []).map((p) => partyFor(p, audience)),
    buyers: (f.buyers ?? []).map((p) => partyFor(p, audience)),
    technicalField: f.technicalField ?? null,
    ipType: f.ipType ?? null,
    socioEconomicObjective: f.socioEconomicObjective ?? null,
    priorityArea: f.priorityArea ?? null,
    paymentMethod: f.paymentMethod ?? null,
    relatedParty: f.relatedParty ?? null,
    planSource: f.planSource ?? null,
    declaration: f.declaration ?? false,
    attachments: (doc.attachments ?? []).map((a) => ({ id: a.id, filename: a.filename, size: a.size })),
    // What was typed for an ID number, even if invalid, is masked like a valid one.
    invalidDraftValues: (doc.draftRaw ?? []).map((r) => ({ path: r.path, value: audience === 'bureau' || !/\.idNumber$/.test(r.path ?? '') ? r.value : maskResidentId(r.value ?? '') })),
    registrationNumber: doc.registrationNumber ?? null,
    /** The registration's version (1 when registered, +1 per registered change); null before registration. */
    version: doc.registrationNumber ? (doc.registrationVersion ?? 1) : null,
    cancelledAt: doc.cancelledAt ? cstIso(doc.cancelledAt) : null,
    openRequestId: doc.openRequestId ? String(doc.openRequestId) : null,
    registeredAt: doc.registeredAt ? cstIso(doc.registeredAt) : null,
    submittedAt: doc.submittedAt ? cstIso(doc.submittedAt) : null,
    decisionDeadline: doc.decisionDeadline ?? null,
    findings: (doc.findings ?? [])
      .map((x) => findingFor(x as Finding, audience))
      .map((x) => ({ code: x.code, severity: x.severity, message: lang === 'en' ? x.messageEn : x.message })),
    history: (doc.history ?? []).map((h) => ({ at: cstIso(new Date(h.at)), actor: h.actorName ?? (h.actorId ? String(h.actorId) : null), action: h.action, note: h.note ?? null })),
    decision: decisionView(doc, lang),
    /** The technology market listing it was started from, or null. */
    fromListing: doc.fromListing ? String(doc.fromListing) : null,
    createdAt: cstIso(doc.createdAt),
    updatedAt: cstIso(doc.updatedAt),
  };
}

export const contractTypeLabel = (type: string | null | undefined, lang: string) =>
  type && type in CONTRACT_TYPES ? CONTRACT_TYPES[type as keyof typeof CONTRACT_TYPES][lang === 'en' ? 'en' : 'zh'] : '';
