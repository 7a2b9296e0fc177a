/**
 * The bureau's side of changes and cancellations: verification (the filing's checks on the
 * contract as it would be after the change), and decisions (approve, return, refuse) with
 * their follow-up.
 *
 * As for filings, a decision is one conditional update of the request (of two reviewers
 * acting at once exactly one wins; the other gets 409). An approval fixes, in that same update,
 * everything its follow-up needs (when it takes effect, the version it makes, the values it
 * replaces, the tally facts it takes out and puts in) and marks the request `pendingEffects`.
 * The follow-up then applies it to the contract (conditional on the request still holding the
 * contract's slot, so a revocation that got in first wins, and the approval lapses), records
 * the ledger entry, notifies, queues the new certificate, and clears the mark. Every step is
 * idempotent: the sweeper finishes what a crash interrupted.
 */
import { Types } from 'mongoose';
import { encodeFact, factOf, redate } from '../../domain/tally';
import { AppError, conflict, notFound } from '../../lib/errors';
import { enqueueNow } from '../../lib/queues';
import { changeIf, updateIf } from '../../lib/transitions';
import { parseInput } from '../../lib/validation';
import type { CurrentUser } from '../accounts/current-user';
import { recordAudit } from '../audit/audit.service';
import { Contract, type ContractDoc } from '../contracts/contract.model';
import { fieldsOf, fieldsSet } from '../contracts/contracts.service';
import { RegistrationRequest, type RequestDoc } from '../contracts/request.model';
import { closeOpenRequest, releaseRequestSlot } from '../contracts/requests.slot';
import { notifyEvent } from '../notifications/notifications.events';
import { certificateJobId } from '../review/certificate';
import { approveSchema, EFFECTS_GRACE_MS, refuseSchema, returnSchema, sendToExpertReview, settled, type ReviewDeps } from '../review/decisions.service';
import { checkFiling, SYSTEM } from '../review/verification.service';
import { tallyAfterRequest } from '../turnover/turnover.service';
import { mergedFields } from './requests.service';

// ── Verification ───────────────────────────────────────────────────────────────────────

/** Codes of the checks that concern a cancellation: its agreement must be there and readable. */
const CANCELLATION_CHECKS = new Set(['PDF_MISSING', 'PDF_UNREADABLE']);

/**
 * Runs the filing's checks on the contract as the change would leave it (a cancellation: only
 * its PDF), sets the decision deadline and moves the request to review. A retried job changes
 * nothing: it only acts on the same submission still in `submitted`.
 */
export async function verifyRequest(requestId: string, submission: number, agencyCode: string): Promise<'verified' | 'skipped'> {
  const r = (await RegistrationRequest.findById(requestId).lean()) as RequestDoc | null;
  if (!r || r.status !== 'submitted' || r.submissionCount !== submission) return 'skipped';
  const contract = (await Contract.findById(r.contractId).lean()) as ContractDoc | null;
  if (!contract) return 'skipped';
  const checked = await checkFiling(mergedFields(contract, r), r.attachments ?? [], r.submittedAt ?? null, { agencyCode, exclude: [String(r._id), String(contract._id)] });
  const findings = r.kind === 'cancellation' ? checked.findings.filter((f) => CANCELLATION_CHECKS.has(f.code)) : checked.findings;
  const moved = await changeIf(
    RegistrationRequest,
    { _id: r._id, status: 'submitted', submissionCount: submission },
    {
      $set: { status: 'in_review', findings, expertReview: checked.expertReview && r.kind === 'change', decisionDeadline: checked.decisionDeadline, overdue: false },
      $push: { history: { at: new Date(), actorId: null, actorName: SYSTEM.name, action: 'verified', note: null } },
    },
  );
  return moved ? 'verified' : 'skipped';
}

// ── Decisions ──────────────────────────────────────────────────────────────────────────

type RequestDecision = 'registered' | 'returned' | 'refused';

const notReviewable = (status: string) => conflict('REQUEST_NOT_IN_REVIEW', 'errors.requestNotInReview', { current: { status } });
const contractNotRegistered = (status: string) => conflict('CONTRACT_NOT_REGISTERED', 'errors.contractNotRegistered', { current: { status } });

async function loadForBureau(id: string): Promise<RequestDoc> {
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const doc = (await RegistrationRequest.findById(id).lean()) as RequestDoc | null;
  if (!doc) throw notFound();
  return doc;
}

/** What an approval fixes, computed from the contract as registered now (only this request can change it until then). */
function approvalOf(contract: ContractDoc, r: RequestDoc, at: Date, agencyCode: string) {
  const current = fieldsOf(contract);
  const after = mergedFields(contract, r);
  const before: Record<string, unknown> = {};
  for (const k of Object.keys(r.changes ?? {})) before[k] = (current as Record<string, unknown>)[k] ?? null;
  // The contract's amounts as it counts now, and as it will: both in the year and month the change is registered.
  const outFact = redate(factOf({ ...contract, registeredAt: contract.registeredAt! }, agencyCode), at);
  const inFact = r.kind === 'change' ? redate(factOf({ ...after, direction: contract.direction, registeredAt: contract.registeredAt! } as never, agencyCode), at) : null;
  return {
    at,
    version: (contract.registrationVersion ?? 1) + (r.kind === 'change' ? 1 : 0),
    before,
    outFact: encodeFact(outFact),
    inFact: inFact ? encodeFact(inFact) : null,
  };
}

async function decideRequest(deps: ReviewDeps, actor: CurrentUser, id: string, action: RequestDecision, note: string | null, reasonCode: number | null, ip?: string) {
  if (actor.role !== 'reviewer' && actor.role !== 'admin') throw new AppError('FORBIDDEN');
  const r = await loadForBureau(id);
  if (r.status !== 'in_review') throw notReviewable(r.status);
  const at = new Date();
  const set: Record<string, unknown> = { status: action, decision: { action, reasonCode, note, at, actorId: new Types.ObjectId(actor.id), actorName: actor.name }, pendingEffects: action };
  if (action === 'registered') {
    const contract = (await Contract.findById(r.contractId).lean()) as ContractDoc | null;
    if (!contract || contract.status !== 'registered') throw contractNotRegistered(contract?.status ?? 'unknown');
    if (String(contract.openRequestId) !== String(r._id)) throw contractNotRegistered(contract.status);
    set.applied = approvalOf(contract, r, at, deps.config.agency.code);
  }
  const won = await updateIf<RequestDoc>(
    RegistrationRequest,
    { _id: r._id, status: 'in_review' },
    { $set: set, $push: { history: { at, actorId: new Types.ObjectId(actor.id), actorName: actor.name, action, note } } },
  );
  if (!won) throw notReviewable((await loadForBureau(id)).status);
  const done = await carryOutRequestDecision(deps, won, {
    alongside: () => recordAudit({ actor, action: `request.${action}`, targetType: 'request', targetId: id, ip, details: { kind: r.kind, contractId: String(r.contractId), note, reasonCode } }),
  });
  if (done === 'lapsed') throw contractNotRegistered((await Contract.findById(r.contractId).select({ status: 1 }).lean())?.status ?? 'unknown');
  return won;
}

/**
 * Applies an approved request to its contract, once: the new values and version (a change) or
 * the cancelled status (a cancellation), the slot given back, in one conditional update. True
 * if it is applied (now or before); false if the contract left `registered` first (revoked).
 */
async function applyToContract(r: RequestDoc): Promise<boolean> {
  const contract = (await Contract.findById(r.contractId).lean()) as ContractDoc | null;
  if (!contract) return false;
  if ((contract.appliedRequests ?? []).some((x) => String(x) === String(r._id))) return true;
  const applied = r.applied!;
  const at = new Date(applied.at!);
  const entry = { at, actorId: r.decision?.actorId ?? null, actorName: r.decision?.actorName ?? null, action: r.kind === 'change' ? 'changed' : 'cancelled', note: r.reason };
  const set: Record<string, unknown> =
    r.kind === 'change'
      ? { ...fieldsSet(mergedFields(contract, r), contract.registrationNumber), registrationVersion: applied.version, certificateFileId: null }
      : { status: 'cancelled', cancelledAt: at };
  return changeIf(
    Contract,
    { _id: contract._id, status: 'registered', openRequestId: r._id },
    { $set: { ...set, openRequestId: null, openRequestAt: null }, $push: { history: entry, appliedRequests: r._id } },
  );
}

/** The applicant's notification of a decision on their request (the catalogue words it). */
async function notifyRequestDecision(deps: ReviewDeps, r: RequestDoc, kind: RequestDecision) {
  const key = `request:${r._id}:${kind}:s${r.submissionCount}`;
  const about = { contractId: String(r.contractId), organizationId: String(r.organizationId), title: r.contractTitle ?? '' };
  const registrationNumber = r.registrationNumber ?? '';
  const note = r.decision?.note ?? null;
  const reason = r.decision?.reasonCode ?? 9;
  if (r.kind === 'change') {
    if (kind === 'registered') await notifyEvent(deps, 'change.registered', { ...about, registrationNumber, version: r.applied?.version ?? 2, note }, key);
    else if (kind === 'returned') await notifyEvent(deps, 'change.returned', { ...about, registrationNumber, note: note ?? '' }, key);
    else await notifyEvent(deps, 'change.refused', { ...about, registrationNumber, reason, note }, key);
  } else {
    if (kind === 'registered') await notifyEvent(deps, 'cancellation.registered', { ...about, registrationNumber, note }, key);
    else if (kind === 'returned') await notifyEvent(deps, 'cancellation.returned', { ...about, registrationNumber, note: note ?? '' }, key);
    else await notifyEvent(deps, 'cancellation.refused', { ...about, registrationNumber, reason, note }, key);
  }
}

/**
 * Carries out the decision a request is marked with, to the end; idempotent. 'lapsed': an
 * approval whose contract was revoked first (the request is closed, nothing is counted).
 */
async function carryOutRequestDecision(deps: ReviewDeps, r: RequestDoc, { alongside }: { alongside?: () => Promise<unknown> } = {}): Promise<'done' | 'lapsed' | 'pending'> {
  const kind = r.pendingEffects as RequestDecision | null;
  if (!kind) return 'done';
  if (kind === 'registered' && !(await applyToContract(r))) {
    // The revocation won: the approval lapses, and the request closes with a note.
    await RegistrationRequest.updateOne(
      { _id: r._id, status: 'registered', pendingEffects: 'registered' },
      {
        $set: { status: 'withdrawn', pendingEffects: null, applied: null },
        $inc: { version: 1 },
        // Its label says why (action.lapsed: the registration was revoked); no note in one language.
        $push: { history: { at: new Date(), actorId: null, actorName: null, action: 'lapsed', note: null } },
      },
    );
    await closeOpenRequest({ _id: r.contractId, openRequestId: r._id });
    return 'lapsed';
  }
  const steps: Promise<boolean>[] = [
    notifyRequestDecision(deps, r, kind).then(() => true),
    alongside ? alongside().then(() => true) : Promise.resolve(true),
  ];
  if (kind === 'refused') steps.push(releaseRequestSlot(r.contractId, r._id).then(() => true));
  if (kind === 'registered') {
    steps.push(
      tallyAfterRequest(
        { queues: deps.queues, logger: deps.logger, redis: deps.redis, prefix: deps.config.queuePrefix, agencyCode: deps.config.agency.code, targetFen: deps.config.turnoverTargetFen },
        r,
      ).then(
        () => true,
        (err: Error) => {
          deps.logger.warn({ requestId: String(r._id), err: err.message }, 'turnover not updated at once');
          return false; // stays marked: the sweeper and the reconciliation catch up
        },
      ),
    );
    if (r.kind === 'change' && deps.queues) {
      const contractId = String(r.contractId);
      steps.push(
        enqueueNow(deps.queues, 'certificates', 'render', { contractId }, certificateJobId(contractId, r.applied?.version)).then(
          () => true,
          (err: Error) => {
            deps.logger.warn({ contractId, err: err.message }, 'certificate not enqueued; the sweeper will');
            return true;
          },
        ),
      );
    }
  }
  const done = (await settled(steps)).every(Boolean);
  if (!done) return 'pending';
  await RegistrationRequest.updateOne({ _id: r._id, pendingEffects: kind }, { $set: { pendingEffects: null } });
  return 'done';
}

export async function approveRequest(deps: ReviewDeps, actor: CurrentUser, id: string, input: unknown, ip?: string) {
  const { note } = parseInput(approveSchema, input ?? {});
  const r = await decideRequest(deps, actor, id, 'registered', note || null, null, ip);
  return { status: 'registered' as const, kind: r.kind, version: r.applied?.version ?? null };
}

export async function returnRequest(deps: ReviewDeps, actor: CurrentUser, id: string, input: unknown, ip?: string) {
  const { reason } = parseInput(returnSchema, input ?? {});
  await decideRequest(deps, actor, id, 'returned', reason, null, ip);
  return { status: 'returned' as const };
}

export async function refuseRequest(deps: ReviewDeps, actor: CurrentUser, id: string, input: unknown, ip?: string) {
  const { reasonCode, note } = parseInput(refuseSchema, input ?? {});
  await decideRequest(deps, actor, id, 'refused', note || null, reasonCode, ip);
  return { status: 'refused' as const };
}

export async function sendRequestToExpertReview(actor: CurrentUser, id: string, input: unknown, ip?: string) {
  return sendToExpertReview(RegistrationRequest, actor, id, input, { ip, targetType: 'request' });
}

/** The sweep: every request decision still marked pending a while after its last change is carried out to the end. */
export async function completeRequestDecisions(deps: ReviewDeps, graceMs = EFFECTS_GRACE_MS): Promise<number> {
  const stuck = (await RegistrationRequest.find({ pendingEffects: { $type: 'string' }, updatedAt: { $lt: new Date(Date.now() - graceMs) } })
    .limit(1000)
    .lean()) as RequestDoc[];
  for (const r of stuck) await carryOutRequestDecision(deps, r);
  return stuck.length;
}
