/** The technology market board (供需对接) in the JSON API (API.md "Technology market board"). */
import { Router, type Response } from 'express';
import type { AppDeps } from '../../lib/deps';
import { authorize, currentUser, openToAnyone, requireUser } from '../../lib/http/authorize';
import { toApi } from '../contracts/contracts.service';
import { boardAnswer } from './board.service';
import { draftFromListing, splitFromListing } from './from-listing';
import { decideInterest, expressInterest, interestAnswer, interestsInListing, interestsSent } from './interests.service';
import { closeListing, createListing, editListing, listOwnListings, loadListingFor, renewListing } from './listings.service';
import { MarketLimiters } from './market.limits';
import { getMarketSettings, setMarketSettings } from './market.settings';
import { fullListing, organizationNames, publicListing } from './market.views';
import { moderationQueue, publishListing, rejectListing } from './moderation.service';
import type { ListingDoc } from './listing.model';

/** A listing in full (owner, bureau), with its organisation's name. */
async function full(doc: ListingDoc) {
  const names = await organizationNames([doc.organizationId]);
  return fullListing(doc, names.get(String(doc.organizationId)) ?? '');
}

export function marketApi(deps: AppDeps): Router {
  const router = Router();
  const limits = new MarketLimiters(deps.redis, deps.config.queuePrefix);
  const notifyDeps = { queues: deps.queues, logger: deps.logger };
  const takePart = authorize('market.take_part');
  const moderate = authorize('market.moderate');
  const id = (req: { params: Record<string, unknown> }) => String(req.params.id);
  const lang = (res: Response) => res.locals.lang as string;

  /**
   * POST /contracts with `fromListing`: a draft prefilled from the listing (API.md). Without
   * `fromListing` the contracts API handles the request as ever (this router comes first).
   */
  router.post('/contracts', authorize('contracts.file'), async (req, res, next) => {
    const from = splitFromListing(req.body);
    if (!from) return next();
    const { contract, preparedFor } = await draftFromListing(notifyDeps, limits, requireUser(res), from.listingId, from.interestId, from.fields);
    res.status(201).json({ ...toApi(contract, lang(res), 'applicant'), ...(preparedFor !== null ? { preparedFor } : {}) });
  });

  /** GET /public/market?kind=&q=&technicalField=&priorityArea=&page=&pageSize=: the board; no contact data. */
  router.get('/public/market', openToAnyone('the public market board'), async (req, res) => {
    res.json(await boardAnswer(req.query));
  });

  /** GET /public/market/{id}: one listing on the board (404 for any other). */
  router.get('/public/market/:id', openToAnyone('the public market board'), async (req, res) => {
    const { doc } = await loadListingFor(null, id(req));
    const names = await organizationNames([doc.organizationId]);
    res.json(publicListing(doc, names.get(String(doc.organizationId)) ?? ''));
  });

  /** POST /market/listings: 201 {id, status: "pending"}; 403 unless an applicant of a verified organisation; 429 past the daily limit. */
  router.post('/market/listings', takePart, async (req, res) => {
    const { id: listingId, status } = await createListing(limits, requireUser(res), req.body ?? {});
    res.status(201).json({ id: listingId, status });
  });

  /** GET /market/listings: the organisation's own listings, any status. */
  router.get('/market/listings', takePart, async (req, res) => {
    const r = await listOwnListings(requireUser(res), req.query);
    res.json({ items: r.items.map((d) => fullListing(d, r.organization.name)), page: r.page, pageSize: r.pageSize, total: r.total });
  });

  /** GET /market/listings/{id}: in full to its owner and the bureau; as on the board to others while it is there; else 404. */
  router.get('/market/listings/:id', authorize('market.read'), async (req, res) => {
    const { doc, as } = await loadListingFor(currentUser(res), id(req));
    if (as !== 'public') return res.json(await full(doc));
    const names = await organizationNames([doc.organizationId]);
    res.json(publicListing(doc, names.get(String(doc.organizationId)) ?? ''));
  });

  /** PATCH /market/listings/{id}: the owner's edit; a real change sends it back to the bureau (`pending`). */
  router.patch('/market/listings/:id', takePart, async (req, res) => {
    res.json(await full(await editListing(limits, requireUser(res), id(req), req.body ?? {})));
  });

  /** POST /market/listings/{id}/renew: a published (or expired) listing stays up for the bureau's period from now; 409 otherwise. */
  router.post('/market/listings/:id/renew', takePart, async (req, res) => {
    const doc = await renewListing(requireUser(res), id(req));
    res.json({ status: 'published', expiresAt: (await full(doc)).expiresAt });
  });

  /** POST /market/listings/{id}/close: off the board for good. */
  router.post('/market/listings/:id/close', takePart, async (req, res) => {
    await closeListing(requireUser(res), id(req));
    res.json({ status: 'closed' });
  });

  /** POST /market/listings/{id}/publish (bureau): 200 {status: "published"}; 409 unless pending. */
  router.post('/market/listings/:id/publish', moderate, async (req, res) => {
    await publishListing(notifyDeps, requireUser(res), id(req), req.ip);
    res.json({ status: 'published' });
  });

  /** POST /market/listings/{id}/reject (bureau) {reason}: 200 {status: "rejected"}; 422 without a reason; 409 unless pending. */
  router.post('/market/listings/:id/reject', moderate, async (req, res) => {
    await rejectListing(notifyDeps, requireUser(res), id(req), req.body ?? {}, req.ip);
    res.json({ status: 'rejected' });
  });

  /** GET /market/queue (bureau): listings waiting for a decision, oldest first. */
  router.get('/market/queue', moderate, async (req, res) => {
    const r = await moderationQueue(requireUser(res), req.query);
    const names = await organizationNames(r.items.map((d) => d.organizationId));
    res.json({ items: r.items.map((d) => fullListing(d, names.get(String(d.organizationId)) ?? '')), page: r.page, pageSize: r.pageSize, total: r.total });
  });

  /** POST /market/listings/{id}/interest {message}: 201 {id, status: "open"}; the owner is notified. */
  router.post('/market/listings/:id/interest', takePart, async (req, res) => {
    res.status(201).json(await expressInterest(notifyDeps, limits, requireUser(res), id(req), req.body ?? {}));
  });

  /** GET /market/listings/{id}/interests: the owner's view of who is interested (contacts once accepted). */
  router.get('/market/listings/:id/interests', takePart, async (req, res) => {
    res.json({ items: await interestsInListing(requireUser(res), id(req)) });
  });

  /** GET /market/interests: the interests the organisation expressed (the owner's contact once accepted). */
  router.get('/market/interests', takePart, async (req, res) => {
    res.json(await interestsSent(requireUser(res), req.query));
  });

  /** GET /market/interests/{id}: to its two organisations only (404 to anyone else). */
  router.get('/market/interests/:id', takePart, async (req, res) => {
    res.json(await interestAnswer(requireUser(res), id(req)));
  });

  /** POST /market/interests/{id}/accept · /decline: the owner's decision; 409 once decided. */
  router.post('/market/interests/:id/accept', takePart, async (req, res) => {
    res.json(await decideInterest(notifyDeps, requireUser(res), id(req), 'accepted'));
  });
  router.post('/market/interests/:id/decline', takePart, async (req, res) => {
    res.json(await decideInterest(notifyDeps, requireUser(res), id(req), 'declined'));
  });

  /** GET · PUT /market/settings (bureau admins): {expiryDays}, how long a listing stays on the board. */
  router.get('/market/settings', authorize('bureau.admin'), async (_req, res) => {
    res.json({ expiryDays: (await getMarketSettings()).expiryDays });
  });
  router.put('/market/settings', authorize('bureau.admin'), async (req, res) => {
    res.json({ expiryDays: (await setMarketSettings(requireUser(res), req.body ?? {}, req.ip)).expiryDays });
  });

  return router;
}
