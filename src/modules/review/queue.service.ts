/** The review queue (filtered, earliest deadline first) and the deadline watch. */
import { z } from 'zod';
import { addWorkingDays, workingDaysBetween } from '../../domain/calendar';
import { CONTRACT_TYPE_CODES } from '../../domain/codes';
import { parseYuan } from '../../domain/money';
import { AWAITING_BUREAU } from '../../domain/statuses';
import { cstDate } from '../../domain/time';
import { AppError } from '../../lib/errors';
import { parseInput } from '../../lib/validation';
import { Contract, type ContractDoc } from '../contracts/contract.model';
import { textFilter } from '../contracts/contracts.service';

export const queueQuerySchema = z.object({
  status: z.enum(['submitted', 'in_review', 'registered', 'returned', 'refused', 'revoked', 'withdrawn', 'cancelled', 'all']).default('in_review'),
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
    { status: { $in: AWAITING_BUREAU }, decisionDeadline: { $lt: today }, overdue: { $ne: true } },
    { $set: { overdue: true } },
  );
  const overdue = await Contract.countDocuments({ status: { $in: AWAITING_BUREAU }, overdue: true });
  return { overdue, marked };
}

export async function listOverdue() {
  return (await Contract.find({ status: { $in: AWAITING_BUREAU }, overdue: true }).sort({ decisionDeadline: 1 }).select({ history: 0, draftRaw: 0 }).lean()) as ContractDoc[];
}
