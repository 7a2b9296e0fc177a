/**
 * Automatic verification of submitted filings (and of change and cancellation requests, which
 * go through the same checks): the checks of domain/checks, a search for possible duplicates,
 * and a reading of the attached PDFs. Then the filing moves to review with its decision deadline.
 */
import { addWorkingDays } from '../../domain/calendar';
import { DUPLICATE_WINDOW_DAYS, EXPERT_REVIEW_FEN, runChecks, SIMILAR_TITLE_THRESHOLD, titleSimilarity, type Finding, type PossibleDuplicate } from '../../domain/checks';
import type { ContractFields } from '../../domain/contract-input';
import { cstDate } from '../../domain/time';
import { AppError, isUnavailableError } from '../../lib/errors';
import { changeIf } from '../../lib/transitions';
import { inspectPdf, MAX_ATTACHMENT_BYTES, readPdf, storedSizes } from '../contracts/attachments.store';
import { Contract, type ContractDoc, type ContractStatus } from '../contracts/contract.model';
import { fieldsOf } from '../contracts/contracts.service';

/** The actor named in the history for what the system does by itself. */
export const SYSTEM = { id: null, name: '系统自动核查' };

type Attachment = ContractDoc['attachments'][number];

/** Other filings that may be the same contract (`exclude`: the filing itself, and for a change the contract it changes). */
async function possibleDuplicates(doc: ContractFields, exclude: string[]): Promise<PossibleDuplicate[]> {
  const statuses: ContractStatus[] = ['submitted', 'in_review', 'registered'];
  const or: Record<string, unknown>[] = [];
  if (doc.seller?.uscc) or.push({ 'seller.uscc': doc.seller.uscc });
  if (typeof doc.contractAmountFen === 'number') or.push({ contractAmountFen: doc.contractAmountFen });
  if (!or.length) return [];
  const candidates = (await Contract.find({ $or: or, status: { $in: statuses } })
    .select({ title: 1, status: 1, seller: 1, buyers: 1, contractAmountFen: 1, signedOn: 1 })
    .limit(500)
    .lean()) as ContractDoc[];
  const buyerCodes = new Set((doc.buyers ?? []).map((b) => b.uscc).filter(Boolean));
  const out: PossibleDuplicate[] = [];
  for (const c of candidates) {
    if (exclude.includes(String(c._id))) continue;
    const sameParties = c.seller?.uscc && c.seller.uscc === doc.seller?.uscc && (c.buyers ?? []).some((b) => b.uscc && buyerCodes.has(b.uscc));
    if (sameParties && c.contractAmountFen === doc.contractAmountFen) {
      out.push({ id: String(c._id), title: c.title ?? '', status: c.status, reason: 'same_parties_and_amount' });
      continue;
    }
    const days = doc.signedOn && c.signedOn ? Math.abs(Date.parse(doc.signedOn) - Date.parse(c.signedOn)) / 86_400_000 : Infinity;
    if (days <= DUPLICATE_WINDOW_DAYS && titleSimilarity(doc.title ?? '', c.title ?? '') >= SIMILAR_TITLE_THRESHOLD) {
      out.push({ id: String(c._id), title: c.title ?? '', status: c.status, reason: 'similar_title' });
    }
  }
  return out;
}

/**
 * The attachments that are missing or do not read as PDFs. One the upload already parsed (it
 * has its page count: stored files never change) needs only to be there whole, at its size;
 * any other (from before page counts were kept) is read and parsed here, in a check process
 * with the upload's limits, so a decompression bomb in storage is a finding, not a crash.
 */
async function unreadableAttachments(attachments: Attachment[]): Promise<string[]> {
  const sizes = await storedSizes(attachments.map((a) => a.id));
  const bad: string[] = [];
  for (const a of attachments) {
    if (sizes.get(a.id) !== a.size) {
      bad.push(a.filename);
      continue;
    }
    if (a.pages) continue;
    if (a.size > MAX_ATTACHMENT_BYTES) {
      bad.push(a.filename);
      continue;
    }
    try {
      await inspectPdf(await readPdf(a.id));
    } catch (err) {
      // A busy check or an unreachable database is retried with the job; the file's faults are findings.
      if (isUnavailableError(err) || (err instanceof AppError && err.status >= 500)) throw err;
      bad.push(a.filename);
    }
  }
  return bad;
}

/** What verification finds in a filing's fields and attachments, and the deadline it then has. */
export async function checkFiling(
  fields: ContractFields,
  attachments: Attachment[],
  submittedAt: Date | null,
  { agencyCode, exclude }: { agencyCode: string; exclude: string[] },
): Promise<{ findings: Finding[]; expertReview: boolean; decisionDeadline: string }> {
  const filedOn = cstDate(submittedAt ?? new Date());
  const findings = runChecks(fields, {
    filedOn,
    agencyCode,
    duplicates: await possibleDuplicates(fields, exclude),
    unreadableAttachments: await unreadableAttachments(attachments),
    attachmentCount: attachments.length,
  });
  const expertReview = (fields.technicalAmountFen ?? 0) >= EXPERT_REVIEW_FEN;
  return { findings, expertReview, decisionDeadline: addWorkingDays(filedOn, expertReview ? 30 : 15) };
}

/**
 * Runs the automatic checks on a submitted filing, sets its decision deadline and moves it
 * to review. Running it again (a retried job) changes nothing: it only acts on the same
 * submission still in `submitted`.
 */
export async function verifySubmission(contractId: string, submission: number, agencyCode: string): Promise<'verified' | 'skipped'> {
  const doc = (await Contract.findById(contractId).lean()) as ContractDoc | null;
  if (!doc || doc.status !== 'submitted' || doc.submissionCount !== submission) return 'skipped';
  const { findings, expertReview, decisionDeadline } = await checkFiling(fieldsOf(doc), doc.attachments ?? [], doc.submittedAt ?? null, { agencyCode, exclude: [contractId] });
  // A filing in `submitted` cannot be edited, so the checks above still hold for it.
  const moved = await changeIf(
    Contract,
    { _id: doc._id, status: 'submitted', submissionCount: submission },
    {
      $set: { status: 'in_review', findings, expertReview, decisionDeadline, overdue: false },
      $push: { history: { at: new Date(), actorId: null, actorName: SYSTEM.name, action: 'verified', note: null } },
    },
  );
  return moved ? 'verified' : 'skipped';
}
