/** Writes audit entries. Callers pass who did what to which record. */
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
