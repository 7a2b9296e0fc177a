/** The owner's pages: posting and editing listings, "mine" with the interests, renewing, closing, answering interest. */
import { Router, type Request, type Response } from 'express';
import { AppError } from '../../lib/errors';
import { authorize, requireUser } from '../../lib/http/authorize';
import { translate } from '../../lib/http/errors';
import { emptyForm, flash, isFormError, pickFields } from '../../lib/http/forms';
import type { NotifyDeps } from '../notifications/notifications.events';
import { decideInterest, interestsInListings, interestsSent, loadInterest } from './interests.service';
import { closeListing, createListing, editListing, listOwnListings, loadOwnListing, marketOrganization, renewListing } from './listings.service';
import { MARKET_LIMITS, type MarketLimiters } from './market.limits';
import { cardOf, choices, formValues, langOf, LISTING_FORM_FIELDS, renderRefusedForm, tOf } from './market.page-views';

/** Whether the user's organisation may post (verified); the pages say so instead of failing. */
const mayPost = (res: Response) => marketOrganization(requireUser(res)).then(() => true, (err) => {
  if (err instanceof AppError && err.code === 'ORGANIZATION_NOT_VERIFIED') return false;
  throw err;
});

/** A refused action of the owner: its message as a flash, back to where it came from. */
function refused(req: Request, res: Response, err: unknown, back: string): void {
  if (!(err instanceof AppError) || !['CONFLICT', 'VALIDATION_FAILED', 'RATE_LIMITED'].includes(err.kind)) throw err;
  flash(req, 'error', translate(tOf(res), err.messageKey, err.params));
  res.redirect(303, back);
}

export function ownerMarketPages(limits: MarketLimiters, notifyDeps: NotifyDeps): Router {
  const router = Router();
  const own = authorize('market.take_part');
  const formLocals = (res: Response, extra: Record<string, unknown>) => ({ ...choices(res), limits: MARKET_LIMITS, ...extra });

  /** GET /market/new: the listing form (or why the organisation cannot post yet). */
  router.get('/market/new', own, async (_req, res) => {
    res.render('market/form', formLocals(res, { listing: null, notVerified: !(await mayPost(res)), form: emptyForm({ kind: 'offer' }) }));
  });

  /** POST /market/new: posts it to the bureau; problems at their fields, the daily limit above the form. */
  router.post('/market/new', own, async (req, res) => {
    const values = pickFields(req.body, LISTING_FORM_FIELDS);
    try {
      const { id } = await createListing(limits, requireUser(res), values, { forms: true });
      flash(req, 'success', tOf(res)('market.submitted'));
      res.redirect(303, `/market/${id}`);
    } catch (err) {
      if (!isFormError(err)) throw err;
      renderRefusedForm(res, 'market/form', err, values, formLocals(res, { listing: null, notVerified: false }));
    }
  });

  /** GET /market/mine: the organisation's listings with the interests in them, and the interests it expressed. */
  router.get('/market/mine', own, async (req, res) => {
    const user = requireUser(res);
    if (!(await mayPost(res))) return res.render('market/mine', { notVerified: true, listings: [], sent: [], total: 0 });
    const mine = await listOwnListings(user, { page: 1, pageSize: 100 });
    const interests = await interestsInListings(user, mine.items);
    const sent = await interestsSent(user, { page: 1, pageSize: 100 });
    res.render('market/mine', {
      notVerified: false,
      total: mine.total,
      listings: mine.items.map((d) => ({ ...cardOf(d, mine.organization.name, res), interests: interests.get(String(d._id)) ?? [] })),
      sent: sent.items,
    });
  });

  /** GET /market/:id/edit: the owner's form; saving sends the listing back to the bureau. */
  router.get('/market/:id/edit', own, async (req, res) => {
    const doc = await loadOwnListing(requireUser(res), String(req.params.id));
    res.render('market/form', formLocals(res, { listing: cardOf(doc, '', res), notVerified: false, form: emptyForm(formValues(doc, langOf(res))) }));
  });

  /** POST /market/:id/edit */
  router.post('/market/:id/edit', own, async (req, res) => {
    const user = requireUser(res);
    const id = String(req.params.id);
    const values = pickFields(req.body, LISTING_FORM_FIELDS);
    const before = await loadOwnListing(user, id);
    try {
      const after = await editListing(limits, user, id, { ...values, priorityArea: values.priorityArea ?? '', ipType: values.ipType ?? '', priceHint: values.priceHint ?? '' }, { forms: true });
      flash(req, 'success', tOf(res)(after.version === before.version ? 'market.unchanged' : 'market.resubmitted'));
      res.redirect(303, `/market/${id}`);
    } catch (err) {
      if (!isFormError(err)) throw err;
      renderRefusedForm(res, 'market/form', err, values, formLocals(res, { listing: cardOf(before, '', res), notVerified: false }));
    }
  });

  /** POST /market/:id/renew · /close */
  router.post('/market/:id/renew', own, async (req, res) => {
    const id = String(req.params.id);
    try {
      await renewListing(requireUser(res), id);
      flash(req, 'success', tOf(res)('market.renewed'));
      res.redirect(303, `/market/${id}`);
    } catch (err) {
      refused(req, res, err, `/market/${id}`);
    }
  });
  router.post('/market/:id/close', own, async (req, res) => {
    const id = String(req.params.id);
    try {
      await closeListing(requireUser(res), id);
      flash(req, 'success', tOf(res)('market.closed'));
      res.redirect(303, `/market/${id}`);
    } catch (err) {
      refused(req, res, err, `/market/${id}`);
    }
  });

  /** POST /market/interests/:id/accept · /decline: the owner's answer; back to the listing on "mine". */
  for (const decision of ['accepted', 'declined'] as const) {
    router.post(`/market/interests/:id/${decision === 'accepted' ? 'accept' : 'decline'}`, own, async (req, res) => {
      const user = requireUser(res);
      const { listing } = await loadInterest(user, String(req.params.id)); // 404 for anyone else's
      const back = `/market/mine#listing-${String(listing._id)}`;
      try {
        await decideInterest(notifyDeps, user, String(req.params.id), decision);
        flash(req, 'success', tOf(res)(`market.interest_${decision}_done`));
        res.redirect(303, back);
      } catch (err) {
        refused(req, res, err, back);
      }
    });
  }

  return router;
}
