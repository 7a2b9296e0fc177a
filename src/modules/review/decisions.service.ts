/**
 * The bureau's decisions on filings: register, return, refuse, revoke, and sending a disputed
 * filing to expert review.
 *
 * A decision is one atomic conditional update of the contract (of two reviewers, or a
 * reviewer and a withdrawing applicant, acting at once exactly one wins; the other gets 409
 * with the state that won). Only then is it carried out, idempotently: number, ledger,
 * notification, certificate. The update also marks the contract `pendingEffects`; if the
 * process dies before clearing that mark, `completeDecisions` (a scheduled job) finishes.
 */
import { Types, type Model } from 'mongoose';
import { z } from 'zod';
import { addWorkingDays } from '../../domain/calendar';
import { cstDate, cstYear } from '../../domain/time';
import type { Config } from '../../config';
import { AppError, conflict, notFound } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { enqueueNow, type Queues } from '../../lib/queues';
import { updateIf } from '../../lib/transitions';
import { parseInput, text } from '../../lib/validation';
import type { CurrentUser } from '../accounts/current-user';
import { recordAudit } from '../audit/audit.service';
import { Contract, type ContractDoc } from '../contracts/contract.model';
import { notifyEvent } from '../notifications/notifications.events';
import { closeOpenRequest } from '../contracts/requests.slot';
import { certificateJobId } from './certificate';
import { markRegistrationRevoked, numberRegistration } from '../registrations/registration-numbers';
import { tallyAfterDecision } from '../turnover/turnover.service';
import type { Redis } from 'ioredis';

export interface ReviewDeps {
  queues: Queues | null;
  logger: Logger;
  config: Pick<Config, 'agency' | 'publicUrl' | 'queuePrefix' | 'turnoverTargetFen'>;
  /** For publishing the live turnover figure at once. */
  redis?: Redis;
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

/**
 * What follows a decision: the applicant's notification, the ledger entry, the certificate job.
 * All idempotent and independent of each other, so they run side by side. True when all done.
 */
async function decisionEffects(deps: ReviewDeps, doc: ContractDoc, kind: string, note: string | null, reasonCode: number | null, firstRun: boolean): Promise<boolean> {
  const id = String(doc._id);
  const notification = async () => {
    const key = `contract:${id}:${kind}:${kind === 'revoked' ? 'final' : `s${doc.submissionCount}`}`;
    const about = { contractId: id, organizationId: String(doc.organizationId), title: doc.title ?? '' };
    const registrationNumber = doc.registrationNumber ?? '';
    if (kind === 'registered') await notifyEvent(deps, 'filing.registered', { ...about, registrationNumber, note }, key);
    else if (kind === 'returned') await notifyEvent(deps, 'filing.returned', { ...about, note: note ?? '' }, key);
    // The refusal reason in its official words (the catalogue's), not by its number.
    else if (kind === 'refused') await notifyEvent(deps, 'filing.refused', { ...about, reason: reasonCode ?? 9, note }, key);
    else if (kind === 'revoked') await notifyEvent(deps, 'filing.revoked', { ...about, registrationNumber, note }, key);
    return true;
  };
  const ledger = async () => {
    if (kind === 'revoked') {
      await markRegistrationRevoked(id, doc.revokedAt ? new Date(doc.revokedAt) : new Date());
      await closeOpenRequest(doc);
    }
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
        await enqueueNow(deps.queues, 'certificates', 'render', { contractId: id }, certificateJobId(id, doc.registrationVersion));
      } catch (err) {
        deps.logger.warn({ contractId: id, err: (err as Error).message }, 'certificate not enqueued; the sweeper will');
      }
    }
    return true;
  };
  return (await settled([notification(), ledger(), certificate()])).every(Boolean);
}

/** Waits for every promise (none left running behind a failure), then throws the first failure. */
export async function settled<T>(promises: Promise<T>[]): Promise<T[]> {
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
  if (action === 'registered') Object.assign(set, { registeredAt: at, registrationYear: cstYear(at), certificateFileId: null, registrationVersion: 1 });
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

// ── Expert review ──────────────────────────────────────────────────────────────────────

export const expertReviewSchema = z.object({ note: text(2000) });

/** Working days the bureau has once a disputed filing goes to expert review (DOMAIN.md). */
export const EXPERT_REVIEW_WORKING_DAYS = 30;

/**
 * A reviewer sends a disputed filing (or change or cancellation request) to expert review
 * (专家评审) with a note: its decision deadline becomes 30 working days from today, by the
 * calendar in force today. Once per submission; 409 unless in review.
 */
export async function sendToExpertReview(
  model: Model<any>,
  actor: CurrentUser,
  id: string,
  input: unknown,
  { ip, targetType, today = cstDate(new Date()) }: { ip?: string; targetType: 'contract' | 'request'; today?: string },
): Promise<{ status: 'in_review'; expertReview: true; decisionDeadline: string }> {
  if (actor.role !== 'reviewer' && actor.role !== 'admin') throw new AppError('FORBIDDEN');
  const { note } = parseInput(expertReviewSchema, input ?? {});
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const at = new Date();
  const decisionDeadline = addWorkingDays(today, EXPERT_REVIEW_WORKING_DAYS);
  const won = await updateIf(
    model,
    { _id: new Types.ObjectId(id), status: 'in_review', expertReviewAt: null },
    {
      $set: { expertReview: true, expertReviewAt: at, decisionDeadline, overdue: false },
      $push: { history: { at, actorId: new Types.ObjectId(actor.id), actorName: actor.name, action: 'expert_review', note } },
    },
  );
  if (!won) {
    const current = (await model.findById(id).select({ status: 1, expertReviewAt: 1 }).lean()) as { status: string; expertReviewAt?: Date | null } | null;
    if (!current) throw notFound();
    if (current.status === 'in_review') throw conflict('ALREADY_IN_EXPERT_REVIEW', 'errors.alreadyInExpertReview', { current: { status: current.status } });
    throw notReviewable(current.status);
  }
  await recordAudit({ actor, action: `${targetType}.expert_review`, targetType, targetId: id, ip, details: { note, decisionDeadline } });
  return { status: 'in_review', expertReview: true, decisionDeadline };
}
