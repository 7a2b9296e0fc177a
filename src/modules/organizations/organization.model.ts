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
    /** Bumped by every state change (see lib/transitions). */
    version: { type: Number, default: 0 },
    /** Every status change, only ever appended to. */
    history: { type: [eventSchema], default: [] },
  },
  { timestamps: true },
);
organizationSchema.index({ uscc: 1 }, { unique: true });
organizationSchema.index({ status: 1, createdAt: 1 });
// Any write to an organisation drops what the request cache remembers of it, in every process.
invalidateOnWrite(organizationSchema, 'organization');

export type OrganizationDoc = InferSchemaType<typeof organizationSchema> & { _id: Types.ObjectId };
export const Organization = mongoose.model('Organization', organizationSchema);
