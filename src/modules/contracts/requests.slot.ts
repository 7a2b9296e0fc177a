/**
 * A registered contract's one slot for an open change or cancellation request
 * (`Contract.openRequestId`). Taking and giving it back are conditional single-document
 * updates, so of two requests created at once exactly one gets it.
 */
import { Types } from 'mongoose';
import { isOpenRequest, OPEN_REQUEST_STATUSES } from '../../domain/statuses';
import { changeIf } from '../../lib/transitions';
import { Contract, type ContractDoc } from './contract.model';
import { RegistrationRequest } from './request.model';

/** How long a slot may point at a request not yet written before it counts as abandoned (its creator died). */
const ABANDONED_AFTER_MS = 60_000;

export type SlotResult = { taken: true } | { taken: false; reason: 'not_registered'; status: string } | { taken: false; reason: 'open'; requestId: string };

/** Takes the slot of a registered contract for `requestId`; frees a slot left by a request that is closed or was never written. */
export async function takeRequestSlot(contractId: Types.ObjectId, requestId: Types.ObjectId): Promise<SlotResult> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const at = new Date();
    if (await changeIf(Contract, { _id: contractId, status: 'registered', openRequestId: null }, { $set: { openRequestId: requestId, openRequestAt: at } })) return { taken: true };
    const c = (await Contract.findById(contractId).select({ status: 1, openRequestId: 1, openRequestAt: 1 }).lean()) as ContractDoc | null;
    if (!c || c.status !== 'registered') return { taken: false, reason: 'not_registered', status: c?.status ?? 'unknown' };
    if (!c.openRequestId) continue; // freed meanwhile
    const holder = await RegistrationRequest.findById(c.openRequestId).select({ status: 1 }).lean();
    const abandoned = !holder && (!c.openRequestAt || Date.now() - new Date(c.openRequestAt).getTime() > ABANDONED_AFTER_MS);
    if (holder ? isOpenRequest(holder.status) : !abandoned) return { taken: false, reason: 'open', requestId: String(c.openRequestId) };
    await releaseRequestSlot(contractId, c.openRequestId);
  }
  return { taken: false, reason: 'open', requestId: '' };
}

/** Gives the slot back if `requestId` still holds it (idempotent). */
export async function releaseRequestSlot(contractId: Types.ObjectId, requestId: Types.ObjectId): Promise<void> {
  await changeIf(Contract, { _id: contractId, openRequestId: requestId }, { $set: { openRequestId: null, openRequestAt: null } });
}

/**
 * A revoked registration's open request lapses: it is closed (as withdrawn, with a note) and
 * its slot freed. Idempotent; an approval that lost the race to the revocation ends the same way.
 */
export async function closeOpenRequest(c: Pick<ContractDoc, '_id' | 'openRequestId'>): Promise<void> {
  if (!c.openRequestId) return;
  await RegistrationRequest.updateOne(
    { _id: c.openRequestId, status: { $in: OPEN_REQUEST_STATUSES } },
    { $set: { status: 'withdrawn', pendingEffects: null }, $inc: { version: 1 }, $push: { history: { at: new Date(), actorId: null, actorName: null, action: 'lapsed', note: null } } },
  );
  await releaseRequestSlot(c._id, c.openRequestId);
}
