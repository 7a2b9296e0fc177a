/** Organisations that file contracts: pending until the bureau verifies them. */
import mongoose, { Schema, type InferSchemaType, type Types } from 'mongoose';
import { invalidateOnWrite } from '../../lib/shared-cache';
import { ENTITY_NATURE_CODES } from '../../domain/codes';

export const ORGANIZATION_STATUSES = ['pending', 'verified', 'rejected'] as const;
export type OrganizationStatus = (typeof ORGANIZATION_STATUSES)[number];

const eventSchema = new Schema(
  {
    at: { type: Date, required: true },
    actorId: { type: Schema.Types.ObjectId, default: null },
    action: { type: String, required: true },
    note: { type: String, default: null },
  },
  { _id: false },
);

/** Contact details the organisation keeps up to date; the filing form offers them as the seller's. */
const contactSchema = new Schema(
  {
    legalRepresentative: { type: String, default: null },
    contactPerson: { type: String, default: null },
    phone: { type: String, default: null },
    email: { type: String, default: null },
  },
  { _id: false },
);

/** A new name the organisation asked for, waiting for the bureau (the current name stays in use meanwhile). */
const pendingChangeSchema = new Schema(
  {
    name: { type: String, required: true },
    requestedAt: { type: Date, required: true },
    requestedBy: { type: Schema.Types.ObjectId, required: true },
    requestedByName: { type: String, default: null },
  },
  { _id: false },
);

/** The bureau's answer to the latest name change request (the applicant sees a rejection's reason). */
const nameChangeDecisionSchema = new Schema(
  {
    name: { type: String, required: true },
    action: { type: String, required: true, enum: ['approved', 'rejected'] },
    reason: { type: String, default: null },
    at: { type: Date, required: true },
    actorName: { type: String, default: null },
  },
  { _id: false },
);

/** A former name: used from `from` until `to`, when the bureau approved the next one. */
const formerNameSchema = new Schema(
  {
    name: { type: String, required: true },
    from: { type: Date, required: true },
    to: { type: Date, required: true },
    approvedBy: { type: Schema.Types.ObjectId, default: null },
    approvedByName: { type: String, default: null },
  },
  { _id: false },
);

/** The organisation's verification by the bureau, step by step: sign-up, decisions, re-applications. */
const verificationEventSchema = new Schema(
  {
    at: { type: Date, required: true },
    action: { type: String, required: true, enum: ['signed_up', 'verified', 'rejected', 'reapplied'] },
    reason: { type: String, default: null },
    actorName: { type: String, default: null },
  },
  { _id: false },
);

const organizationSchema = new Schema(
  {
    name: { type: String, required: true, trim: true, maxlength: 200 },
    uscc: { type: String, required: true, uppercase: true },
    nature: { type: String, required: true, enum: ENTITY_NATURE_CODES },
    regionCode: { type: String, required: true, match: /^\d{6}$/ },
    address: { type: String, default: null, maxlength: 300 },
    status: { type: String, required: true, enum: ORGANIZATION_STATUSES, default: 'pending' },
    /** The credit code failed its check character and the applicant confirmed it anyway. */
    usccCheckFailed: { type: Boolean, default: false },
    rejectionReason: { type: String, default: null },
    reviewedAt: { type: Date, default: null },
    reviewedBy: { type: Schema.Types.ObjectId, default: null },
    contact: { type: contactSchema, default: null },
    pendingChange: { type: pendingChangeSchema, default: null },
    nameChangeDecision: { type: nameChangeDecisionSchema, default: null },
    nameHistory: { type: [formerNameSchema], default: [] },
    verificationHistory: { type: [verificationEventSchema], default: [] },
    /** Bumped by every state change (see lib/transitions). */
    version: { type: Number, default: 0 },
    /** Every status change, only ever appended to. */
    history: { type: [eventSchema], default: [] },
  },
  { timestamps: true },
);
organizationSchema.index({ uscc: 1 }, { unique: true });
organizationSchema.index({ status: 1, createdAt: 1 });
/** The bureau's list of name changes to decide: only the few organisations with one pending (the query repeats the filter). */
organizationSchema.index({ 'pendingChange.requestedAt': 1 }, { name: 'pending_name_change', partialFilterExpression: { 'pendingChange.name': { $type: 'string' } } });
// Any write to an organisation drops what the request cache remembers of it, in every process.
invalidateOnWrite(organizationSchema, 'organization');

export type OrganizationDoc = InferSchemaType<typeof organizationSchema> & { _id: Types.ObjectId };
export const Organization = mongoose.model('Organization', organizationSchema);
