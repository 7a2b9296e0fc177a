/**
 * An organisation's own listings: posting, editing (back to the bureau), renewing, closing.
 * Only applicants of a verified organisation take part (403 ORGANIZATION_NOT_VERIFIED for the
 * others); another organisation's listing is a 404 unless it is on the board.
 */
import { Types } from 'mongoose';
import { AppError, conflict, notFound } from '../../lib/errors';
import { updateLatest, updateIf } from '../../lib/transitions';
import { parseInput } from '../../lib/validation';
import type { CurrentUser } from '../accounts/current-user';
import { getOrganization } from '../organizations/organizations.service';
import { EDITABLE_LISTING_STATUSES, MarketListing, type ListingDoc, type ListingStatus } from './listing.model';
import { listingPatchSchema, newListingSchema, pageQuerySchema, searchTextOf, type ListingPatch } from './listing-input';
import type { MarketLimiters } from './market.limits';
import { expiryFrom } from './market.settings';

export const historyEvent = (user: CurrentUser | null, action: string, note: string | null = null) => ({ at: new Date(), action, actorName: user?.name ?? null, note });

/** The user's organisation, if it may take part in the board (an applicant's, verified); else 403. */
export async function marketOrganization(user: CurrentUser): Promise<{ id: string; name: string }> {
  if (user.role !== 'applicant' || !user.organizationId) throw new AppError('FORBIDDEN');
  const org = await getOrganization(user.organizationId);
  if (org?.status !== 'verified') throw new AppError('FORBIDDEN', { code: 'ORGANIZATION_NOT_VERIFIED', messageKey: 'market.notVerified' });
  return { id: user.organizationId, name: org.name };
}

export const isBureau = (user: CurrentUser | null) => user?.role === 'reviewer' || user?.role === 'admin';
export const ownsListing = (user: CurrentUser | null, doc: Pick<ListingDoc, 'organizationId'>) =>
  user?.role === 'applicant' && Boolean(user.organizationId) && String(doc.organizationId) === user.organizationId;

/** A listing by id, or null (an id that is not one is simply not found). */
export async function findListing(id: string): Promise<ListingDoc | null> {
  if (!Types.ObjectId.isValid(id)) return null;
  return (await MarketListing.findById(id).lean()) as ListingDoc | null;
}

/** The organisation's own listing; 404 for anyone else's. */
export async function loadOwnListing(user: CurrentUser, id: string): Promise<ListingDoc> {
  const doc = await findListing(id);
  if (!doc || !ownsListing(user, doc)) throw notFound();
  return doc;
}

/** Posts a listing; it waits for the bureau (`pending`). Counted against the organisation's daily limit. */
export async function createListing(limits: MarketLimiters, user: CurrentUser, input: unknown, opts: { forms?: boolean } = {}): Promise<{ id: string; status: 'pending'; doc: ListingDoc }> {
  const org = await marketOrganization(user);
  const v = parseInput(newListingSchema(Boolean(opts.forms)), input);
  // Counted only for a post that is otherwise fine, and before it is stored (lib/rate-limit says why).
  await limits.consume('listings', org.id);
  const now = new Date();
  const doc = await MarketListing.create({
    organizationId: new Types.ObjectId(org.id),
    createdBy: new Types.ObjectId(user.id),
    kind: v.kind,
    status: 'pending',
    title: v.title,
    summary: v.summary,
    technicalField: v.technicalField,
    priorityArea: v.priorityArea ?? null,
    ipType: v.ipType ?? null,
    priceFen: v.priceHint?.priceFen ?? null,
    priceNegotiable: v.priceHint?.priceNegotiable ?? false,
    searchText: searchTextOf(v.title, v.summary),
    submittedAt: now,
    history: [historyEvent(user, 'created')],
  });
  return { id: String(doc._id), status: 'pending', doc: doc.toObject() as ListingDoc };
}

const notEditable = (status: string) => conflict('LISTING_NOT_EDITABLE', 'market.notEditable', { current: { status } });

/** The stored fields an edit sets, or null when it changes nothing. */
function editedFields(doc: ListingDoc, v: ListingPatch): Record<string, unknown> | null {
  const next = {
    kind: v.kind ?? doc.kind,
    title: v.title ?? doc.title,
    summary: v.summary ?? doc.summary,
    technicalField: v.technicalField ?? doc.technicalField,
    priorityArea: v.priorityArea === undefined ? (doc.priorityArea ?? null) : v.priorityArea,
    ipType: v.ipType === undefined ? (doc.ipType ?? null) : v.ipType,
    priceFen: v.priceHint === undefined ? (doc.priceFen ?? null) : v.priceHint.priceFen,
    priceNegotiable: v.priceHint === undefined ? Boolean(doc.priceNegotiable) : v.priceHint.priceNegotiable,
  };
  const same = (Object.keys(next) as (keyof typeof next)[]).every((k) => (next[k] ?? null) === ((doc as Record<string, unknown>)[k] ?? null));
  return same ? null : { ...next, searchText: searchTextOf(next.title, next.summary) };
}

/**
 * Edits a pending, published or rejected listing. A real change sends it back to the bureau
 * (`pending`, off the board until published again); an edit that changes nothing changes nothing.
 */
export async function editListing(limits: MarketLimiters, user: CurrentUser, id: string, input: unknown, opts: { forms?: boolean } = {}): Promise<ListingDoc> {
  const org = await marketOrganization(user);
  const read = await loadOwnListing(user, id);
  const v = parseInput(listingPatchSchema(Boolean(opts.forms)), input);
  if (!EDITABLE_LISTING_STATUSES.includes(read.status as ListingStatus)) throw notEditable(read.status);
  if (!editedFields(read, v)) return read;
  await limits.consume('edits', org.id);
  const { doc } = await updateLatest<ListingDoc>(
    MarketListing,
    read._id,
    (current) => {
      if (!EDITABLE_LISTING_STATUSES.includes(current.status as ListingStatus)) throw notEditable(current.status);
      const set = editedFields(current, v);
      if (!set) return null;
      return {
        $set: { ...set, status: 'pending', submittedAt: new Date(), rejectionReason: null },
        $push: { history: historyEvent(user, 'updated', current.status === 'published' ? 'published' : null) },
      };
    },
    { read },
  );
  return doc;
}

/** Renews a published listing (also one shown as expired): on the board for the bureau's period from now. */
export async function renewListing(user: CurrentUser, id: string): Promise<ListingDoc> {
  await marketOrganization(user);
  const read = await loadOwnListing(user, id);
  const refuse = (status: string) => conflict('LISTING_NOT_RENEWABLE', 'market.notRenewable', { current: { status } });
  if (read.status !== 'published') throw refuse(read.status);
  const now = new Date();
  const renewed = await updateIf<ListingDoc>(
    MarketListing,
    { _id: read._id, status: 'published' },
    { $set: { expiresAt: await expiryFrom(now) }, $push: { history: historyEvent(user, 'renewed') } },
  );
  if (!renewed) throw refuse((await findListing(id))?.status ?? read.status);
  return renewed;
}

/** Closes a listing for good (found a partner, or withdrawn): off the board; its interests stay. */
export async function closeListing(user: CurrentUser, id: string): Promise<ListingDoc> {
  await marketOrganization(user);
  const read = await loadOwnListing(user, id);
  const refuse = (status: string) => conflict('LISTING_CLOSED', 'market.alreadyClosed', { current: { status } });
  if (read.status === 'closed') throw refuse(read.status);
  const closed = await updateIf<ListingDoc>(
    MarketListing,
    { _id: read._id, status: { $ne: 'closed' } },
    { $set: { status: 'closed', closedAt: new Date() }, $push: { history: historyEvent(user, 'closed') } },
  );
  if (!closed) throw refuse('closed');
  return closed;
}

/** The organisation's listings, latest change first. */
export async function listOwnListings(user: CurrentUser, rawQuery: unknown) {
  const org = await marketOrganization(user);
  const q = parseInput(pageQuerySchema, rawQuery);
  const filter = { organizationId: new Types.ObjectId(org.id) };
  const [items, total] = await Promise.all([
    MarketListing.find(filter).sort({ updatedAt: -1 }).skip((q.page - 1) * q.pageSize).limit(q.pageSize).select({ history: 0 }).lean(),
    MarketListing.countDocuments(filter),
  ]);
  return { items: items as ListingDoc[], page: q.page, pageSize: q.pageSize, total, organization: org };
}

/** Whether `user` reads the listing as its owner, as the bureau, or as anyone (on the board only); 404 otherwise. */
export async function loadListingFor(user: CurrentUser | null, id: string, now = new Date()): Promise<{ doc: ListingDoc; as: 'owner' | 'bureau' | 'public' }> {
  const doc = await findListing(id);
  if (!doc) throw notFound();
  if (ownsListing(user, doc)) return { doc, as: 'owner' };
  if (isBureau(user)) return { doc, as: 'bureau' };
  if (doc.status === 'published' && doc.expiresAt && doc.expiresAt.getTime() > now.getTime()) return { doc, as: 'public' };
  throw notFound();
}
