/** The bureau's pages: the review queue and the review of one filing, with its decisions. */
import { Router, type Request, type Response } from 'express';
import type { TFunction } from 'i18next';
import { codeOptions, CONTRACT_TYPES } from '../../domain/codes';
import { formatYuanGrouped } from '../../domain/money';
import type { AppDeps } from '../../lib/deps';
import { AppError } from '../../lib/errors';
import { authorize, requireUser } from '../../lib/http/authorize';
import { translate } from '../../lib/http/errors';
import { flash, listOrUnfiltered, pickFields } from '../../lib/http/forms';
import { contractView } from '../contracts/contracts.pages';
import { loadContract } from '../contracts/contracts.service';
import { reviewDeps } from './review.api';
import { approveContract, REFUSAL_REASONS, refuseContract, returnContract, revokeContract, sendToExpertReview } from './decisions.service';
import { Contract } from '../contracts/contract.model';
import { requestsOf } from '../contracts/request.model';
import { listReviewQueue } from './queue.service';
import { queueExportRoutes } from './queue.export';

const t = (res: Response) => res.locals.t as TFunction;

/** The decision forms of views/review/_decide.ejs (revocation has its own form). */
const DECISION_FORMS = ['approve', 'return', 'refuse', 'expert'];

/** A decision form refused for its values, kept in the session for the page it redirects to. */
interface KeptDecisionForm {
  /** The review page's path; the form is shown again only there. */
  base: string;
  form: string;
  values: Record<string, string>;
  /** Messages by field (note, reason, reasonCode); `_form` for one about no field. */
  errors: Record<string, string>;
}

type WithKeptForm = { decisionForm?: KeptDecisionForm };

function keepDecisionForm(req: Request, kept: KeptDecisionForm): void {
  const session = req.session as unknown as WithKeptForm | undefined;
  if (session) session.decisionForm = kept;
}

/** The kept form for the page at `base`, once (a reload shows the form fresh). */
function takeDecisionForm(req: Request, base: string): KeptDecisionForm | null {
  const session = req.session as unknown as WithKeptForm | undefined;
  const kept = session?.decisionForm;
  if (!kept) return null;
  delete session!.decisionForm;
  return kept.base === base ? kept : null;
}

function fieldErrors(err: AppError, res: Response): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const d of err.details) {
    const field = ['note', 'reason', 'reasonCode'].includes(d.path) ? d.path : '_form';
    errors[field] ??= translate(t(res), d.message, d.params);
  }
  if (!err.details.length) errors._form = translate(t(res), err.messageKey, err.params);
  return errors;
}

export function reviewPages(deps: AppDeps): Router {
  const router = Router();
  const rd = reviewDeps(deps);
  const reviewing = authorize('contracts.review');
  // Before /review/:id, which would take "export.xlsx" for an id.
  router.use(queueExportRoutes());

  /** GET /review: the queue, sorted by deadline, filterable. */
  router.get('/review', reviewing, async (req, res) => {
    const lang = res.locals.lang as string;
    const { result, filterError: bad } = await listOrUnfiltered((q) => listReviewQueue(q), req.query);
    const filterError = bad ? translate(t(res), bad.details[0]?.message ?? bad.messageKey) : null;
    const q = result.query;
    res.render('review/queue', {
      items: result.items.map((c) => ({
        ...c,
        id: String(c._id),
        href: c.kind === 'filing' ? `/review/${c._id}` : `/review/requests/${c._id}`,
        typeLabel: codeOptions(CONTRACT_TYPES, lang).find((o) => o.value === c.type)?.label ?? '',
        amountText: typeof c.contractAmountFen === 'number' ? formatYuanGrouped(c.contractAmountFen) : '',
        errors: (c.findings ?? []).filter((f) => f.severity === 'error').length,
        warnings: (c.findings ?? []).filter((f) => f.severity === 'warning').length,
      })),
      total: result.total,
      page: result.page,
      pages: Math.max(1, Math.ceil(result.total / result.pageSize)),
      query: { status: q.status, kind: q.kind, type: q.type ?? '', deadline: q.deadline ?? '', findings: q.findings ?? '', minAmount: q.minAmount ?? '', maxAmount: q.maxAmount ?? '', q: q.q ?? '' },
      types: codeOptions(CONTRACT_TYPES, lang),
      filterError,
    });
  });

  /** GET /review/:id: the filing beside its PDF, with findings, history and the decision forms. */
  router.get('/review/:id', reviewing, async (req, res) => {
    const doc = await loadContract(requireUser(res), req.params.id as string);
    const requests = doc.registrationNumber ? await requestsOf(doc._id) : [];
    const decideForm = takeDecisionForm(req, `/review/${doc._id}`);
    res.render('review/show', { contract: contractView(doc, res.locals.lang as string, 'bureau'), reasons: REFUSAL_REASONS, requests, decideForm });
  });

  const decision = (name: string, run: (id: string, body: Record<string, string>, res: Response, ip?: string) => Promise<unknown>) =>
    async (req: Request, res: Response) => {
      const id = req.params.id as string;
      const body = pickFields(req.body, ['note', 'reason', 'reasonCode']);
      try {
        await run(id, body, res, req.ip);
        flash(req, 'success', t(res)(`review.done_${name}`));
      } catch (err) {
        if (!(err instanceof AppError) || !['CONFLICT', 'VALIDATION_FAILED'].includes(err.kind)) throw err;
        if (err.kind === 'VALIDATION_FAILED' && DECISION_FORMS.includes(name)) {
          // The page opens again with this form open, what was chosen and typed, and the message at its field.
          keepDecisionForm(req, { base: `/review/${id}`, form: name, values: body, errors: fieldErrors(err, res) });
        } else {
          const detail = err.details[0];
          flash(req, 'error', translate(t(res), detail ? detail.message : err.messageKey, detail?.params));
        }
      }
      res.redirect(303, `/review/${id}`);
    };

  /** POST /review/:id/approve */
  router.post('/review/:id/approve', reviewing, decision('approve', (id, b, res, ip) => approveContract(rd, requireUser(res), id, { note: b.note || undefined }, ip)));
  /** POST /review/:id/return */
  router.post('/review/:id/return', reviewing, decision('return', (id, b, res, ip) => returnContract(rd, requireUser(res), id, { reason: b.reason }, ip)));
  /** POST /review/:id/refuse */
  router.post('/review/:id/refuse', reviewing, decision('refuse', (id, b, res, ip) => refuseContract(rd, requireUser(res), id, { reasonCode: b.reasonCode, note: b.note || undefined }, ip)));
  /** POST /review/:id/expert-review: to expert review with a note (30 working days from today). */
  router.post('/review/:id/expert-review', reviewing, decision('expert', (id, b, res, ip) => sendToExpertReview(Contract, requireUser(res), id, { note: b.note }, { ip, targetType: 'contract' })));
  /** POST /review/:id/revoke (admins) */
  router.post('/review/:id/revoke', authorize('contracts.revoke'), decision('revoke', (id, b, res, ip) => revokeContract(rd, requireUser(res), id, { reason: b.reason }, ip)));

  return router;
}
