/** Technology contracts filed for registration. Every write goes through lib/transitions. */
import mongoose, { Schema, type InferSchemaType, type Types } from 'mongoose';
import { CONTRACT_STATUSES } from '../../domain/statuses';

export { CONTRACT_STATUSES, EDITABLE_STATUSES, WITHDRAWABLE_STATUSES, type ContractStatus } from '../../domain/statuses';

const partySchema = new Schema(
  {
    name: String,
    uscc: String,
    /** A natural person's resident ID number (nature 400). Shown in full to the bureau only. */
    idNumber: String,
    nature: String,
    regionCode: String,
    country: String,
    legalRepresentative: String,
    contactPerson: String,
    phone: String,
    email: String,
    address: String,
  },
  { _id: false },
);

/** Parts a change or cancellation request (request.model) keeps the same way. */
export const attachmentSchema = new Schema(
  {
    id: { type: String, required: true },
    filename: { type: String, required: true },
    size: { type: Number, required: true },
    pages: { type: Number, default: null },
    uploadedAt: { type: Date, required: true },
    uploadedBy: { type: Schema.Types.ObjectId, required: true },
  },
  { _id: false },
);

export const historySchema = new Schema(
  {
    at: { type: Date, required: true },
    actorId: { type: Schema.Types.ObjectId, default: null },
    actorName: { type: String, default: null },
    action: { type: String, required: true },
    note: { type: String, default: null },
  },
  { _id: false },
);

export const findingSchema = new Schema(
  {
    code: { type: String, required: true },
    severity: { type: String, required: true, enum: ['info', 'warning', 'error'] },
    message: { type: String, required: true },
    messageEn: { type: String, required: true },
    related: { type: [String], default: [] },
  },
  { _id: false },
);

export const decisionSchema = new Schema(
  { action: String, reasonCode: Number, note: String, at: Date, actorId: Schema.Types.ObjectId, actorName: String },
  { _id: false },
);

const contractSchema = new Schema(
  {
    organizationId: { type: Schema.Types.ObjectId, required: true },
    status: { type: String, required: true, enum: CONTRACT_STATUSES, default: 'draft' },
    version: { type: Number, default: 0 },

    title: String,
    contractNumber: String,
    type: String,
    subtype: String,
    signedOn: String,
    validFrom: String,
    validTo: String,
    contractAmountFen: Number,
    technicalAmountFen: Number,
    deductions: { type: [new Schema({ item: String, amountFen: Number }, { _id: false })], default: undefined },
    paymentMethod: String,
    relatedParty: Boolean,
    planSource: String,
    ipType: String,
    technicalField: String,
    socioEconomicObjective: String,
    priorityArea: String,
    seller: { type: partySchema, default: undefined },
    buyers: { type: [partySchema], default: undefined },
    /** `import` (技术引进): the applicant is the first buyer and the seller is abroad. Absent on older filings: domestic. */
    direction: { type: String, enum: ['domestic', 'import', null], default: 'domestic' },
    /** Further sellers beside the registrant `seller` (at most 10). */
    coSellers: { type: [partySchema], default: undefined },
    declaration: Boolean,

    /** What a person typed into the form that is not yet valid, by field path; kept so nothing is lost. */
    draftRaw: { type: [new Schema({ path: String, value: String }, { _id: false })], default: [] },
    attachments: { type: [attachmentSchema], default: [] },
    findings: { type: [findingSchema], default: [] },
    history: { type: [historySchema], default: [] },

    /** How many times it was submitted: the verification job id includes it. */
    submissionCount: { type: Number, default: 0 },
    submittedAt: { type: Date, default: null },
    /**
     * The acceptance receipt (受理回执) of the latest submission: its gap-free number (SL + CST
     * year + 6-digit serial; null for the moment between the submission and taking the number),
     * the time of acceptance and the legal decision deadline counted from it.
     */
    acceptance: {
      type: new Schema({ submission: Number, number: { type: String, default: null }, at: Date, deadline: String }, { _id: false }),
      default: null,
    },
    decisionDeadline: { type: String, default: null },
    expertReview: { type: Boolean, default: false },
    /** Past its decision deadline (set by the deadline watch). */
    overdue: { type: Boolean, default: false },
    decision: { type: decisionSchema, default: null },
    /**
     * The decision whose follow-up (registration number, ledger entry, notification,
     * certificate) is not yet known to be done: set in the same atomic update as the decision
     * and cleared after, so a process that dies in between leaves a mark the sweeper finds.
     */
    pendingEffects: { type: String, default: null },
    /**
     * Absent until registration, which sets it to null ("awaiting its certificate"); the
     * certificate's file id once rendered. So only the few awaiting one are in its index.
     */
    certificateFileId: { type: String, default: undefined },
    revokedAt: { type: Date, default: null },
    registrationNumber: { type: String, default: null },
    registeredAt: { type: Date, default: null },
    /** The registration's version: 1 when registered, one more with each approved change ("第 N 版"). */
    registrationVersion: { type: Number, default: null },
    /** The change or cancellation request now open on this registered contract (at most one), and since when. */
    openRequestId: { type: Schema.Types.ObjectId, default: null },
    openRequestAt: { type: Date, default: null },
    /** The requests applied to it, in order (carrying one out again finds it here). */
    appliedRequests: { type: [Schema.Types.ObjectId], default: undefined },
    cancelledAt: { type: Date, default: null },
    /** When a reviewer sent it to expert review (专家评审) by hand. */
    expertReviewAt: { type: Date, default: null },
    /** CST year of registration: the year whose turnover it counts toward. */
    registrationYear: { type: Number, default: null },
    /** CST year of the signing date, for the applicants' year filter. */
    signedYear: { type: Number, default: null },
    /** Lower-cased title, numbers and party names, for the `q` search. */
    searchText: { type: String, default: '' },
    createdBy: { type: Schema.Types.ObjectId, required: true },
    /** How it came in: filed and registered here, or an earlier registration brought in by a bureau import (modules/imports). */
    source: { type: String, enum: ['filing', 'import'], default: 'filing' },
    /** The technology market listing (供需对接, modules/market) the draft was started from; absent for all others. */
    fromListing: { type: Schema.Types.ObjectId, default: undefined },
  },
  { timestamps: true },
);
// Each index names the queries it serves (`npm run explain` shows the plans). Compound keys run
// equality → sort → range, so that MongoDB reads a page in index order. DocumentDB keeps each key
// of an index as a column of its own (a multi-column RUM index): it filters through any of the
// columns, whatever their position, and sorts what the index returns.
/** The applicant's list: own organisation (+ status), newest change first; year and q filter within. */
contractSchema.index({ organizationId: 1, status: 1, updatedAt: -1, _id: -1 });
/**
 * The review queue (by status, earliest deadline first; overdue and due-soon are deadline
 * ranges), the deadline watch, the overdue list, the submitted sweep and the bureau's list by status.
 */
contractSchema.index({ status: 1, decisionDeadline: 1, submittedAt: 1, _id: 1 });
/** The public register: registered, newest first; a year is a range of `registeredAt` (the public filter, the statistics export). */
contractSchema.index({ status: 1, registeredAt: -1, _id: -1 });
/** The bureau's list by signing year (the applicant's year filter intersects it too). */
contractSchema.index({ signedYear: 1 });
// Partial indexes hold only the contracts their query can match, so the many updates of drafts
// and filings in review do not maintain them. DocumentDB uses a partial index only when the
// query repeats the index's filter word for word (MongoDB proves the implication itself): the
// queries of the three below do.
/** Certificate verification by number (numbered contracts only). */
contractSchema.index({ registrationNumber: 1 }, { partialFilterExpression: { registrationNumber: { $type: 'string' } } });
/** Verification's duplicate search: `$or` of same seller, same amount (and the queue's amount range). */
contractSchema.index({ 'seller.uscc': 1 });
/**
 * "与我相关" (related.service): contracts naming an organisation as buyer or co-seller. Partial
 * (numbered contracts only, the filter repeated in the query's branches), so that drafts and
 * filings in review, edited many times, do not maintain them.
 */
contractSchema.index({ 'buyers.uscc': 1 }, { partialFilterExpression: { registrationNumber: { $type: 'string' } } });
contractSchema.index({ 'coSellers.uscc': 1 }, { partialFilterExpression: { registrationNumber: { $type: 'string' } } });
contractSchema.index({ contractAmountFen: 1 });
/** The board's statistics (market.stats): registered contracts started from a listing, by registration year. Partial: only those few (the query repeats the filter). */
contractSchema.index({ registrationYear: 1, status: 1 }, { name: 'from_market', partialFilterExpression: { fromListing: { $type: 'objectId' } } });
/** The sweeper of decisions whose follow-up did not finish: only the few marked ones, by age. */
contractSchema.index({ updatedAt: 1 }, { name: 'pending_effects', partialFilterExpression: { pendingEffects: { $type: 'string' } } });
/** The sweeper of registered contracts without a certificate: only those few, by registration time. */
contractSchema.index({ registeredAt: 1 }, { name: 'awaiting_certificate', partialFilterExpression: { certificateFileId: { $type: 'null' } } });

export type ContractDoc = InferSchemaType<typeof contractSchema> & { _id: Types.ObjectId; createdAt: Date; updatedAt: Date };
export const Contract = mongoose.model('Contract', contractSchema);
