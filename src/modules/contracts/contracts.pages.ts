/** Applicants' contract pages: my contracts, the filing form, a contract's page. */
import { Router, type RequestHandler, type Response } from 'express';
import type { TFunction } from 'i18next';
import {
  codeOptions,
  CONTRACT_TYPES,
  DEDUCTION_ITEMS,
  ENTITY_NATURES,
  IP_TYPES,
  OBJECTIVES,
  PAYMENT_METHODS,
  PLAN_SOURCES,
  PRIORITY_AREAS,
  TECHNICAL_FIELDS,
} from '../../domain/codes';
import type { Issue } from '../../domain/contract-input';
import { countryOptions } from '../../domain/countries';
import { regionChoices } from '../../domain/regions';
import type { AppDeps } from '../../lib/deps';
import { AppError, toAppError } from '../../lib/errors';
import { authorize, requireUser } from '../../lib/http/authorize';
import { translate } from '../../lib/http/errors';
import { flash, listOrUnfiltered } from '../../lib/http/forms';
import { getOrganization } from '../organizations/organizations.service';
import { CONTRACT_STATUSES, EDITABLE_STATUSES, WITHDRAWABLE_STATUSES, type ContractStatus } from './contract.model';
import { sendAttachment } from './contracts.api';
import { requestsOf } from './request.model';
import { contractLabels, partyLabels } from './contract-labels';
import { formAction, formToInput, formValues, issuesByField, subtypeGroups } from './contracts.form';
import {
  addAttachment,
  createDraft,
  decisionView,
  findAttachment,
  listContracts,
  loadContract,
  removeAttachment,
  submitContract,
  submitProblems,
  updateDraft,
  withdrawContract,
  type ContractRecord,
} from './contracts.service';
import { statusSteps } from './status-steps';
import { singlePdfUpload } from './upload';
import { findingFor, type Finding } from '../../domain/checks';

const t = (res: Response) => res.locals.t as TFunction;

/** Code lists for the form's selects, in the page's language. */
function choices(lang: string) {
  return {
    types: codeOptions(CONTRACT_TYPES, lang),
    subtypeGroups: subtypeGroups(lang),
    natures: codeOptions(ENTITY_NATURES, lang),
    paymentMethods: codeOptions(PAYMENT_METHODS, lang),
    planSources: codeOptions(PLAN_SOURCES, lang),
    ipTypes: codeOptions(IP_TYPES, lang),
    technicalFields: codeOptions(TECHNICAL_FIELDS, lang),
    objectives: codeOptions(OBJECTIVES, lang),
    priorityAreas: codeOptions(PRIORITY_AREAS, lang),
    deductionItems: codeOptions(DEDUCTION_ITEMS, lang),
    countries: countryOptions(lang),
  };
}

/** A contract for the pages; an applicant gets findings without other organisations' data. */
export function contractView(doc: ContractRecord, lang: string, audience: 'applicant' | 'bureau') {
  const party = (p: Record<string, unknown> | null | undefined) => p && partyLabels(p as { nature?: string; country?: string; regionCode?: string }, lang);
  return {
    ...doc,
    id: String(doc._id),
    ...contractLabels(doc, lang),
    sellerView: party(doc.seller as unknown as Record<string, unknown> | undefined),
    buyersView: (doc.buyers ?? []).map((b) => party(b as unknown as Record<string, unknown>)),
    coSellersView: (doc.coSellers ?? []).map((c) => party(c as unknown as Record<string, unknown>)),
    findings: (doc.findings ?? []).map((x) => findingFor(x as Finding, audience)),
    decisionInfo: decisionView(doc, lang),
    editable: EDITABLE_STATUSES.includes(doc.status as ContractStatus),
    withdrawable: WITHDRAWABLE_STATUSES.includes(doc.status as ContractStatus),
    /** The status bar's steps (views/contracts/_status-bar.ejs). */
    steps: statusSteps(doc),
  };
}

interface EditState {
  doc: ContractRecord;
  extraBuyers?: number;
  issues?: Issue[];
  /** Problems that only block submission are shown as such, not as a failed save. */
  mode?: 'saved-with-issues' | 'submit-refused' | 'plain';
}

const audienceOf = (res: Response) => (requireUser(res).role === 'applicant' ? 'applicant' : 'bureau');

async function renderEdit(res: Response, state: EditState, status = 200) {
  const { doc } = state;
  const lang = res.locals.lang as string;
  const { values, buyerCount, deductionCount } = formValues(doc, state.extraBuyers ?? 0);
  const { errors, summary } = issuesByField(state.issues ?? [], (i) => translate(t(res), i.message, i.params));
  const regionFor = (prefix: string) =>
    regionChoices({ regionProvince: values[`${prefix}[regionProvince]`], regionCity: values[`${prefix}[regionCity]`], regionDistrict: values[`${prefix}[regionDistrict]`] });
  const org = await getOrganization(String(doc.organizationId));
  res.status(status).render('contracts/edit', {
    contract: contractView(doc, lang, audienceOf(res)),
    form: { values, errors, summary, formMessage: null },
    mode: state.mode ?? 'plain',
    buyerCount,
    deductionCount,
    sellerRegions: regionFor('seller'),
    buyerRegions: Array.from({ length: buyerCount }, (_, i) => regionFor(`buyers[${i}]`)),
    orgVerified: org?.status === 'verified',
    ...choices(lang),
  });
}

/** Multer errors on a page become a message on the form instead of an error page. */
export const pageUpload: RequestHandler = (req, res, next) => {
  singlePdfUpload(req, res, (err?: unknown) => {
    if (err) res.locals.uploadError = err;
    next();
  });
};

export function uploadErrorKey(err: unknown): AppError {
  const e = err as { code?: string };
  if (e?.code === 'LIMIT_FILE_SIZE') return new AppError('PAYLOAD_TOO_LARGE', { messageKey: 'errors.fileTooLarge' });
  return err instanceof AppError ? err : new AppError('BAD_REQUEST', { cause: err });
}

export function contractsPages(deps: AppDeps): Router {
  const router = Router();
  const filing = authorize('contracts.file');

  /** GET /contracts: my organisation's contracts, searchable and paginated. */
  router.get('/contracts', filing, async (req, res) => {
    const user = requireUser(res);
    const lang = res.locals.lang as string;
    const { result } = await listOrUnfiltered((q) => listContracts(user, q), req.query);
    const org = await getOrganization(user.organizationId);
    const thisYear = new Date().getFullYear();
    res.render('contracts/index', {
      items: result.items.map((c) => contractView(c, lang, audienceOf(res))),
      page: result.page,
      pageSize: result.pageSize,
      total: result.total,
      pages: Math.max(1, Math.ceil(result.total / result.pageSize)),
      query: { q: result.query.q ?? '', status: result.query.status ?? '', year: result.query.year ?? '' },
      statuses: CONTRACT_STATUSES,
      years: Array.from({ length: 8 }, (_, i) => thisYear - i),
      orgVerified: org?.status === 'verified',
    });
  });

  /** POST /contracts/new: starts a draft (the seller filled in from my organisation). */
  router.post('/contracts/new', filing, async (req, res) => {
    const { contract } = await createDraft(requireUser(res), {});
    res.redirect(303, `/contracts/${contract._id}/edit`);
  });

  /** GET /contracts/:id: a filing with its attachments, findings and history. */
  router.get('/contracts/:id', authorize('contracts.read'), async (req, res) => {
    const doc = await loadContract(requireUser(res), req.params.id as string);
    const requests = doc.registrationNumber ? await requestsOf(doc._id) : [];
    res.render('contracts/show', { contract: contractView(doc, res.locals.lang as string, audienceOf(res)), requests });
  });

  /** GET /contracts/:id/edit: the filing form. */
  router.get('/contracts/:id/edit', filing, async (req, res) => {
    const doc = await loadContract(requireUser(res), req.params.id as string);
    if (!EDITABLE_STATUSES.includes(doc.status as ContractStatus)) return res.redirect(303, `/contracts/${doc._id}`);
    await renderEdit(res, { doc });
  });

  /**
   * POST /contracts/:id/edit: saves the draft (always, even with invalid values), then adds
   * or removes a buyer, refreshes the region choices, or submits.
   */
  router.post('/contracts/:id/edit', filing, async (req, res) => {
    const user = requireUser(res);
    const id = req.params.id as string;
    const action = formAction(req.body ?? {});
    const { input, raw } = formToInput(req.body ?? {}, action);
    const { contract, issues } = await updateDraft(user, id, input, { forms: true, keepInvalid: true, raw });
    if (action.kind === 'submit') {
      const problems = submitProblems(contract);
      if (problems.length) return renderEdit(res, { doc: contract, issues: problems, mode: 'submit-refused' }, 422);
      try {
        const result = await submitContract(deps, user, id);
        const receipt = result.acceptance?.number ? `${res.locals.lang === 'en' ? ' ' : ''}${t(res)('receipt.flash', { number: result.acceptance.number })}` : '';
        flash(req, 'success', t(res)(result.queued ? 'contracts.submitted' : 'contracts.submittedQueuedLater') + receipt);
        return res.redirect(303, `/contracts/${id}`);
      } catch (err) {
        const appErr = toAppError(err);
        if (appErr.kind === 'VALIDATION_FAILED') return renderEdit(res, { doc: contract, issues: appErr.details, mode: 'submit-refused' }, 422);
        if (appErr.kind === 'FORBIDDEN' || appErr.kind === 'CONFLICT') {
          flash(req, 'error', translate(t(res), appErr.messageKey));
          return res.redirect(303, `/contracts/${id}`);
        }
        throw err;
      }
    }
    if (action.kind === 'addBuyer') return renderEdit(res, { doc: contract, extraBuyers: 1, issues });
    if (action.kind === 'removeBuyer' || action.kind === 'refresh') return renderEdit(res, { doc: contract, issues });
    if (issues.length) return renderEdit(res, { doc: contract, issues, mode: 'saved-with-issues' });
    flash(req, 'success', t(res)('contracts.draftSaved'));
    res.redirect(303, `/contracts/${id}/edit`);
  });

  /** POST /contracts/:id/attachments (multipart; CSRF token in the URL). */
  router.post('/contracts/:id/attachments', filing, pageUpload, async (req, res) => {
    const id = req.params.id as string;
    try {
      if (res.locals.uploadError) throw uploadErrorKey(res.locals.uploadError);
      const att = await addAttachment(requireUser(res), id, req.file);
      flash(req, 'success', t(res)('contracts.fileAdded', { name: att.filename }));
    } catch (err) {
      const appErr = toAppError(err);
      if (appErr.kind === 'NOT_FOUND' || appErr.status >= 500) throw err;
      const detail = appErr.details[0];
      flash(req, 'error', translate(t(res), detail ? detail.message : appErr.messageKey, detail?.params));
    }
    res.redirect(303, `/contracts/${id}/edit#attachments`);
  });

  /** POST /contracts/:id/attachments/:attachmentId/delete */
  router.post('/contracts/:id/attachments/:attachmentId/delete', filing, async (req, res) => {
    await removeAttachment(requireUser(res), req.params.id as string, req.params.attachmentId as string);
    flash(req, 'success', t(res)('contracts.fileRemoved'));
    res.redirect(303, `/contracts/${req.params.id}/edit#attachments`);
  });

  /** GET /contracts/:id/attachments/:attachmentId: the PDF, to its organisation and the bureau. */
  router.get('/contracts/:id/attachments/:attachmentId', authorize('contracts.read'), async (req, res) => {
    const att = await findAttachment(requireUser(res), req.params.id as string, req.params.attachmentId as string);
    await sendAttachment(res, att, req.query.inline === '1');
  });

  /** POST /contracts/:id/withdraw */
  router.post('/contracts/:id/withdraw', filing, async (req, res) => {
    try {
      await withdrawContract(requireUser(res), req.params.id as string);
      flash(req, 'success', t(res)('contracts.withdrawn'));
    } catch (err) {
      if (!(err instanceof AppError) || err.kind !== 'CONFLICT') throw err;
      flash(req, 'error', t(res)(err.messageKey));
    }
    res.redirect(303, `/contracts/${req.params.id}`);
  });

  return router;
}
