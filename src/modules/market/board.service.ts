/**
 * The public board: published listings before their expiry, searchable and filterable. The
 * search is a plain substring of the title and summary (lower-cased; Chinese has no spaces, so
 * words cannot be split out), typed characters losing any regular-expression meaning.
 */
import { escapeRegex, parseInput } from '../../lib/validation';
import { MarketListing, type ListingDoc } from './listing.model';
import { boardQuerySchema } from './listing-input';
import { organizationNames, publicListing } from './market.views';

/** On the board: published, and not yet expired at `now` (no job hides expired listings: this does). */
export const onBoard = (now: Date) => ({ status: 'published', expiresAt: { $gt: now } });

export async function searchBoard(rawQuery: unknown, now = new Date()) {
  const q = parseInput(boardQuerySchema, rawQuery);
  const filter: Record<string, unknown> = onBoard(now);
  if (q.kind) filter.kind = q.kind;
  if (q.technicalField) filter.technicalField = q.technicalField;
  if (q.priorityArea) filter.priorityArea = q.priorityArea;
  if (q.q) filter.searchText = { $regex: escapeRegex(q.q.toLowerCase()) };
  const [items, total] = await Promise.all([
    // Only what the public sees is read: never the history (names of bureau staff) or the moderation.
    MarketListing.find(filter)
      .sort({ publishedAt: -1, _id: -1 })
      .skip((q.page - 1) * q.pageSize)
      .limit(q.pageSize)
      .select({ history: 0, rejectionReason: 0, decidedBy: 0, createdBy: 0, searchText: 0 })
      .lean(),
    MarketListing.countDocuments(filter),
  ]);
  const names = await organizationNames(items.map((i) => i.organizationId));
  return { items: items as ListingDoc[], names, page: q.page, pageSize: q.pageSize, total, query: q };
}

/** The API answer of the board. */
export async function boardAnswer(rawQuery: unknown) {
  const r = await searchBoard(rawQuery);
  return { items: r.items.map((d) => publicListing(d, r.names.get(String(d.organizationId)) ?? '')), page: r.page, pageSize: r.pageSize, total: r.total };
}
