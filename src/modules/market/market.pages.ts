/**
 * The board's pages: the public board (/market), a listing (/market/:id) with the interest
 * form, and "start a contract from this". The owner's pages (market.owner.pages) and the
 * bureau's (market.bureau.pages) are mounted from here, before /market/:id.
 */
import { Router, type Request, type Response } from 'express';
import { cstYear } from '../../domain/time';
import type { AppDeps } from '../../lib/deps';
import { formatYuanGrouped } from '../../domain/money';
import { AppError } from '../../lib/errors';
import { authorize, currentUser, openToAnyone, requireUser } from '../../lib/http/authorize';
import { emptyForm, flash, isFormError, listOrUnfiltered, pickFields, type FormState } from '../../lib/http/forms';
import { translate } from '../../lib/http/errors';
import { searchBoard } from './board.service';
import { draftFromListing } from './from-listing';
import { expressInterest, interestsInListing } from './interests.service';
import { MarketInterest, type InterestDoc } from './listing.model';
import { loadListingFor, marketOrganization } from './listings.service';
import { MarketLimiters } from './market.limits';
import { bureauMarketPages } from './market.bureau.pages';
import { ownerMarketPages } from './market.owner.pages';
import { cardOf, choices, formStateOf, tOf } from './market.page-views';
import { marketStats } from './market.stats';
import { contactOf, interestView, organizationNames } from './market.views';

export function marketPages(deps: AppDeps): Router {
  const router = Router();
  const limits = new MarketLimiters(deps.redis, deps.config.queuePrefix);
  const notifyDeps = { queues: deps.queues, logger: deps.logger };

  // /market/mine and /market/new before /market/:id.
  router.use(ownerMarketPages(limits, notifyDeps));
  router.use(bureauMarketPages(notifyDeps));

  /** GET /market?q=&kind=&technicalField=&priorityArea=&page=: the public board, with what it brought about this year. */
  router.get('/market', openToAnyone('the public market board'), async (req, res) => {
    const { result, filterError } = await listOrUnfiltered((q) => searchBoard(q), req.query);
    const q = result.query;
    const year = cstYear(new Date());
    const stats = await marketStats(year);
    const user = currentUser(res);
    res.set('Cache-Control', 'no-cache');
    res.render('market/index', {
      items: result.items.map((d) => cardOf(d, result.names.get(String(d.organizationId)) ?? '', res)),
      total: result.total,
      page: result.page,
      pages: Math.max(1, Math.ceil(result.total / result.pageSize)),
      query: { q: q.q ?? '', kind: q.kind ?? '', technicalField: q.technicalField ?? '', priorityArea: q.priorityArea ?? '' },
      filterError: Boolean(filterError),
      stats: { year, contracts: stats.contracts, amountText: formatYuanGrouped(stats.contractAmountFen) },
      canPost: user?.role === 'applicant',
      ...choices(res),
    });
  });

  /** The listing page for whoever asks (404 for a listing they may not see), with the interest form's state. */
  async function renderListing(req: Request, res: Response, form: FormState = emptyForm()) {
    const user = currentUser(res);
    const { doc, as } = await loadListingFor(user, String(req.params.id));
    const names = await organizationNames([doc.organizationId]);
    const listing = cardOf(doc, names.get(String(doc.organizationId)) ?? '', res);
    let myInterest = null;
    let notVerified = false;
    if (as === 'public' && user?.role === 'applicant' && user.organizationId) {
      const mine = (await MarketInterest.findOne({ listingId: doc._id, organizationId: user.organizationId }).lean()) as InterestDoc | null;
      if (mine) {
        const mineNames = await organizationNames([mine.organizationId, mine.ownerOrganizationId]);
        myInterest = interestView(mine, mineNames, mine.status === 'accepted' ? await contactOf(doc.organizationId, doc.createdBy) : null);
      }
      notVerified = await marketOrganization(user).then(() => false, () => true);
    }
    res.render('market/show', {
      listing,
      as,
      signedIn: Boolean(user),
      isApplicant: user?.role === 'applicant',
      notVerified,
      myInterest,
      interests: as === 'owner' ? await interestsInListing(user!, String(doc._id)) : [],
      canModerate: as === 'bureau' && doc.status === 'pending',
      form,
    });
  }

  /** GET /market/:id: a listing; the owner and the bureau see it in any status, others only while it is on the board. */
  router.get('/market/:id', openToAnyone('a public market listing (others answer 404)'), async (req, res) => {
    res.set('Cache-Control', 'no-cache');
    await renderListing(req, res);
  });

  /** POST /market/:id/interest: another verified organisation's interest, with its message. */
  router.post('/market/:id/interest', authorize('market.take_part'), async (req, res) => {
    const values = pickFields(req.body, ['message']);
    try {
      await expressInterest(notifyDeps, limits, requireUser(res), String(req.params.id), values);
      flash(req, 'success', tOf(res)('market.interestSent'));
      res.redirect(303, `/market/${String(req.params.id)}`);
    } catch (err) {
      if (!isFormError(err)) throw err;
      // The page again, with the message kept and the problem at the field (or above the form).
      res.status(err.status);
      if (err.kind === 'RATE_LIMITED' && typeof err.extra?.retryAfter === 'number') res.set('Retry-After', String(err.extra.retryAfter));
      await renderListing(req, res, formStateOf(res, err, values));
    }
  });

  /**
   * POST /market/:id/contract (interest?): "start a contract from this". The seller's own draft
   * opens in the filing form; a draft prepared for the seller (the buyer side started it) is
   * announced here, since it is the seller's to file.
   */
  router.post('/market/:id/contract', authorize('contracts.file'), async (req, res) => {
    const id = String(req.params.id);
    const { interest } = pickFields(req.body, ['interest']);
    try {
      const { contract, preparedFor } = await draftFromListing(notifyDeps, limits, requireUser(res), id, interest || null, {});
      if (preparedFor === null) {
        flash(req, 'success', tOf(res)('market.draftCreated'));
        return res.redirect(303, `/contracts/${String(contract._id)}/edit`);
      }
      flash(req, 'success', tOf(res)('market.draftPrepared', { organization: preparedFor }));
    } catch (err) {
      if (!(err instanceof AppError) || !['CONFLICT', 'VALIDATION_FAILED', 'RATE_LIMITED'].includes(err.kind)) throw err;
      const d = err.details[0];
      flash(req, 'error', translate(tOf(res), d ? d.message : err.messageKey, d ? d.params : err.params));
    }
    res.redirect(303, (req.body?.back === 'mine' ? '/market/mine' : `/market/${id}`));
  });

  return router;
}

