/** Writes audit entries. Callers pass who did what to which record. */
import { z } from 'zod';
import { cstDateTime } from '../../domain/time';
import { escapeRegex, parseInput } from '../../lib/validation';
import { AuditEntry } from './audit.model';

export interface Actor {
  id: string;
  email: string;
  role: string;
}

export interface AuditInput {
  actor: Actor | null;
  action: string;
  targetType?: string;
  targetId?: string;
  details?: Record<string, unknown>;
  ip?: string;
}

export async function recordAudit(input: AuditInput): Promise<void> {
  await AuditEntry.create({
    at: new Date(),
    actorId: input.actor?.id ?? null,
    actorEmail: input.actor?.email ?? null,
    actorRole: input.actor?.role ?? null,
    action: input.action,
    targetType: input.targetType ?? null,
    targetId: input.targetId ?? null,
    details: input.details ?? null,
    ip: input.ip ?? null,
  });
}

export const auditQuerySchema = z.object({
  action: z.string().trim().max(60).optional(),
  actor: z.string().trim().max(254).optional(),
  from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().or(z.literal('').transform(() => undefined)),
  to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().or(z.literal('').transform(() => undefined)),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});

function auditFilter(q: z.output<typeof auditQuerySchema>) {
  const filter: Record<string, unknown> = {};
  if (q.action) filter.action = { $regex: '^' + escapeRegex(q.action) };
  if (q.actor) filter.actorEmail = { $regex: escapeRegex(q.actor.toLowerCase()) };
  const at: Record<string, Date> = {};
  // Dates are CST calendar days.
  if (q.from) at.$gte = new Date(`${q.from}T00:00:00+08:00`);
  if (q.to) at.$lt = new Date(new Date(`${q.to}T00:00:00+08:00`).getTime() + 86_400_000);
  if (Object.keys(at).length) filter.at = at;
  return filter;
}

/** The audit log, newest first, searchable by action, actor and CST date range. */
export async function searchAudit(rawQuery: unknown) {
  const q = parseInput(auditQuerySchema, rawQuery);
  const filter = auditFilter(q);
  const [items, total] = await Promise.all([
    AuditEntry.find(filter).sort({ at: -1, _id: -1 }).skip((q.page - 1) * q.pageSize).limit(q.pageSize).lean(),
    AuditEntry.countDocuments(filter),
  ]);
  return { items, total, page: q.page, pageSize: q.pageSize, query: q };
}

/** The matching entries as CSV rows (Chinese headers), streamed in date order. */
export async function* auditCsvRows(rawQuery: unknown): AsyncGenerator<string[]> {
  const q = parseInput(auditQuerySchema, rawQuery);
  yield ['时间', '操作人', '角色', '操作', '对象类型', '对象', 'IP', '详情'];
  for await (const e of AuditEntry.find(auditFilter(q)).sort({ at: 1, _id: 1 }).lean().cursor()) {
    yield [cstDateTime(e.at), e.actorEmail ?? '', e.actorRole ?? '', e.action, e.targetType ?? '', e.targetId ?? '', e.ip ?? '', e.details ? JSON.stringify(e.details) : ''];
  }
}
