/** Pages for changes and cancellations: the applicant files and follows them; the bureau reviews them. */
import { Router, type Request, type Response } from 'express';
import type { TFunction } from 'i18next';
import { codeLabel, codeOptions, CONTRACT_TYPES, DEDUCTION_ITEMS, ENTITY_NATURES } from '../../domain/codes';
import type { Issue } from '../../domain/contract-input';
import { formatYuan, formatYuanGrouped } from '../../domain/money';
import type { RequestKind } from '../../domain/statuses';
import type { AppDeps } from '../../lib/deps';
import { AppError, toAppError } from '../../lib/errors';
import { authorize, requireUser } from '../../lib/http/authorize';
import { translate } from '../../lib/http/errors';
import { flash, pickFields } from '../../lib/http/forms';
import type { ContractDoc } from '../contracts/contract.model';
import { sendAttachment } from '../contracts/contracts.api';
import { contractView, pageUpload, uploadErrorKey } from '../contracts/contracts.pages';
import { loadContract } from '../contracts/contracts.service';
import type { RequestDoc } from '../contracts/request.model';
import { reviewDeps } from '../review/review.api';
import { REFUSAL_REASONS } from '../review/decisions.service';
import { approveRequest, refuseRequest, returnRequest, sendRequestToExpertReview } from './request-decisions.service';
import { addRequestAttachment, createRequest, findRequestAttachment, loadRequest, requestToApi, submitRequest, withdrawRequest } from './requests.service';

const t = (res: Response) => res.locals.t as TFunction;
const lang = (res: Response) => res.locals.lang as string;

/** The fields the change form offers (the API takes any contract field). */
const FORM_FIELDS = ['title', 'contractAmount', 'technicalAmount', 'signedOn', 'validFrom', 'validTo'] as const;
const MAX_DEDUCTION_ROWS = 4;

type Body = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * The change form's values as the API's `fields`. The form is filled with the registered values,
 * so unchanged ones are dropped by the service; a field left empty is not a change (all of them
 * are required), while the deduction rows are taken as they stand (emptied, they are removed).
 */
function formToFields(body: Body): Body {
  const fields: Body = {};
  for (const k of FORM_FIELDS) if (str(body[k]).trim()) fields[k] = str(body[k]);
  const rows = Array.isArray(body.deductions) ? body.deductions : body.deductions && typeof body.deductions === 'object' ? Object.values(body.deductions) : [];
  fields.deductions = (rows as Body[]).slice(0, MAX_DEDUCTION_ROWS).map((d) => ({ item: str(d?.item), amount: str(d?.amount) }));
  return fields;
}

/** The form's values: what was typed, or the contract as registered. */
function formValues(contract: ContractDoc, body: Body | null): Record<string, string> {
  const values: Record<string, string> = {};
  const money = (fen: number | null | undefined) => (typeof fen === 'number' ? formatYuan(fen) : '');
  const current: Record<string, string> = {
    title: contract.title ?? '',
    contractAmount: money(contract.contractAmountFen),
    technicalAmount: money(contract.technicalAmountFen),
    signedOn: contract.signedOn ?? '',
    validFrom: contract.validFrom ?? '',
    validTo: contract.validTo ?? '',
  };
  for (const k of FORM_FIELDS) values[k] = body ? str(body[k]) : current[k];
  const typed = body ? (formToFields(body).deductions as { item: string; amount: string }[]) : null;
  const deductions = typed ?? (contract.deductions ?? []).map((d) => ({ item: d.item ?? '', amount: money(d.amountFen) }));
  for (let i = 0; i < MAX_DEDUCTION_ROWS; i++) {
    values[`deductions[${i}][item]`] = deductions[i]?.item ?? '';
    values[`deductions[${i}][amount]`] = deductions[i]?.amount ?? '';
  }
  values.reason = body ? str(body.reason) : '';
  return values;
}

/** Errors by form field name: `fields.deductions.0.amount` → `deductions[0][amount]`. */
function errorsOf(issues: Issue[], res: Response) {
  const errors: Record<string, string> = {};
  const summary: { field: string; message: string }[] = [];
  for (const i of issues) {
    const parts = i.path.replace(/^fields\./, '').split('.');
    const field = parts.length === 3 ? `${parts[0]}[${parts[1]}][${parts[2]}]` : parts[0];
    const message = translate(t(res), i.message, i.params);
    errors[field] ??= message;
    summary.push({ field, message });
  }
  return { errors, summary };
}

/** A change's fields as rows: label, value before, value after (display only). */
function changeRows(r: RequestDoc, contract: ContractDoc, language: string) {
  const before = (r.applied?.before ?? null) as Record<string, unknown> | null;
  const show = (k: string, v: unknown): string => {
    if (v === null || v === undefined || v === '') return '—';
    if (k.endsWith('Fen') && typeof v === 'number') return `¥ ${formatYuanGrouped(v)}`;
    if (k === 'deductions' && Array.isArray(v)) return v.map((d: { item: string; amountFen: number }) => `${codeLabel(DEDUCTION_ITEMS, d.item, language)} ¥ ${formatYuanGrouped(d.amountFen)}`).join('；') || '—';
    if (k === 'type') return codeLabel(CONTRACT_TYPES, v as string, language);
    if (Array.isArray(v)) return v.map((p: { name?: string }) => p?.name ?? '').join('；');
    if (typeof v === 'object') {
      const p = v as { name?: string; nature?: string; contactPerson?: string; phone?: string };
      return [p.name, p.nature ? codeLabel(ENTITY_NATURES, p.nature, language) : null, p.contactPerson, p.phone].filter(Boolean).join(' · ');
    }
    return String(v);
  };
  return Object.entries((r.changes ?? {}) as Record<string, unknown>).map(([k, after]) => ({
    key: k,
    before: show(k, before ? before[k] : (contract as unknown as Record<string, unknown>)[k]),
    after: show(k, after),
  }));
}

function requestView(r: RequestDoc, contract: ContractDoc, res: Response, audience: 'applicant' | 'bureau') {
  const api = requestToApi(r, lang(res), audience);
  return { ...api, changeRows: changeRows(r, contract, lang(res)), open: ['draft', 'returned'].includes(r.status), expertReviewAt: r.expertReviewAt ?? null };
}

export function changesPages(deps: AppDeps): Router {
  const router = Router();
  const rd = reviewDeps(deps);
  const filing = authorize('contracts.file');
  const reviewing = authorize('contracts.review');

  const renderNew = async (res: Response, contract: ContractDoc, kind: RequestKind, body: Body | null, issues: Issue[] = [], status = 200) => {
    const { errors, summary } = errorsOf(issues, res);
    res.status(status).render('changes/new', {
      kind,
      contract: contractView(contract, lang(res), 'applicant'),
      form: { values: formValues(contract, body), errors, summary },
      deductionRows: MAX_DEDUCTION_ROWS,
      deductionItems: codeOptions(DEDUCTION_ITEMS, lang(res)),
    });
  };

  for (const [kind, path] of [['change', 'changes'], ['cancellation', 'cancellation']] as const) {
    /** GET /contracts/:id/changes/new and /contracts/:id/cancellation/new: the request form. */
    router.get(`/contracts/:id/${path}/new`, filing, async (req, res) => {
      const contract = await loadContract(requireUser(res), req.params.id as string);
      if (contract.status !== 'registered') return res.redirect(303, `/contracts/${contract._id}`);
      await renderNew(res, contract, kind, null);
    });

    /** POST …/new: creates the request (the agreement is uploaded on its page next). */
    router.post(`/contracts/:id/${path}/new`, filing, async (req, res) => {
      const user = requireUser(res);
      const contract = await loadContract(user, req.params.id as string);
      const body = (req.body ?? {}) as Body;
      const input = kind === 'change' ? { reason: str(body.reason), fields: formToFields(body) } : { reason: str(body.reason) };
      try {
        const r = await createRequest(user, String(contract._id), kind, input, { forms: true });
        flash(req, 'success', t(res)('requests.done_created'));
        res.redirect(303, `/requests/${r._id}`);
      } catch (err) {
        const appErr = toAppError(err);
        if (appErr.kind === 'VALIDATION_FAILED') return renderNew(res, contract, kind, body, appErr.details.length ? appErr.details : [{ path: 'reason', message: appErr.messageKey }], 422);
        if (appErr.kind !== 'CONFLICT') throw err;
        flash(req, 'error', translate(t(res), appErr.messageKey));
        res.redirect(303, `/contracts/${contract._id}`);
      }
    });
  }

  /** GET /requests/:rid: a change or cancellation with its agreement, status and decision. */
  router.get('/requests/:rid', authorize('contracts.read'), async (req, res) => {
    const user = requireUser(res);
    const r = await loadRequest(user, req.params.rid as string);
    if (user.role !== 'applicant') return res.redirect(303, `/review/requests/${r._id}`);
    const contract = await loadContract(user, String(r.contractId));
    res.render('changes/show', { request: requestView(r, contract, res, 'applicant'), contract: contractView(contract, lang(res), 'applicant') });
  });

  /** POST /requests/:rid/attachments (multipart; CSRF token in the URL). */
  router.post('/requests/:rid/attachments', filing, pageUpload, async (req, res) => {
    const rid = req.params.rid as string;
    try {
      if (res.locals.uploadError) throw uploadErrorKey(res.locals.uploadError);
      await addRequestAttachment(requireUser(res), rid, req.file);
      flash(req, 'success', t(res)('requests.done_uploaded'));
    } catch (err) {
      const appErr = toAppError(err);
      if (appErr.kind === 'NOT_FOUND' || appErr.status >= 500) throw err;
      const detail = appErr.details[0];
      flash(req, 'error', translate(t(res), detail ? detail.message : appErr.messageKey, detail?.params));
    }
    res.redirect(303, `/requests/${rid}`);
  });

  /** GET /requests/:rid/attachments/:attachmentId: the agreement, to its organisation and the bureau. */
  router.get('/requests/:rid/attachments/:attachmentId', authorize('contracts.read'), async (req, res) => {
    const r = await loadRequest(requireUser(res), req.params.rid as string);
    await sendAttachment(res, findRequestAttachment(r, req.params.attachmentId as string), req.query.inline === '1');
  });

  /** The applicant's and the reviewer's actions: run, then back to the page with the outcome as a message. */
  const action = (done: string, page: (rid: string) => string, run: (rid: string, body: Record<string, string>, res: Response, ip?: string) => Promise<unknown>) =>
    async (req: Request, res: Response) => {
      const rid = req.params.rid as string;
      try {
        await run(rid, pickFields(req.body, ['note', 'reason', 'reasonCode']), res, req.ip);
        flash(req, 'success', t(res)(done));
      } catch (err) {
        if (!(err instanceof AppError) || !['CONFLICT', 'VALIDATION_FAILED', 'FORBIDDEN'].includes(err.kind)) throw err;
        const details = err.details;
        flash(req, 'error', details.length ? details.map((d) => translate(t(res), d.message, d.params)).join(' ') : translate(t(res), err.messageKey));
      }
      res.redirect(303, page(rid));
    };
  const applicantPage = (rid: string) => `/requests/${rid}`;
  const reviewPage = (rid: string) => `/review/requests/${rid}`;

  /** POST /requests/:rid/submit */
  router.post('/requests/:rid/submit', filing, action('requests.done_submitted', applicantPage, (rid, _b, res) => submitRequest(deps, requireUser(res), rid)));
  /** POST /requests/:rid/withdraw */
  router.post('/requests/:rid/withdraw', filing, action('requests.done_withdrawn', applicantPage, (rid, _b, res) => withdrawRequest(requireUser(res), rid)));

  /** GET /review/requests/:rid: the bureau's review of a change or cancellation, with the decision forms. */
  router.get('/review/requests/:rid', reviewing, async (req, res) => {
    const user = requireUser(res);
    const r = await loadRequest(user, req.params.rid as string);
    const contract = await loadContract(user, String(r.contractId));
    res.render('changes/review', { request: requestView(r, contract, res, 'bureau'), contract: contractView(contract, lang(res), 'bureau'), reasons: REFUSAL_REASONS });
  });

  /** POST /review/requests/:rid/approve · /return · /refuse · /expert-review */
  router.post('/review/requests/:rid/approve', reviewing, action('review.done_approve', reviewPage, (rid, b, res, ip) => approveRequest(rd, requireUser(res), rid, { note: b.note || undefined }, ip)));
  router.post('/review/requests/:rid/return', reviewing, action('review.done_return', reviewPage, (rid, b, res, ip) => returnRequest(rd, requireUser(res), rid, { reason: b.reason }, ip)));
  router.post('/review/requests/:rid/refuse', reviewing, action('review.done_refuse', reviewPage, (rid, b, res, ip) => refuseRequest(rd, requireUser(res), rid, { reasonCode: b.reasonCode, note: b.note || undefined }, ip)));
  router.post('/review/requests/:rid/expert-review', reviewing, action('review.done_expert', reviewPage, (rid, b, res, ip) => sendRequestToExpertReview(requireUser(res), rid, { note: b.note }, ip)));

  return router;
}
