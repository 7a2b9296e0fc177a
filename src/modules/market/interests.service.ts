/**
 * Interest in a listing (对接意向): another verified organisation leaves a message, once per
 * listing; the owner sees who it is and accepts or declines. Only on acceptance do the two
 * organisations see each other's contact details, and nobody else ever does: an interest is a
 * 404 to anyone but its two organisations.
 */
import { Types } from 'mongoose';
import { conflict, isDuplicateKey, notFound } from '../../lib/errors';
import { updateIf } from '../../lib/transitions';
import { parseInput } from '../../lib/validation';
import type { CurrentUser } from '../accounts/current-user';
import { notifyEventQuietly, type NotifyDeps } from '../notifications/notifications.events';
import { MarketInterest, MarketListing, type InterestDoc, type ListingDoc } from './listing.model';
import { interestSchema, pageQuerySchema } from './listing-input';
import { findListing, loadOwnListing, marketOrganization, ownsListing } from './listings.service';
import type { MarketLimiters } from './market.limits';
import { contactOf, interestView, organizationNames, type InterestView } from './market.views';

const onBoardNow = (doc: ListingDoc) => doc.status === 'published' && Boolean(doc.expiresAt) && doc.expiresAt!.getTime() > Date.now();

/**
 * Expresses the organisation's interest in a listing on the board: 409 for its own listing or a
 * second time, 404 for one not on the board, 429 past the hourly limit. The owner is notified.
 */
export async function expressInterest(deps: NotifyDeps, limits: MarketLimiters, user: CurrentUser, listingId: string, input: unknown): Promise<{ id: string; status: 'open' }> {
  const org = await marketOrganization(user);
  const listing = await findListing(listingId);
  if (!listing) throw notFound();
  if (ownsListing(user, listing)) throw conflict('OWN_LISTING', 'market.ownListing');
  if (!onBoardNow(listing)) throw notFound();
  const { message } = parseInput(interestSchema, input);
  const taken = () => conflict('INTEREST_EXISTS', 'market.interestExists');
  if (await MarketInterest.exists({ listingId: listing._id, organizationId: new Types.ObjectId(org.id) })) throw taken();
  await limits.consume('interests', org.id);
  let created;
  try {
    created = await MarketInterest.create({
      listingId: listing._id,
      ownerOrganizationId: listing.organizationId,
      organizationId: new Types.ObjectId(org.id),
      createdBy: new Types.ObjectId(user.id),
      message,
    });
  } catch (err) {
    // Two at once from the same organisation: the unique index lets one in.
    if (isDuplicateKey(err)) throw taken();
    throw err;
  }
  const id = String(created._id);
  await notifyEventQuietly(deps, 'market.interest', { organizationId: String(listing.organizationId), title: listing.title, organization: org.name, listingId }, `market-interest:${id}`);
  return { id, status: 'open' };
}

/** The other side's contact for an accepted interest: the owner sees the interested party's, and the other way round. */
async function otherSide(i: InterestDoc, viewerOrg: string, listing: Pick<ListingDoc, 'createdBy'>) {
  if (i.status !== 'accepted') return null;
  return String(i.organizationId) === viewerOrg ? contactOf(i.ownerOrganizationId, listing.createdBy) : contactOf(i.organizationId, i.createdBy);
}

async function viewsFor(items: InterestDoc[], viewerOrg: string, listings: Map<string, Pick<ListingDoc, 'createdBy'>>): Promise<InterestView[]> {
  const names = await organizationNames(items.flatMap((i) => [i.organizationId, i.ownerOrganizationId]));
  return Promise.all(
    items.map(async (i) => {
      const listing = listings.get(String(i.listingId));
      return interestView(i, names, listing ? await otherSide(i, viewerOrg, listing) : null);
    }),
  );
}

/** The interests in the owner's listing, newest first (404 for anyone but its owner). */
export async function interestsInListing(user: CurrentUser, listingId: string): Promise<InterestView[]> {
  const listing = await loadOwnListing(user, listingId);
  const items = (await MarketInterest.find({ listingId: listing._id }).sort({ createdAt: -1 }).limit(500).lean()) as InterestDoc[];
  return viewsFor(items, user.organizationId!, new Map([[String(listing._id), listing]]));
}

/** The interests in any of the owner's listings, by listing (for the "mine" page). */
export async function interestsInListings(user: CurrentUser, listings: ListingDoc[]): Promise<Map<string, InterestView[]>> {
  const byId = new Map(listings.filter((l) => ownsListing(user, l)).map((l) => [String(l._id), l]));
  const out = new Map<string, InterestView[]>();
  if (!byId.size) return out;
  const items = (await MarketInterest.find({ listingId: { $in: [...byId.values()].map((l) => l._id) } }).sort({ createdAt: -1 }).lean()) as InterestDoc[];
  for (const v of await viewsFor(items, user.organizationId!, byId)) out.set(v.listingId, [...(out.get(v.listingId) ?? []), v]);
  return out;
}

/** The interests the organisation expressed, newest first, with each listing's title and kind. */
export async function interestsSent(user: CurrentUser, rawQuery: unknown) {
  const org = await marketOrganization(user);
  const q = parseInput(pageQuerySchema, rawQuery);
  const filter = { organizationId: new Types.ObjectId(org.id) };
  const [items, total] = await Promise.all([
    MarketInterest.find(filter).sort({ createdAt: -1 }).skip((q.page - 1) * q.pageSize).limit(q.pageSize).lean() as Promise<InterestDoc[]>,
    MarketInterest.countDocuments(filter),
  ]);
  const listings = (await MarketListing.find({ _id: { $in: items.map((i) => i.listingId) } }).select({ title: 1, kind: 1, createdBy: 1, status: 1, expiresAt: 1 }).lean()) as ListingDoc[];
  const byId = new Map(listings.map((l) => [String(l._id), l]));
  const views = await viewsFor(items, org.id, byId);
  return {
    items: views.map((v) => ({ ...v, listing: byId.has(v.listingId) ? { id: v.listingId, title: byId.get(v.listingId)!.title, kind: byId.get(v.listingId)!.kind } : null })),
    page: q.page,
    pageSize: q.pageSize,
    total,
  };
}

/** An interest to one of its two organisations; 404 to everyone else. */
export async function loadInterest(user: CurrentUser, id: string): Promise<{ interest: InterestDoc; listing: ListingDoc; as: 'owner' | 'interested' }> {
  if (!Types.ObjectId.isValid(id) || user.role !== 'applicant' || !user.organizationId) throw notFound();
  const interest = (await MarketInterest.findById(id).lean()) as InterestDoc | null;
  if (!interest) throw notFound();
  const as = String(interest.ownerOrganizationId) === user.organizationId ? 'owner' : String(interest.organizationId) === user.organizationId ? 'interested' : null;
  const listing = as ? await findListing(String(interest.listingId)) : null;
  if (!as || !listing) throw notFound();
  return { interest, listing, as };
}

export async function interestAnswer(user: CurrentUser, id: string): Promise<InterestView> {
  const { interest, listing } = await loadInterest(user, id);
  return (await viewsFor([interest], user.organizationId!, new Map([[String(listing._id), listing]])))[0];
}

/**
 * The owner accepts or declines an open interest (409 once decided; 404 for anyone but the
 * owner). Accepting shows each side the other's contact details; the interested party is told.
 */
export async function decideInterest(deps: NotifyDeps, user: CurrentUser, id: string, decision: 'accepted' | 'declined'): Promise<InterestView> {
  const owner = await marketOrganization(user);
  const { interest, listing, as } = await loadInterest(user, id);
  if (as !== 'owner') throw notFound();
  const refuse = (status: string) => conflict('INTEREST_DECIDED', 'market.interestDecided', { current: { status } });
  if (interest.status !== 'open') throw refuse(interest.status);
  const after = await updateIf<InterestDoc>(
    MarketInterest,
    { _id: interest._id, status: 'open' },
    { $set: { status: decision, decidedAt: new Date(), decidedBy: new Types.ObjectId(user.id) } },
  );
  if (!after) throw refuse(((await MarketInterest.findById(id).select({ status: 1 }).lean()) as { status: string } | null)?.status ?? 'open');
  await notifyEventQuietly(
    deps,
    decision === 'accepted' ? 'market.interest_accepted' : 'market.interest_declined',
    { organizationId: String(after.organizationId), title: listing.title, organization: owner.name, listingId: String(listing._id) },
    `market-interest:${id}:${decision}`,
  );
  return (await viewsFor([after], owner.id, new Map([[String(listing._id), listing]])))[0];
}
