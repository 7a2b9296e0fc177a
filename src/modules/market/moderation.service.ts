/**
 * The bureau's moderation of the board: publish or reject (with a reason) what waits. Each
 * decision is one update conditional on the listing still pending, so when two bureau users
 * decide at once exactly one wins and the other gets 409 with the status it found.
 */
import { Types } from 'mongoose';
import { cstDate } from '../../domain/time';
import { AppError, conflict, notFound } from '../../lib/errors';
import { updateIf } from '../../lib/transitions';
import { parseInput } from '../../lib/validation';
import type { CurrentUser } from '../accounts/current-user';
import { recordAudit } from '../audit/audit.service';
import { notifyEventQuietly, type NotifyDeps } from '../notifications/notifications.events';
import { MarketListing, type ListingDoc } from './listing.model';
import { pageQuerySchema, rejectSchema } from './listing-input';
import { findListing, historyEvent, isBureau } from './listings.service';
import { expiryFrom } from './market.settings';

function requireBureau(user: CurrentUser): void {
  if (!isBureau(user)) throw new AppError('FORBIDDEN');
}

const notPending = (status: string) => conflict('LISTING_NOT_PENDING', 'market.notPending', { current: { status } });

/** The decided listing, or the 404 / 409 that explains why this decision did not happen. */
async function decided(id: string, after: ListingDoc | null): Promise<ListingDoc> {
  if (after) return after;
  const now = await findListing(id);
  if (!now) throw notFound();
  throw notPending(now.status);
}

/** Publishes a pending listing: on the board until the bureau's period from now; the owner is told. */
export async function publishListing(deps: NotifyDeps, user: CurrentUser, id: string, ip?: string): Promise<ListingDoc> {
  requireBureau(user);
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const now = new Date();
  const expiresAt = await expiryFrom(now);
  const doc = await decided(
    id,
    await updateIf<ListingDoc>(
      MarketListing,
      { _id: new Types.ObjectId(id), status: 'pending' },
      {
        $set: { status: 'published', publishedAt: now, expiresAt, decidedAt: now, decidedBy: new Types.ObjectId(user.id), rejectionReason: null },
        $push: { history: historyEvent(user, 'published') },
      },
    ),
  );
  await recordAudit({ actor: user, action: 'market.published', targetType: 'market_listing', targetId: id, ip });
  await notifyEventQuietly(
    deps,
    'market.published',
    { organizationId: String(doc.organizationId), title: doc.title, listingId: id, expiresOn: cstDate(expiresAt) },
    `market:${id}:published:v${doc.version}`,
  );
  return doc;
}

/** Rejects a pending listing with a reason (422 without one); the owner is told the reason and may edit it. */
export async function rejectListing(deps: NotifyDeps, user: CurrentUser, id: string, input: unknown, ip?: string): Promise<ListingDoc> {
  requireBureau(user);
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const { reason } = parseInput(rejectSchema, input);
  const now = new Date();
  const doc = await decided(
    id,
    await updateIf<ListingDoc>(
      MarketListing,
      { _id: new Types.ObjectId(id), status: 'pending' },
      {
        $set: { status: 'rejected', rejectionReason: reason, decidedAt: now, decidedBy: new Types.ObjectId(user.id) },
        $push: { history: historyEvent(user, 'rejected', reason) },
      },
    ),
  );
  await recordAudit({ actor: user, action: 'market.rejected', targetType: 'market_listing', targetId: id, details: { reason }, ip });
  await notifyEventQuietly(deps, 'market.rejected', { organizationId: String(doc.organizationId), title: doc.title, listingId: id, reason }, `market:${id}:rejected:v${doc.version}`);
  return doc;
}

/** What waits for the bureau, oldest first. */
export async function moderationQueue(user: CurrentUser, rawQuery: unknown) {
  requireBureau(user);
  const q = parseInput(pageQuerySchema, rawQuery);
  const filter = { status: 'pending' as const };
  const [items, total] = await Promise.all([
    MarketListing.find(filter).sort({ submittedAt: 1 }).skip((q.page - 1) * q.pageSize).limit(q.pageSize).lean(),
    MarketListing.countDocuments(filter),
  ]);
  return { items: items as ListingDoc[], page: q.page, pageSize: q.pageSize, total };
}
