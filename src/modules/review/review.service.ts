/**
 * What the bureau does: automatic verification of submitted filings, the review queue,
 * decisions (register, return, refuse, revoke) with gap-free registration numbers, and the
 * deadline watch. Plain values in and out.
 *
 * A decision is first claimed (one per submission, so of two reviewers acting at once one
 * wins), then carried out idempotently: number, status, notification, certificate. If a
 * process dies midway, `completeDecisions` (a scheduled job) finishes the claimed decision.
 */
import { Types } from 'mongoose';
import { z } from 'zod';
import { addWorkingDays, workingDaysBetween } from '../../domain/calendar';
import { DUPLICATE_WINDOW_DAYS, EXPERT_REVIEW_FEN, runChecks, SIMILAR_TITLE_THRESHOLD, titleSimilarity, type PossibleDuplicate } from '../../domain/checks';
import { CONTRACT_TYPE_CODES } from '../../domain/codes';
import { parseYuan } from '../../domain/money';
import { cstDate, cstYear } from '../../domain/time';
import type { Config } from '../../config';
import { AppError, conflict, notFound } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { enqueue, type Queues } from '../../lib/queues';
import { ABANDONED_AFTER_MS, claimOnce, mutateDoc, readClaim, VersionClaim } from '../../lib/transitions';
import { escapeRegex, parseInput, text } from '../../lib/validation';
import type { CurrentUser } from '../accounts/current-user';
import { recordAudit } from '../audit/audit.service';
import { inspectPdf, readPdf } from '../contracts/attachments.store';
import { Contract, type ContractDoc, type ContractStatus } from '../contracts/contract.model';
import { fieldsOf } from '../contracts/contracts.service';
import { notify } from '../notifications/notifications.service';
import { tallyAfterDecision } from '../turnover/turnover.service';
import { allocateRegistrationNumber, markRegistrationRevoked } from './registration-numbers';
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

async function unreadableAttachments(doc: ContractDoc): Promise<string[]> {
  const bad: string[] = [];
  for (const a of doc.attachments ?? []) {
    try {
      await inspectPdf(await readPdf(a.id));
    } catch {
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
  const { changed } = await mutateDoc<ContractDoc>(Contract, contractId, (d) =>
    d.status === 'submitted' && d.submissionCount === submission
      ? {
          status: 'in_review',
          findings,
          expertReview,
          decisionDeadline,
          overdue: false,
          history: [...d.history, { at: new Date(), actorId: null, actorName: SYSTEM.name, action: 'verified', note: null }],
        }
      : null,
  );
  return changed ? 'verified' : 'skipped';
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

interface DecisionPayload extends Record<string, unknown> {
  action: DecisionAction;
  contractId: string;
  submission: number;
  note: string | null;
  reasonCode: number | null;
  actorId: string;
  actorName: string;
  at: Date;
}

const decisionKey = (contractId: string, submission: number) => `decision:contracts:${contractId}:s${submission}`;
const revokeKey = (contractId: string) => `revoke:contracts:${contractId}`;

/** The contract once a change in progress has moved it out of `from` (waiting a little for it). */
async function settledState(id: string, from: ContractStatus, waitMs = 3_000): Promise<ContractDoc> {
  const until = Date.now() + waitMs;
  let doc = await loadForBureau(id);
  while (doc.status === from && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    doc = await loadForBureau(id);
  }
  return doc;
}

async function loadForBureau(id: string): Promise<ContractDoc> {
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const doc = (await Contract.findById(id).lean()) as ContractDoc | null;
  if (!doc) throw notFound();
  return doc;
}

const notReviewable = (status: string, registrationNumber?: string | null) =>
  conflict('CONTRACT_NOT_IN_REVIEW', 'errors.contractNotInReview', { current: { status, registrationNumber: registrationNumber ?? null } });

/** Carries out a claimed decision; safe to repeat (a retry, or completing a crashed one). */
async function applyDecision(deps: ReviewDeps, p: DecisionPayload): Promise<ContractDoc> {
  const at = new Date(p.at);
  let registrationNumber: string | null = null;
  if (p.action === 'registered') {
    registrationNumber = await allocateRegistrationNumber(cstYear(at), p.contractId, deps.config.agency.code, at);
  }
  const { doc } = await mutateDoc<ContractDoc>(Contract, p.contractId, (d) => {
    if (d.status !== 'in_review' || d.submissionCount !== p.submission) return null;
    const set: Record<string, unknown> = {
      status: p.action,
      decision: { action: p.action, reasonCode: p.reasonCode, note: p.note, at, actorId: new Types.ObjectId(p.actorId), actorName: p.actorName },
      history: [...d.history, { at, actorId: new Types.ObjectId(p.actorId), actorName: p.actorName, action: p.action, note: p.note }],
    };
    if (registrationNumber) {
      set.registrationNumber = registrationNumber;
      set.registeredAt = at;
      set.registrationYear = cstYear(at);
      set.searchText = [d.searchText, registrationNumber].filter(Boolean).join(' ');
    }
    return set;
  });
  if (doc.status === p.action && doc.submissionCount === p.submission) await decisionEffects(deps, doc, p.action, p.note, p.reasonCode);
  return doc;
}

const KIND_TEXT: Record<string, { zh: string; en: string }> = {
  registered: { zh: '准予登记', en: 'registered' },
  returned: { zh: '退回补正', en: 'returned for correction' },
  refused: { zh: '不予登记', en: 'refused' },
  revoked: { zh: '撤销登记', en: 'revoked' },
};

/** What follows a decision: the applicant's notification, the certificate. All idempotent. */
async function decisionEffects(deps: ReviewDeps, doc: ContractDoc, kind: string, note: string | null, reasonCode: number | null) {
  const id = String(doc._id);
  const k = KIND_TEXT[kind];
  const title = doc.title ?? '';
  const extra = [doc.registrationNumber ? `登记编号 ${doc.registrationNumber}` : null, reasonCode ? `不予登记理由第 ${reasonCode} 项` : null, note].filter(Boolean).join('；');
  const extraEn = [doc.registrationNumber ? `registration number ${doc.registrationNumber}` : null, reasonCode ? `refusal reason ${reasonCode}` : null, note].filter(Boolean).join('; ');
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
  if (kind === 'revoked') await markRegistrationRevoked(id, doc.revokedAt ? new Date(doc.revokedAt) : new Date());
  if (kind === 'registered' || kind === 'revoked') {
    try {
      await tallyAfterDecision(
        { queues: deps.queues, logger: deps.logger, redis: deps.redis, prefix: deps.config.queuePrefix, agencyCode: deps.config.agency.code, targetFen: deps.config.turnoverTargetFen },
        kind,
        doc,
      );
    } catch (err) {
      // The decision stands; the tally job or the reconciliation catches up.
      deps.logger.warn({ contractId: id, err: (err as Error).message }, 'turnover not updated at once');
    }
  }
  if (kind === 'registered' && deps.queues) {
    try {
      await enqueue(deps.queues, 'certificates', 'render', { contractId: id }, `cert-${id}`);
    } catch (err) {
      deps.logger.warn({ contractId: id, err: (err as Error).message }, 'certificate not enqueued; the sweeper will');
    }
  }
}

async function decide(deps: ReviewDeps, actor: CurrentUser, id: string, action: DecisionAction, note: string | null, reasonCode: number | null, ip?: string) {
  if (actor.role !== 'reviewer' && actor.role !== 'admin') throw new AppError('FORBIDDEN');
  const doc = await loadForBureau(id);
  if (doc.status !== 'in_review') throw notReviewable(doc.status, doc.registrationNumber);
  const payload: DecisionPayload = {
    action,
    contractId: id,
    submission: doc.submissionCount ?? 0,
    note,
    reasonCode,
    actorId: actor.id,
    actorName: actor.name,
    at: new Date(),
  };
  if (!(await claimOnce(decisionKey(id, payload.submission), payload))) {
    // Someone else decided a moment ago: show the state their decision leads to.
    await completeDecision(deps, decisionKey(id, payload.submission));
    const current = await settledState(id, 'in_review');
    throw notReviewable(current.status, current.registrationNumber);
  }
  const after = await applyDecision(deps, payload);
  await recordAudit({ actor, action: `contract.${action}`, targetType: 'contract', targetId: id, ip, details: { note, reasonCode, registrationNumber: after.registrationNumber ?? null } });
  return after;
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
  if (!(await claimOnce(revokeKey(id), { reason, actorId: actor.id, actorName: actor.name, at }))) {
    await completeRevocation(deps, id);
    throw notRegistered((await settledState(id, 'registered')).status);
  }
  await applyRevocation(deps, id, { reason, actorId: actor.id, actorName: actor.name, at });
  await recordAudit({ actor, action: 'contract.revoked', targetType: 'contract', targetId: id, ip, details: { reason, registrationNumber: doc.registrationNumber } });
  return { status: 'revoked' as const };
}

async function applyRevocation(deps: ReviewDeps, id: string, p: { reason: string; actorId: string; actorName: string; at: Date }) {
  const at = new Date(p.at);
  const { doc } = await mutateDoc<ContractDoc>(Contract, id, (d) =>
    d.status !== 'registered'
      ? null
      : {
          status: 'revoked',
          revokedAt: at,
          history: [...d.history, { at, actorId: new Types.ObjectId(p.actorId), actorName: p.actorName, action: 'revoked', note: p.reason }],
        },
  );
  if (doc.status === 'revoked') await decisionEffects(deps, doc, 'revoked', p.reason, null);
}

/** Finishes a claimed decision whose claimant stopped (older than the abandonment limit). */
async function completeDecision(deps: ReviewDeps, key: string, force = false): Promise<boolean> {
  const claim = await readClaim(key);
  if (!claim || (!force && Date.now() - claim.at.getTime() < ABANDONED_AFTER_MS)) return false;
  await applyDecision(deps, claim.payload as DecisionPayload);
  return true;
}

async function completeRevocation(deps: ReviewDeps, id: string, force = false): Promise<boolean> {
  const claim = await readClaim(revokeKey(id));
  if (!claim || (!force && Date.now() - claim.at.getTime() < ABANDONED_AFTER_MS)) return false;
  await applyRevocation(deps, id, claim.payload as { reason: string; actorId: string; actorName: string; at: Date });
  return true;
}

/**
 * The scheduled sweep: every decision and revocation claimed in the last day is carried out
 * to the end (status, number, notification, certificate). Repeating it is harmless.
 */
export async function completeDecisions(deps: ReviewDeps): Promise<number> {
  const since = new Date(Date.now() - 24 * 3600_000);
  const claims = await VersionClaim.find({ at: { $gte: since, $lt: new Date(Date.now() - ABANDONED_AFTER_MS) } }).select({ _id: 1 }).lean();
  let done = 0;
  for (const c of claims) {
    if (c._id.startsWith('decision:contracts:')) {
      if (await completeDecision(deps, c._id, true)) done++;
    } else if (c._id.startsWith('revoke:contracts:')) {
      if (await completeRevocation(deps, c._id.split(':')[2], true)) done++;
    }
  }
  return done;
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
  if (q.q) filter.searchText = { $regex: escapeRegex(q.q.toLowerCase()) };
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
  const late = await Contract.find({ status: { $in: ['submitted', 'in_review'] }, decisionDeadline: { $lt: today }, overdue: { $ne: true } }).select({ _id: 1 }).lean();
  let marked = 0;
  for (const c of late) {
    const { changed } = await mutateDoc<ContractDoc>(Contract, String(c._id), (d) =>
      ['submitted', 'in_review'].includes(d.status) && d.decisionDeadline && d.decisionDeadline < today && !d.overdue ? { overdue: true } : null,
    );
    if (changed) marked++;
  }
  const overdue = await Contract.countDocuments({ status: { $in: ['submitted', 'in_review'] }, overdue: true });
  return { overdue, marked };
}

export async function listOverdue() {
  return (await Contract.find({ status: { $in: ['submitted', 'in_review'] }, overdue: true }).sort({ decisionDeadline: 1 }).select({ history: 0, draftRaw: 0 }).lean()) as ContractDoc[];
}

export const isOpen = (status: string) => (['submitted', 'in_review'] as ContractStatus[]).includes(status as ContractStatus);
