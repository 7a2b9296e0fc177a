/**
 * The technology market board (供需对接): offers (成果, what an organisation can transfer or
 * license) and needs (需求, problems it wants solved), posted by verified organisations and
 * published by the bureau. Every status change is one conditional update (lib/transitions).
 *
 * Expiry is not a status anyone writes: a published listing whose `expiresAt` has passed is
 * off the board by the board's own query (`expiresAt > now`) and reads as "expired"; renewing
 * moves `expiresAt` on. So no job has to run for listings to expire.
 */
import mongoose, { Schema, type InferSchemaType, type Types } from 'mongoose';

export const LISTING_KINDS = ['offer', 'need'] as const;
export type ListingKind = (typeof LISTING_KINDS)[number];

/** What is stored. `expired` is derived (published, `expiresAt` passed): see effectiveStatus. */
export const LISTING_STATUSES = ['pending', 'published', 'rejected', 'closed'] as const;
export type ListingStatus = (typeof LISTING_STATUSES)[number];
export type ShownStatus = ListingStatus | 'expired';

/** The owner may edit these (an edit sends the listing back to the bureau). */
export const EDITABLE_LISTING_STATUSES: readonly ListingStatus[] = ['pending', 'published', 'rejected'];

const listingEventSchema = new Schema(
  {
    at: { type: Date, required: true },
    action: { type: String, required: true },
    actorName: { type: String, default: null },
    note: { type: String, default: null },
  },
  { _id: false },
);

const listingSchema = new Schema(
  {
    organizationId: { type: Schema.Types.ObjectId, required: true },
    createdBy: { type: Schema.Types.ObjectId, required: true },
    kind: { type: String, required: true, enum: LISTING_KINDS },
    status: { type: String, required: true, enum: LISTING_STATUSES, default: 'pending' },
    version: { type: Number, default: 0 },
    title: { type: String, required: true },
    summary: { type: String, required: true },
    technicalField: { type: String, required: true },
    priorityArea: { type: String, default: null },
    ipType: { type: String, default: null },
    /** The price hint: an amount in integer fen, or "negotiable" (面议), or neither. */
    priceFen: { type: Number, default: null },
    priceNegotiable: { type: Boolean, default: false },
    /** Lower-cased title and summary, for the board's substring search (Chinese has no spaces to split on). */
    searchText: { type: String, default: '' },
    /** When it last went to the bureau (created or edited): the moderation queue's order. */
    submittedAt: { type: Date, required: true },
    publishedAt: { type: Date, default: null },
    /** Set when published and when renewed; the board shows only listings before it. */
    expiresAt: { type: Date, default: null },
    rejectionReason: { type: String, default: null },
    decidedAt: { type: Date, default: null },
    decidedBy: { type: Schema.Types.ObjectId, default: null },
    closedAt: { type: Date, default: null },
    history: { type: [listingEventSchema], default: [] },
  },
  { timestamps: true },
);
/** The public board: published, newest first (the expiry, kind and field conditions filter within). */
listingSchema.index({ status: 1, publishedAt: -1, _id: -1 });
/** The bureau's moderation queue: pending, oldest first. */
listingSchema.index({ status: 1, submittedAt: 1 });
/** The owner's own listings, latest change first. */
listingSchema.index({ organizationId: 1, updatedAt: -1 });

export type ListingDoc = InferSchemaType<typeof listingSchema> & { _id: Types.ObjectId; createdAt: Date; updatedAt: Date };
export const MarketListing = mongoose.model('MarketListing', listingSchema);

/** The status a reader sees: a published listing past its expiry reads as expired. */
export function effectiveStatus(doc: Pick<ListingDoc, 'status' | 'expiresAt'>, now = new Date()): ShownStatus {
  if (doc.status === 'published' && doc.expiresAt && doc.expiresAt.getTime() <= now.getTime()) return 'expired';
  return doc.status as ListingStatus;
}

// ── Interests ──────────────────────────────────────────────────────────────────────────

export const INTEREST_STATUSES = ['open', 'accepted', 'declined'] as const;
export type InterestStatus = (typeof INTEREST_STATUSES)[number];

/**
 * Another organisation's interest in a listing, with its message. Contact details are not
 * copied here: they are read from both organisations' profiles, and shown to the two of them
 * only once the owner has accepted.
 */
const interestSchema = new Schema(
  {
    listingId: { type: Schema.Types.ObjectId, required: true },
    /** The listing's owner, so its interests are found without reading the listing. */
    ownerOrganizationId: { type: Schema.Types.ObjectId, required: true },
    organizationId: { type: Schema.Types.ObjectId, required: true },
    createdBy: { type: Schema.Types.ObjectId, required: true },
    message: { type: String, required: true },
    status: { type: String, required: true, enum: INTEREST_STATUSES, default: 'open' },
    version: { type: Number, default: 0 },
    decidedAt: { type: Date, default: null },
    decidedBy: { type: Schema.Types.ObjectId, default: null },
  },
  { timestamps: true },
);
/** Once per organisation and listing (a second one is refused by this index, whatever the race); also the listing's interests. */
interestSchema.index({ listingId: 1, organizationId: 1 }, { unique: true });
/** The interests an organisation expressed, newest first. */
interestSchema.index({ organizationId: 1, createdAt: -1 });
/** The interests in an owner's listings, newest first. */
interestSchema.index({ ownerOrganizationId: 1, createdAt: -1 });

export type InterestDoc = InferSchemaType<typeof interestSchema> & { _id: Types.ObjectId; createdAt: Date; updatedAt: Date };
export const MarketInterest = mongoose.model('MarketInterest', interestSchema);

// ── Settings ───────────────────────────────────────────────────────────────────────────

/** The bureau's settings of the board, kept as data (one document, `_id: "market"`). */
const settingsSchema = new Schema(
  {
    _id: { type: String, required: true },
    expiryDays: { type: Number, required: true },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: Schema.Types.ObjectId, default: null },
  },
  { versionKey: false },
);
export const MarketSettings = mongoose.model('MarketSettings', settingsSchema);
