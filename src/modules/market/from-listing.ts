/**
 * "Start a contract from this" (`POST /contracts` with `fromListing`): a contract draft
 * prefilled from a listing and its accepted interest, which remembers the listing so the
 * statistics can count what the board brought about.
 *
 * The parties: the owner of an offer is the seller and the interested organisation the buyer;
 * for a need the other way round. The seller files the registration (DOMAIN.md: the applicant
 * is the seller side), so the draft is always the seller organisation's: when the buyer side
 * starts it, the draft is prepared in the seller's contracts and the seller is notified.
 */
import { Types } from 'mongoose';
import type { Party } from '../../domain/contract-input';
import { AppError, conflict, notFound } from '../../lib/errors';
import type { CurrentUser } from '../accounts/current-user';
import { recordAudit } from '../audit/audit.service';
import { createDraft, type ContractRecord } from '../contracts/contracts.service';
import { notifyEventQuietly, type NotifyDeps } from '../notifications/notifications.events';
import { getOrganization } from '../organizations/organizations.service';
import { MarketInterest, type InterestDoc, type ListingDoc } from './listing.model';
import { findListing, marketOrganization } from './listings.service';
import type { MarketLimiters } from './market.limits';

/** What the caller may send beside `fromListing`: an interest id (the owner's choice), and any contract fields, which win over the listing's. */
export function splitFromListing(body: unknown): { listingId: string; interestId: string | null; fields: Record<string, unknown> } | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const { fromListing, interest, ...fields } = body as Record<string, unknown>;
  if (fromListing === undefined || fromListing === null || fromListing === '') return null;
  return { listingId: String(fromListing), interestId: typeof interest === 'string' && interest ? interest : null, fields };
}

const validId = (id: string | null): id is string => Boolean(id) && /^[0-9a-f]{24}$/i.test(id!);

/**
 * The accepted interest the draft is made with: for the owner the one named (or the only one;
 * several without a choice is a 422; none leaves the other party empty), for anyone else their
 * own organisation's accepted interest, or a 404 for the listing.
 */
async function counterpart(user: CurrentUser, listing: ListingDoc, interestId: string | null): Promise<InterestDoc | null> {
  const owner = String(listing.organizationId) === user.organizationId;
  if (!owner) {
    const own = (await MarketInterest.findOne({ listingId: listing._id, organizationId: new Types.ObjectId(user.organizationId!), status: 'accepted' }).lean()) as InterestDoc | null;
    if (!own) throw notFound();
    return own;
  }
  if (interestId !== null) {
    if (!validId(interestId)) throw notFound();
    const named = (await MarketInterest.findOne({ _id: new Types.ObjectId(interestId), listingId: listing._id }).lean()) as InterestDoc | null;
    if (!named) throw notFound();
    if (named.status !== 'accepted') throw conflict('INTEREST_NOT_ACCEPTED', 'market.interestNotAccepted', { current: { status: named.status } });
    return named;
  }
  const accepted = (await MarketInterest.find({ listingId: listing._id, status: 'accepted' }).limit(2).lean()) as InterestDoc[];
  if (accepted.length > 1) throw new AppError('VALIDATION_FAILED', { details: [{ path: 'interest', message: 'validation.chooseInterest' }] });
  return accepted[0] ?? null;
}

/** An organisation as a contract party: its verified name, credit code, nature and region. */
async function partyOf(organizationId: string): Promise<{ party: Party; name: string }> {
  const org = await getOrganization(organizationId);
  if (!org) throw notFound();
  return { party: { name: org.name, uscc: org.uscc, nature: org.nature, regionCode: org.regionCode }, name: org.name };
}

export interface DraftFromListing {
  contract: ContractRecord;
  /** The seller organisation's name when the draft was prepared in its contracts (the buyer side started it); else null. */
  preparedFor: string | null;
}

export async function draftFromListing(deps: NotifyDeps, limits: MarketLimiters, user: CurrentUser, listingId: string, interestId: string | null, fields: Record<string, unknown>): Promise<DraftFromListing> {
  if (user.role !== 'applicant' || !user.organizationId) throw new AppError('FORBIDDEN');
  const listing = validId(listingId) ? await findListing(listingId) : null;
  if (!listing) throw notFound();
  const interest = await counterpart(user, listing, interestId);
  const me = await marketOrganization(user);
  const ownerOrg = String(listing.organizationId);
  const otherOrg = interest ? String(interest.organizationId) : null;
  const sellerOrg = listing.kind === 'offer' ? ownerOrg : otherOrg;
  const buyerOrg = listing.kind === 'offer' ? otherOrg : ownerOrg;
  // A need's owner is the buyer: until it accepts an interest there is no seller to file.
  if (!sellerOrg) throw conflict('LISTING_NO_SELLER', 'market.noSellerYet');
  await limits.consume('drafts', me.id);
  const buyer = buyerOrg ? await partyOf(buyerOrg) : null;
  const prefill: Record<string, unknown> = {
    title: listing.title,
    technicalField: listing.technicalField,
    ...(listing.priorityArea ? { priorityArea: listing.priorityArea } : {}),
    ...(listing.ipType ? { ipType: listing.ipType } : {}),
    ...(buyer ? { buyers: [buyer.party] } : {}),
    ...fields,
  };
  const forSeller = sellerOrg !== me.id;
  // The registrant is the seller: the buyer side acts for it here, named in the draft's history.
  const registrant: CurrentUser = forSeller ? { ...user, organizationId: sellerOrg, organizationManager: false } : user;
  const { contract } = await createDraft(registrant, prefill, { fromListing: String(listing._id) });
  if (!forSeller) return { contract, preparedFor: null };
  const contractId = String(contract._id);
  await recordAudit({ actor: user, action: 'market.draft_prepared', targetType: 'contract', targetId: contractId, details: { listingId, forOrganization: sellerOrg, byOrganization: me.id } });
  await notifyEventQuietly(deps, 'market.draft_prepared', { organizationId: sellerOrg, contractId, title: listing.title, organization: me.name }, `market-draft:${contractId}`);
  return { contract, preparedFor: (await getOrganization(sellerOrg))?.name ?? '' };
}
