/**
 * Requests on a registered contract (API.md "After registration"): a change (变更登记, a
 * supplementary agreement varies amounts, parties, subject or term) or a cancellation (注销登记,
 * the contract was terminated). Each is filed by the contract's organisation with a reason and a
 * PDF, and reviewed like a filing: same checks, queue, deadlines and decisions.
 *
 * A contract has at most one open request: the contract's `openRequestId` is that slot, taken
 * by a conditional update when a request is created and given back when it closes.
 */
import mongoose, { Schema, type InferSchemaType, type Types } from 'mongoose';
import { REQUEST_KINDS, REQUEST_STATUSES } from '../../domain/statuses';
import { attachmentSchema, decisionSchema, findingSchema, historySchema } from './contract.model';

const requestSchema = new Schema(
  {
    contractId: { type: Schema.Types.ObjectId, required: true },
    organizationId: { type: Schema.Types.ObjectId, required: true },
    kind: { type: String, required: true, enum: REQUEST_KINDS },
    status: { type: String, required: true, enum: REQUEST_STATUSES, default: 'draft' },
    version: { type: Number, default: 0 },
    reason: { type: String, required: true },
    /** Only the fields that change, in stored form (fen, codes); null clears a field. */
    changes: { type: Schema.Types.Mixed, default: {} },
    /** The contract's title, type and registration number when filed, for the queue. */
    contractTitle: { type: String, default: '' },
    contractType: { type: String, default: null },
    registrationNumber: { type: String, default: null },
    searchText: { type: String, default: '' },
    attachments: { type: [attachmentSchema], default: [] },
    findings: { type: [findingSchema], default: [] },
    history: { type: [historySchema], default: [] },
    submissionCount: { type: Number, default: 0 },
    submittedAt: { type: Date, default: null },
    decisionDeadline: { type: String, default: null },
    expertReview: { type: Boolean, default: false },
    expertReviewAt: { type: Date, default: null },
    overdue: { type: Boolean, default: false },
    decision: { type: decisionSchema, default: null },
    /** As on contracts: the decision whose follow-up is not yet known to be done. */
    pendingEffects: { type: String, default: null },
    /**
     * Fixed with an approval, in the same update: when it takes effect, the registration version
     * it makes, the values it replaces, and the tally facts it takes out and puts in (encoded,
     * domain/tally), so carrying it out again after a crash does exactly the same.
     */
    applied: {
      type: new Schema({ at: Date, version: Number, before: Schema.Types.Mixed, outFact: String, inFact: String }, { _id: false }),
      default: null,
    },
    createdBy: { type: Schema.Types.ObjectId, required: true },
  },
  { timestamps: true, minimize: false },
);
/** A contract's requests, newest first (the contract page, the public version history). */
requestSchema.index({ contractId: 1, createdAt: -1 });
/** The review queue and the deadline watch, as for filings. */
requestSchema.index({ status: 1, decisionDeadline: 1, submittedAt: 1, _id: 1 });
/** The sweeper of decisions whose follow-up did not finish (only the marked ones). */
requestSchema.index({ updatedAt: 1 }, { name: 'pending_effects', partialFilterExpression: { pendingEffects: { $type: 'string' } } });

export type RequestDoc = InferSchemaType<typeof requestSchema> & { _id: Types.ObjectId; createdAt: Date; updatedAt: Date };
export const RegistrationRequest = mongoose.model('RegistrationRequest', requestSchema);

/** A contract's requests, newest first (its page, the review page, its history). */
export async function requestsOf(contractId: Types.ObjectId | string): Promise<RequestDoc[]> {
  return (await RegistrationRequest.find({ contractId }).sort({ createdAt: -1 }).limit(100).lean()) as RequestDoc[];
}
