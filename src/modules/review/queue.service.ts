/** The review queue (filtered, earliest deadline first) and the deadline watch. */
import { z } from 'zod';
import { addWorkingDays, workingDaysBetween } from '../../domain/calendar';
import { CONTRACT_TYPE_CODES } from '../../domain/codes';
import { parseYuan } from '../../domain/money';
import { AWAITING_BUREAU, type ContractStatus, type RequestStatus } from '../../domain/statuses';
import { cstDate } from '../../domain/time';
import { AppError } from '../../lib/errors';
import { parseInput } from '../../lib/validation';
import type { Model } from 'mongoose';
import { Contract, type ContractDoc } from '../contracts/contract.model';
import { RegistrationRequest, type RequestDoc } from '../contracts/request.model';
import { textFilter } from '../contracts/contracts.service';
import { notifyEventQuietly, type NotifyDeps } from '../notifications/notifications.events';
import { notifiedAlready } from '../notifications/notifications.service';
import { RECEIVED_DIGEST_MINUTES } from '../notifications/catalogue';

export const queueQuerySchema = z.object({
  status: z.enum(['submitted', 'in_review', 'registered', 'returned', 'refused', 'revoked', 'withdrawn', 'cancelled', 'all']).default('in_review'),
  type: z.enum(CONTRACT_TYPE_CODES).optional().or(z.literal('').transform(() => undefined)),
  deadline: z.enum(['overdue', 'soon', '']).optional(),
  findings: z.enum(['error', 'warning', 'any', 'none', '']).optional(),
  minAmount: z.string().max(20).optional(),
  maxAmount: z.string().max(20).optional(),
  q: z.string().trim().max(100).optional(),
  /** First filings, change or cancellation requests, or all of them. */
  kind: z.enum(['all', 'filing', 'change', 'cancellation']).default('all').or(z.literal('').transform(() => 'all' as const)),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(25),
});

/** Working days within which a deadline counts as "nearly due". */
export const SOON_WORKING_DAYS = 3;

type QueueQuery = z.output<typeof queueQuerySchema>;

/** The filters a queue query sets on the filings and, unless it rules them out, on the requests. */
function queueFilters(q: QueueQuery, today: string) {
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
  // Requests are found by the same filter, on their copy of the contract's title, type and number; they have no amounts of their own.
  const requestFilter: Record<string, unknown> | null = Object.keys(amount).length || q.kind === 'filing' ? null : { ...filter };
  if (requestFilter) {
    delete requestFilter.type;
    if (q.type) requestFilter.contractType = q.type;
    if (q.kind === 'change' || q.kind === 'cancellation') requestFilter.kind = q.kind;
    if (q.q) Object.assign(requestFilter, textFilter(q.q, 'public'));
  }
  if (q.q) Object.assign(filter, textFilter(q.q, 'private'));
  return { filter, requestFilter, withFilings: q.kind === 'all' || q.kind === 'filing' };
}

const QUEUE_SORT = { decisionDeadline: 1, submittedAt: 1, _id: 1 } as const;

const filingRow = (c: ContractDoc): QueueRow => ({ ...c, kind: 'filing' as const, contractId: String(c._id) });
const requestRow = (r: RequestDoc): QueueRow => ({
  _id: r._id,
  kind: r.kind,
  contractId: String(r.contractId),
  status: r.status,
  title: r.contractTitle,
  type: r.contractType,
  registrationNumber: r.registrationNumber,
  seller: null,
  contractAmountFen: null,
  technicalAmountFen: null,
  submittedAt: r.submittedAt,
  decisionDeadline: r.decisionDeadline,
  expertReview: r.expertReview,
  findings: r.findings,
});

/** Earliest deadline first, then earliest submission: the order of filings and requests merged. */
function byDeadline(rows: QueueRow[]): QueueRow[] {
  const key = (x: QueueRow) => [x.decisionDeadline ?? '\uffff', x.submittedAt ? new Date(x.submittedAt).toISOString() : '\uffff', String(x._id)].join('|');
  return rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** How close each open row is to its deadline, in working days. */
function withUrgency(rows: QueueRow[], today: string) {
  return rows.map((c) => {
    const open = c.status === 'submitted' || c.status === 'in_review';
    const left = c.decisionDeadline && open ? (c.decisionDeadline < today ? -1 : workingDaysBetween(today, c.decisionDeadline)) : null;
    return { ...c, urgency: left === null ? 'none' : left < 0 ? 'overdue' : left <= SOON_WORKING_DAYS ? 'soon' : 'ok', workingDaysLeft: left };
  });
}

/** The bureau's queue: filtered, sorted by decision deadline (earliest first). */
export async function listReviewQueue(rawQuery: unknown, today = cstDate(new Date())) {
  const q = parseInput(queueQuerySchema, rawQuery);
  const { filter, requestFilter, withFilings } = queueFilters(q, today);
  // One list sorted by deadline across both: each side's first page × size items, merged.
  const upTo = q.page * q.pageSize;
  const [filings, filingTotal, requests, requestTotal] = await Promise.all([
    withFilings ? Contract.find(filter).sort(QUEUE_SORT).limit(requestFilter ? upTo : q.pageSize).skip(requestFilter ? 0 : (q.page - 1) * q.pageSize).select({ history: 0, draftRaw: 0 }).lean() : [],
    withFilings ? Contract.countDocuments(filter) : 0,
    requestFilter ? RegistrationRequest.find(requestFilter).sort(QUEUE_SORT).limit(upTo).select({ history: 0 }).lean() : [],
    requestFilter ? RegistrationRequest.countDocuments(requestFilter) : 0,
  ]);
  const rows = [...(filings as ContractDoc[]).map(filingRow), ...(requests as RequestDoc[]).map(requestRow)];
  const page = requestFilter ? byDeadline(rows).slice((q.page - 1) * q.pageSize, upTo) : rows;
  return { items: withUrgency(page, today), page: q.page, pageSize: q.pageSize, total: filingTotal + requestTotal, query: q };
}

/**
 * Every row the query selects, not one page (for exports): at most `limit`, earliest deadline
 * first, with the total that matched so a cut list can say so.
 */
export async function allQueueRows(rawQuery: unknown, limit: number, today = cstDate(new Date())) {
  const q = parseInput(queueQuerySchema, rawQuery);
  const { filter, requestFilter, withFilings } = queueFilters(q, today);
  const [filings, filingTotal, requests, requestTotal] = await Promise.all([
    withFilings ? Contract.find(filter).sort(QUEUE_SORT).limit(limit).select({ history: 0, draftRaw: 0, attachments: 0 }).lean() : [],
    withFilings ? Contract.countDocuments(filter) : 0,
    requestFilter ? RegistrationRequest.find(requestFilter).sort(QUEUE_SORT).limit(limit).select({ history: 0 }).lean() : [],
    requestFilter ? RegistrationRequest.countDocuments(requestFilter) : 0,
  ]);
  const rows = byDeadline([...(filings as ContractDoc[]).map(filingRow), ...(requests as RequestDoc[]).map(requestRow)]).slice(0, limit);
  return { items: withUrgency(rows, today), total: filingTotal + requestTotal, query: q };
}

/** A row of the queue: a first filing, or a change or cancellation request (with the contract's title and type). */
export interface QueueRow {
  _id: unknown;
  kind: 'filing' | 'change' | 'cancellation';
  contractId: string;
  status: string;
  title?: string | null;
  type?: string | null;
  registrationNumber?: string | null;
  seller?: { name?: string | null } | null;
  contractAmountFen?: number | null;
  technicalAmountFen?: number | null;
  submittedAt?: Date | null;
  decisionDeadline?: string | null;
  expertReview?: boolean | null;
  findings?: { code?: string | null; severity?: string | null }[];
}

// ── Deadline watch ─────────────────────────────────────────────────────────────────────

/**
 * Marks open filings past their decision deadline, and tells reviewers and admins of those due
 * within SOON_WORKING_DAYS working days and of those overdue: once per filing (or request),
 * kind and deadline, however often it runs (a new deadline, after expert review or a
 * resubmission, is told again).
 */
export async function watchDeadlines(today = cstDate(new Date()), notifyDeps: NotifyDeps = { queues: null }): Promise<{ overdue: number; marked: number; notified: number }> {
  let marked = 0;
  let overdue = 0;
  let notified = 0;
  // Filings, and change and cancellation requests, by the same rule.
  for (const model of [Contract, RegistrationRequest] as Model<any>[]) {
    marked += (await model.updateMany({ status: { $in: AWAITING_BUREAU }, decisionDeadline: { $lt: today }, overdue: { $ne: true } }, { $set: { overdue: true } })).modifiedCount;
    overdue += await model.countDocuments({ status: { $in: AWAITING_BUREAU }, overdue: true });
    notified += await noticeDeadlines(model, today, notifyDeps);
  }
  return { overdue, marked, notified };
}

/** The due-soon and overdue notices of one collection's open filings (or requests) not yet given. */
async function noticeDeadlines(model: Model<any>, today: string, deps: NotifyDeps): Promise<number> {
  const isRequest = model === (RegistrationRequest as Model<any>);
  const open = (await model
    .find({ status: { $in: AWAITING_BUREAU }, decisionDeadline: { $lte: addWorkingDays(today, SOON_WORKING_DAYS) } })
    .select({ title: 1, contractTitle: 1, kind: 1, contractId: 1, decisionDeadline: 1 })
    .lean()) as { _id: unknown; title?: string; contractTitle?: string; kind?: string; contractId?: unknown; decisionDeadline: string }[];
  const notices = open.map((d) => {
    const late = d.decisionDeadline < today;
    const id = String(d._id);
    return { d, late, key: `${isRequest ? 'request' : 'contract'}:${id}:${late ? 'overdue' : 'due_soon'}:${d.decisionDeadline}` };
  });
  // Those already given are skipped in one read, not by a failed insert each, hour after hour.
  const given = await notifiedAlready(notices.map((n) => n.key));
  let count = 0;
  for (const { d, late, key } of notices) {
    if (given.has(key)) continue;
    const id = String(d._id);
    const about = {
      contractId: String(isRequest ? d.contractId : d._id),
      what: isRequest ? (d.kind ?? 'change') : 'filing',
      title: (isRequest ? d.contractTitle : d.title) || '—',
      deadline: d.decisionDeadline,
      reviewPath: isRequest ? `requests/${id}` : id,
    };
    if (late) await notifyEventQuietly(deps, 'deadline.overdue', about, key);
    else await notifyEventQuietly(deps, 'deadline.due_soon', { ...about, daysLeft: workingDaysBetween(today, d.decisionDeadline) }, key);
    count++;
  }
  return count;
}

// ── The reviewers' digest of new filings ───────────────────────────────────────────────

const DIGEST_SLOT_MS = RECEIVED_DIGEST_MINUTES * 60_000;
/** How long after a slot ends it is counted (verification follows a submission within seconds). */
const DIGEST_GRACE_MS = 60_000;
/** Statuses a filing or request submitted in a slot can have once it reached the queue. */
const REACHED_REVIEW: ContractStatus[] = ['in_review', 'registered', 'returned', 'refused', 'withdrawn', 'revoked', 'cancelled'];

/**
 * Tells reviewers how many filings and change or cancellation requests reached the queue, one
 * notification per ten-minute slot (aligned to the clock) that had any. Run every minute by the
 * maintenance job: it counts the slots ended lately that have no digest yet (two counts each,
 * no work per filing), and the slot's key makes each digest once-only.
 */
export async function sendFilingDigests(deps: NotifyDeps, now = new Date(), slots = 6): Promise<number> {
  const lastEnd = Math.floor((now.getTime() - DIGEST_GRACE_MS) / DIGEST_SLOT_MS) * DIGEST_SLOT_MS;
  const ends = Array.from({ length: slots }, (_, i) => lastEnd - i * DIGEST_SLOT_MS);
  const keyOf = (end: number) => `digest:filings_received:${end}`;
  const done = await notifiedAlready(ends.map(keyOf));
  let sent = 0;
  for (const end of ends) {
    if (done.has(keyOf(end))) continue;
    const submittedAt = { $gte: new Date(end - DIGEST_SLOT_MS), $lt: new Date(end) };
    const [filings, requests] = await Promise.all([
      Contract.countDocuments({ submittedAt, status: { $in: REACHED_REVIEW } }),
      RegistrationRequest.countDocuments({ submittedAt, status: { $in: REACHED_REVIEW.filter((x) => x !== 'revoked' && x !== 'cancelled') as RequestStatus[] } }),
    ]);
    if (!filings && !requests) continue;
    await notifyEventQuietly(deps, 'filing.received', { count: filings + requests, filings, requests }, keyOf(end));
    sent++;
  }
  return sent;
}

export async function listOverdue() {
  return (await Contract.find({ status: { $in: AWAITING_BUREAU }, overdue: true }).sort({ decisionDeadline: 1 }).select({ history: 0, draftRaw: 0 }).lean()) as ContractDoc[];
}
