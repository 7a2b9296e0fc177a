/**
 * What the bureau does: automatic verification of submitted filings, the review queue,
 * decisions (register, return, refuse, revoke) with gap-free registration numbers, and the
 * deadline watch. Plain values in and out.
 *
 * A decision is one atomic conditional update of the contract (of two reviewers, or a
 * reviewer and a withdrawing applicant, acting at once exactly one wins; the other gets 409
 * with the state that won). Only then is it carried out, idempotently: number, ledger,
 * notification, certificate. The update also marks the contract `pendingEffects`; if the
 * process dies before clearing that mark, `completeDecisions` (a scheduled job) finishes.
 */
import { Types } from 'mongoose';
import { z } from 'zod';
import { addWorkingDays, workingDaysBetween } from '../../domain/calendar';
import { DUPLICATE_WINDOW_DAYS, EXPERT_REVIEW_FEN, runChecks, SIMILAR_TITLE_THRESHOLD, titleSimilarity, type PossibleDuplicate } from '../../domain/checks';
import { CONTRACT_TYPE_CODES, REFUSAL_REASON_TEXTS } from '../../domain/codes';
import { parseYuan } from '../../domain/money';
import { cstDate, cstYear } from '../../domain/time';
import type { Config } from '../../config';
import { AppError, conflict, isUnavailableError, notFound } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { enqueueNow, type Queues } from '../../lib/queues';
import { changeIf, updateIf } from '../../lib/transitions';
import { parseInput, text } from '../../lib/validation';
import type { CurrentUser } from '../accounts/current-user';
import { recordAudit } from '../audit/audit.service';
import { inspectPdf, MAX_ATTACHMENT_BYTES, readPdf, storedSizes } from '../contracts/attachments.store';
import { Contract, type ContractDoc, type ContractStatus } from '../contracts/contract.model';
import { fieldsOf, textFilter } from '../contracts/contracts.service';
import { notify } from '../notifications/notifications.service';
import { tallyAfterDecision } from '../turnover/turnover.service';
import { markRegistrationRevoked, numberRegistration } from './registration-numbers';
import type { Redis } from 'ioredis';

export interface ReviewDeps {
  queues: Queues | null;
  logger: Logger;
  config: Pick<Config, 'agency' | 'publicUrl' | 'queuePrefix' | 'turnoverTargetFen'>;
  /** For publishing the live turnover figure at once. */
  redis?: Redis;
}

const SYSTEM = { id: null, name: '系统自动核查' };

// ── Verification ───────────────────────────────────────────────────────────────────────

async function possibleDuplicates(doc: ContractDoc): Promise<PossibleDuplicate[]> {
  const id = String(doc._id);
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
    if (String(c._id) === id) continue;
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
async function unreadableAttachments(doc: ContractDoc): Promise<string[]> {
  const attachments = doc.attachments ?? [];
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

/**
 * Runs the automatic checks on a submitted filing, sets its decision deadline and moves it
 * to review. Running it again (a retried job) changes nothing: it only acts on the same
 * submission still in `submitted`.
 */
export async function verifySubmission(contractId: string, submission: number, agencyCode: string): Promise<'verified' | 'skipped'> {
  const doc = (await Contract.findById(contractId).lean()) as ContractDoc | null;
  if (!doc || doc.status !== 'submitted' || doc.submissionCount !== submission) return 'skipped';
  const filedOn = cstDate(doc.submittedAt ?? new Date());
  const findings = runChecks(fieldsOf(doc), {
    filedOn,
    agencyCode,
    duplicates: await possibleDuplicates(doc),
    unreadableAttachments: await unreadableAttachments(doc),
    attachmentCount: doc.attachments?.length ?? 0,
  });
  const expertReview = (doc.technicalAmountFen ?? 0) >= EXPERT_REVIEW_FEN;
  const decisionDeadline = addWorkingDays(filedOn, expertReview ? 30 : 15);
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

// ── Decisions ──────────────────────────────────────────────────────────────────────────

export const REFUSAL_REASONS = [1, 2, 3, 4, 5, 6, 7, 8, 9] as const;

export const approveSchema = z.object({ note: z.string().trim().max(2000).optional() });
export const returnSchema = z.object({ reason: text(2000) });
export const refuseSchema = z
  .object({ reasonCode: z.coerce.number().int().min(1).max(9), note: z.string().trim().max(2000).optional() })
  .refine((v) => v.reasonCode !== 9 || Boolean(v.note), { path: ['note'], message: 'validation.refuseNoteRequired' });
export const revokeSchema = z.object({ reason: text(2000) });

type DecisionAction = 'registered' | 'returned' | 'refused';

async function loadForBureau(id: string): Promise<ContractDoc> {
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const doc = (await Contract.findById(id).lean()) as ContractDoc | null;
  if (!doc) throw notFound();
  return doc;
}

const notReviewable = (status: string, registrationNumber?: string | null) =>
  conflict('CONTRACT_NOT_IN_REVIEW', 'errors.contractNotInReview', { current: { status, registrationNumber: registrationNumber ?? null } });

const KIND_TEXT: Record<string, { zh: string; en: string }> = {
  registered: { zh: '准予登记', en: 'registered' },
  returned: { zh: '退回补正', en: 'returned for correction' },
  refused: { zh: '不予登记', en: 'refused' },
  revoked: { zh: '撤销登记', en: 'revoked' },
};

/**
 * What follows a decision: the applicant's notification, the ledger entry, the certificate job.
 * All idempotent and independent of each other, so they run side by side. True when all done.
 */
async function decisionEffects(deps: ReviewDeps, doc: ContractDoc, kind: string, note: string | null, reasonCode: number | null, firstRun: boolean): Promise<boolean> {
  const id = String(doc._id);
  const k = KIND_TEXT[kind];
  const title = doc.title ?? '';
  // The refusal reason in its official words, not by its number.
  const reason = reasonCode ? REFUSAL_REASON_TEXTS[String(reasonCode)] : undefined;
  const extra = [doc.registrationNumber ? `登记编号 ${doc.registrationNumber}` : null, reason ? `不予登记理由：${reason.zh}` : null, note].filter(Boolean).join('；');
  const extraEn = [doc.registrationNumber ? `registration number ${doc.registrationNumber}` : null, reason ? `reason for refusal: ${reason.en}` : null, note].filter(Boolean).join('; ');
  const notification = async () => {
    await notify(
      deps.queues,
      {
        key: `contract:${id}:${kind}:${kind === 'revoked' ? 'final' : `s${doc.submissionCount}`}`,
        organizationId: String(doc.organizationId),
        contractId: id,
        kind,
        subject: `技术合同登记：${k.zh}`,
        subjectEn: `Technology contract ${k.en}`,
        body: `您提交的技术合同“${title}”已${k.zh}。${extra ? extra + '。' : ''}`,
        bodyEn: `Your technology contract "${title}" was ${k.en}.${extraEn ? ' ' + extraEn + '.' : ''}`,
      },
      deps.logger,
    );
    return true;
  };
  const ledger = async () => {
    if (kind === 'revoked') await markRegistrationRevoked(id, doc.revokedAt ? new Date(doc.revokedAt) : new Date());
    if (kind === 'registered' || kind === 'revoked') {
      try {
        await tallyAfterDecision(
          { queues: deps.queues, logger: deps.logger, redis: deps.redis, prefix: deps.config.queuePrefix, agencyCode: deps.config.agency.code, targetFen: deps.config.turnoverTargetFen },
          kind,
          doc,
          { firstRun },
        );
      } catch (err) {
        // The decision stands and stays marked pending: the sweeper and the reconciliation catch up.
        deps.logger.warn({ contractId: id, err: (err as Error).message }, 'turnover not updated at once');
        return false;
      }
    }
    return true;
  };
  const certificate = async () => {
    if (kind === 'registered' && deps.queues) {
      try {
        // Now numbered: a render that ran too early (by the certificate sweeper) runs again at once.
        await enqueueNow(deps.queues, 'certificates', 'render', { contractId: id }, `cert-${id}`);
      } catch (err) {
        deps.logger.warn({ contractId: id, err: (err as Error).message }, 'certificate not enqueued; the sweeper will');
      }
    }
    return true;
  };
  return (await settled([notification(), ledger(), certificate()])).every(Boolean);
}

/** Waits for every promise (none left running behind a failure), then throws the first failure. */
async function settled<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/**
 * Carries out the decision a contract is marked with (`pendingEffects`), after its status
 * change has won: the registration number first (so only a winner ever takes one), then the
 * effects, then the mark is cleared. Every step is idempotent, so running it again (the sweeper
 * after a crash, or alongside a slow first run) finishes the work without doing any twice.
 */
async function carryOutDecision(
  deps: ReviewDeps,
  doc: ContractDoc,
  { alongside, firstRun = false }: { alongside?: (numbered: ContractDoc) => Promise<unknown>; firstRun?: boolean } = {},
): Promise<ContractDoc> {
  const kind = doc.pendingEffects;
  if (!kind) return doc;
  let current = doc;
  if ((current.status === 'registered' || current.status === 'revoked') && !current.registrationNumber) {
    current = { ...current, registrationNumber: await numberRegistration(current, deps.config.agency.code, { firstRun }) };
  }
  const note = kind === 'revoked' ? ([...current.history].reverse().find((h) => h.action === 'revoked')?.note ?? null) : (current.decision?.note ?? null);
  const [done] = await settled([
    decisionEffects(deps, current, kind, note, kind === 'refused' ? (current.decision?.reasonCode ?? null) : null, firstRun),
    alongside ? alongside(current).then(() => true) : Promise.resolve(true),
  ]);
  // Cleared only if still the same decision (a revocation may have followed meanwhile).
  if (done) await Contract.updateOne({ _id: current._id, pendingEffects: kind }, { $set: { pendingEffects: null } });
  return current;
}

async function decide(deps: ReviewDeps, actor: CurrentUser, id: string, action: DecisionAction, note: string | null, reasonCode: number | null, ip?: string) {
  if (actor.role !== 'reviewer' && actor.role !== 'admin') throw new AppError('FORBIDDEN');
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const at = new Date();
  const actorId = new Types.ObjectId(actor.id);
  const set: Record<string, unknown> = {
    status: action,
    decision: { action, reasonCode, note, at, actorId, actorName: actor.name },
    pendingEffects: action,
  };
  // Registered: now awaiting its certificate (null, see the model), in the same update.
  if (action === 'registered') Object.assign(set, { registeredAt: at, registrationYear: cstYear(at), certificateFileId: null });
  // The decision itself: one conditional update, won by exactly one of any racing changes (no
  // read before it: what is in review now is what the reviewer decides; a loser reads to answer).
  const won = await updateIf<ContractDoc>(
    Contract,
    { _id: new Types.ObjectId(id), status: 'in_review' },
    { $set: set, $push: { history: { at, actorId, actorName: actor.name, action, note } } },
  );
  if (!won) {
    const current = await loadForBureau(id);
    throw notReviewable(current.status, current.registrationNumber);
  }
  // The audit entry is written beside the effects, once the number is known.
  return carryOutDecision(deps, won, {
    firstRun: true,
    alongside: (numbered) =>
      recordAudit({ actor, action: `contract.${action}`, targetType: 'contract', targetId: id, ip, details: { note, reasonCode, registrationNumber: numbered.registrationNumber ?? null } }),
  });
}

export async function approveContract(deps: ReviewDeps, actor: CurrentUser, id: string, input: unknown, ip?: string) {
  const { note } = parseInput(approveSchema, input ?? {});
  const doc = await decide(deps, actor, id, 'registered', note || null, null, ip);
  return { status: 'registered' as const, registrationNumber: doc.registrationNumber! };
}

export async function returnContract(deps: ReviewDeps, actor: CurrentUser, id: string, input: unknown, ip?: string) {
  const { reason } = parseInput(returnSchema, input ?? {});
  await decide(deps, actor, id, 'returned', reason, null, ip);
  return { status: 'returned' as const };
}

export async function refuseContract(deps: ReviewDeps, actor: CurrentUser, id: string, input: unknown, ip?: string) {
  const { reasonCode, note } = parseInput(refuseSchema, input ?? {});
  await decide(deps, actor, id, 'refused', note || null, reasonCode, ip);
  return { status: 'refused' as const };
}

/** An admin revokes a registration (fake contract, fraud, duplicate, voided elsewhere). */
export async function revokeContract(deps: ReviewDeps, actor: CurrentUser, id: string, input: unknown, ip?: string) {
  if (actor.role !== 'admin') throw new AppError('FORBIDDEN');
  const { reason } = parseInput(revokeSchema, input ?? {});
  const doc = await loadForBureau(id);
  const notRegistered = (status: string) => conflict('CONTRACT_NOT_REGISTERED', 'errors.contractNotRegistered', { current: { status } });
  if (doc.status !== 'registered') throw notRegistered(doc.status);
  const at = new Date();
  const won = await updateIf<ContractDoc>(
    Contract,
    { _id: doc._id, status: 'registered' },
    {
      $set: { status: 'revoked', revokedAt: at, pendingEffects: 'revoked' },
      $push: { history: { at, actorId: new Types.ObjectId(actor.id), actorName: actor.name, action: 'revoked', note: reason } },
    },
  );
  if (!won) throw notRegistered((await loadForBureau(id)).status);
  await carryOutDecision(deps, won, {
    alongside: (numbered) =>
      recordAudit({ actor, action: 'contract.revoked', targetType: 'contract', targetId: id, ip, details: { reason, registrationNumber: numbered.registrationNumber } }),
  });
  return { status: 'revoked' as const };
}

/** How long a decision's follow-up may take before the sweeper assumes its process died. */
export const EFFECTS_GRACE_MS = 30_000;

/**
 * The scheduled sweep: every decision still marked pending a while after its last change is
 * carried out to the end (number, ledger, notification, certificate). Repeating it is harmless.
 */
export async function completeDecisions(deps: ReviewDeps, graceMs = EFFECTS_GRACE_MS): Promise<number> {
  // Served by the partial index that holds only the marked contracts (the filter repeats its
  // `$type` word for word, which DocumentDB needs), by their age.
  const stuck = (await Contract.find({ pendingEffects: { $type: 'string' }, updatedAt: { $lt: new Date(Date.now() - graceMs) } })
    .limit(1000)
    .lean()) as ContractDoc[];
  for (const c of stuck) await carryOutDecision(deps, c);
  return stuck.length;
}

// ── The review queue ───────────────────────────────────────────────────────────────────

export const queueQuerySchema = z.object({
  status: z.enum(['submitted', 'in_review', 'registered', 'returned', 'refused', 'revoked', 'withdrawn', 'all']).default('in_review'),
  type: z.enum(CONTRACT_TYPE_CODES).optional().or(z.literal('').transform(() => undefined)),
  deadline: z.enum(['overdue', 'soon', '']).optional(),
  findings: z.enum(['error', 'warning', 'any', 'none', '']).optional(),
  minAmount: z.string().max(20).optional(),
  maxAmount: z.string().max(20).optional(),
  q: z.string().trim().max(100).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(25),
});

/** Working days within which a deadline counts as "nearly due". */
export const SOON_WORKING_DAYS = 3;

/** The bureau's queue: filtered, sorted by decision deadline (earliest first). */
export async function listReviewQueue(rawQuery: unknown, today = cstDate(new Date())) {
  const q = parseInput(queueQuerySchema, rawQuery);
  const filter: Record<string, unknown> = {};
  if (q.status !== 'all') filter.status = q.status;
  else filter.status = { $ne: 'draft' };
  if (q.type) filter.type = q.type;
  if (q.deadline === 'overdue') filter.decisionDeadline = { $lt: today };
  if (q.deadline === 'soon') filter.decisionDeadline = { $gte: today, $lte: addWorkingDays(today, SOON_WORKING_DAYS) };
  if (q.findings === 'none') filter.findings = { $size: 0 };
  if (q.findings === 'any') filter['findings.0'] = { $exists: true };
  if (q.findings === 'error' || q.findings === 'warning') filter['findings.severity'] = q.findings;
  const amount: Record<string, number> = {};
  for (const [key, op] of [['minAmount', '$gte'], ['maxAmount', '$lte']] as const) {
    const raw = q[key];
    if (!raw) continue;
    const p = parseYuan(raw, { grouped: true });
    if (!p.ok) throw new AppError('VALIDATION_FAILED', { details: [{ path: key, message: `validation.money_${p.reason}` }] });
    amount[op] = p.fen;
  }
  if (Object.keys(amount).length) filter.contractAmountFen = amount;
  if (q.q) Object.assign(filter, textFilter(q.q, 'private'));
  const [items, total] = await Promise.all([
    Contract.find(filter)
      .sort({ decisionDeadline: 1, submittedAt: 1, _id: 1 })
      .skip((q.page - 1) * q.pageSize)
      .limit(q.pageSize)
      .select({ history: 0, draftRaw: 0 })
      .lean(),
    Contract.countDocuments(filter),
  ]);
  const withUrgency = (items as ContractDoc[]).map((c) => {
    const open = c.status === 'submitted' || c.status === 'in_review';
    const left = c.decisionDeadline && open ? (c.decisionDeadline < today ? -1 : workingDaysBetween(today, c.decisionDeadline)) : null;
    return { ...c, urgency: left === null ? 'none' : left < 0 ? 'overdue' : left <= SOON_WORKING_DAYS ? 'soon' : 'ok', workingDaysLeft: left };
  });
  return { items: withUrgency, page: q.page, pageSize: q.pageSize, total, query: q };
}

// ── Deadline watch ─────────────────────────────────────────────────────────────────────

/** Marks open filings past their decision deadline (and unmarks any no longer late). */
export async function watchDeadlines(today = cstDate(new Date())): Promise<{ overdue: number; marked: number }> {
  const { modifiedCount: marked } = await Contract.updateMany(
    { status: { $in: ['submitted', 'in_review'] }, decisionDeadline: { $lt: today }, overdue: { $ne: true } },
    { $set: { overdue: true } },
  );
  const overdue = await Contract.countDocuments({ status: { $in: ['submitted', 'in_review'] }, overdue: true });
  return { overdue, marked };
}

export async function listOverdue() {
  return (await Contract.find({ status: { $in: ['submitted', 'in_review'] }, overdue: true }).sort({ decisionDeadline: 1 }).select({ history: 0, draftRaw: 0 }).lean()) as ContractDoc[];
}

export const isOpen = (status: string) => (['submitted', 'in_review'] as ContractStatus[]).includes(status as ContractStatus);
