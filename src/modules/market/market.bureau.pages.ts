/** The bureau's pages of the board: the moderation queue with its publish and reject forms, and the expiry setting. */
import { Router, type Response } from 'express';
import { AppError } from '../../lib/errors';
import { authorize, requireUser } from '../../lib/http/authorize';
import { translate } from '../../lib/http/errors';
import { emptyForm, flash, isFormError, listOrUnfiltered, pickFields } from '../../lib/http/forms';
import type { NotifyDeps } from '../notifications/notifications.events';
import { EXPIRY_DAYS } from './listing-input';
import { findListing } from './listings.service';
import { getMarketSettings, setMarketSettings } from './market.settings';
import { cardOf, renderRefusedForm, tOf } from './market.page-views';
import { organizationNames } from './market.views';
import { moderationQueue, publishListing, rejectListing } from './moderation.service';

export function bureauMarketPages(notifyDeps: NotifyDeps): Router {
  const router = Router();
  const moderate = authorize('market.moderate');

  /** The queue page; `rejecting` re-opens one listing's reject form with its problem. */
  async function renderQueue(res: Response, query: unknown, rejecting: { id: string; reason: string; error: string } | null = null) {
    const user = requireUser(res);
    const { result } = await listOrUnfiltered((q) => moderationQueue(user, q), query);
    // The listing whose reject form opens again is shown, whatever page it is on.
    const reopened = rejecting && !result.items.some((d) => String(d._id) === rejecting.id) ? await findListing(rejecting.id) : null;
    if (reopened?.status === 'pending') result.items.unshift(reopened);
    const names = await organizationNames(result.items.map((d) => d.organizationId));
    const { expiryDays } = await getMarketSettings();
    res.render('market/queue', {
      items: result.items.map((d) => cardOf(d, names.get(String(d.organizationId)) ?? '', res)),
      total: result.total,
      page: result.page,
      pages: Math.max(1, Math.ceil(result.total / result.pageSize)),
      expiryDays,
      isAdmin: user.role === 'admin',
      rejecting,
    });
  }

  /** GET /bureau/market: listings waiting for the bureau, oldest first. */
  router.get('/bureau/market', moderate, async (req, res) => {
    await renderQueue(res, req.query);
  });

  /** POST /bureau/market/:id/publish: on the board; if someone decided first, says so. */
  router.post('/bureau/market/:id/publish', moderate, async (req, res) => {
    try {
      await publishListing(notifyDeps, requireUser(res), String(req.params.id), req.ip);
      flash(req, 'success', tOf(res)('market.publishedDone'));
    } catch (err) {
      if (!(err instanceof AppError) || err.kind !== 'CONFLICT') throw err;
      flash(req, 'error', translate(tOf(res), err.messageKey, err.params));
    }
    res.redirect(303, '/bureau/market');
  });

  /** POST /bureau/market/:id/reject (reason): the owner is told the reason; without one the form opens again saying so. */
  router.post('/bureau/market/:id/reject', moderate, async (req, res) => {
    const id = String(req.params.id);
    const { reason } = pickFields(req.body, ['reason']);
    try {
      await rejectListing(notifyDeps, requireUser(res), id, { reason: reason ?? '' }, req.ip);
      flash(req, 'success', tOf(res)('market.rejectedDone'));
    } catch (err) {
      if (!(err instanceof AppError) || !['CONFLICT', 'VALIDATION_FAILED'].includes(err.kind)) throw err;
      if (err.kind === 'VALIDATION_FAILED') {
        const d = err.details[0];
        res.status(422);
        return renderQueue(res, {}, { id, reason: reason ?? '', error: translate(tOf(res), d?.message ?? err.messageKey, d?.params) });
      }
      flash(req, 'error', translate(tOf(res), err.messageKey, err.params));
    }
    res.redirect(303, '/bureau/market');
  });

  /** GET /bureau/market/settings (admins): how long a published listing stays on the board. */
  router.get('/bureau/market/settings', authorize('bureau.admin'), async (_req, res) => {
    const s = await getMarketSettings();
    res.render('market/settings', { settings: s, limits: EXPIRY_DAYS, form: emptyForm({ expiryDays: String(s.expiryDays) }) });
  });

  /** POST /bureau/market/settings */
  router.post('/bureau/market/settings', authorize('bureau.admin'), async (req, res) => {
    const values = pickFields(req.body, ['expiryDays']);
    try {
      await setMarketSettings(requireUser(res), values, req.ip);
      flash(req, 'success', tOf(res)('market.settingsSaved'));
      res.redirect(303, '/bureau/market/settings');
    } catch (err) {
      if (!isFormError(err)) throw err;
      renderRefusedForm(res, 'market/settings', err, values, { settings: await getMarketSettings(), limits: EXPIRY_DAYS });
    }
  });

  return router;
}
