/** Applicants' contract pages: my contracts, the filing form, a contract's page. */
import { Router, type Request, type RequestHandler, type Response } from 'express';
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
import { LIMITS, type Issue } from '../../domain/contract-input';
import type { CurrentUser } from '../accounts/current-user';
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
import { CO_SELLER_ROWS, fieldLabel, formAction, formToInput, formValues, issuesByField, requiredMarkers, subtypeChoices, type CoSellerRows } from './contracts.form';
import {
  addAttachment,
  createDraft,
  decisionView,
  deleteDraft,
  fieldsOf,
  findAttachment,
  keptValueIssues,
  listContracts,
  loadContract,
  needsAttachment,
  removeAttachment,
  submitContract,
  submitProblems,
  unsavedDraft,
  updateDraft,
  withdrawContract,
  type ContractRecord,
} from './contracts.service';
import { statusSteps } from './status-steps';
import { filingFormUpload, isTooLarge, singlePdfUpload } from './upload';
import { findingFor, type Finding } from '../../domain/checks';

const t = (res: Response) => res.locals.t as TFunction;

/** Code lists for the form's selects, in the page's language. */
function choices(lang: string) {
  return {
    types: codeOptions(CONTRACT_TYPES, lang),
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
  /** The empty form of a filing not stored yet (GET /contracts/new). */
  isNew?: boolean;
  /** The name of a PDF this post stored, to say so beside the problems shown. */
  fileAdded?: string | null;
}

const audienceOf = (res: Response) => (requireUser(res).role === 'applicant' ? 'applicant' : 'bureau');

async function renderEdit(res: Response, state: EditState, status = 200) {
  const { doc } = state;
  const lang = res.locals.lang as string;
  const tr = (key: string, params?: Record<string, unknown>) => translate(t(res), key, params);
  const fields = fieldsOf(doc);
  const { values, buyerCount, deductionCount } = formValues(doc, state.extraBuyers ?? 0);
  const { errors, summary } = issuesByField(state.issues ?? [], (i) => tr(i.message, i.params), (path) => fieldLabel(path, tr, fields.direction === 'import'));
  const coRows = JSON.parse(values[CO_SELLER_ROWS]) as CoSellerRows;
  const required = requiredMarkers(fields, { buyers: buyerCount, coSellers: coRows.count }, needsAttachment(doc));
  const regionFor = (prefix: string) =>
    regionChoices({ regionProvince: values[`${prefix}[regionProvince]`], regionCity: values[`${prefix}[regionCity]`], regionDistrict: values[`${prefix}[regionDistrict]`] });
  const org = await getOrganization(String(doc.organizationId));
  res.status(status).render('contracts/edit', {
    contract: contractView(doc, lang, audienceOf(res)),
    isNew: Boolean(state.isNew),
    form: { values, errors, summary, formMessage: null, required },
    mode: state.mode ?? 'plain',
    fileAdded: state.fileAdded ?? null,
    buyerCount,
    maxBuyers: LIMITS.buyers,
    deductionCount,
    sellerRegions: regionFor('seller'),
    buyerRegions: Array.from({ length: buyerCount }, (_, i) => regionFor(`buyers[${i}]`)),
    orgVerified: org?.status === 'verified',
    subtypes: subtypeChoices(fields.type, lang, tr),
    ...choices(lang),
  });
}

/** Stores the PDF chosen in the filing form, if any; a refused one becomes a problem at the file input. */
async function storeChosenFile(user: CurrentUser, id: string, file: Express.Multer.File | undefined): Promise<{ added?: string; issue?: Issue }> {
  if (!file) return {};
  if (isTooLarge(file)) return { issue: { path: 'file', message: 'errors.fileTooLarge' } };
  try {
    return { added: (await addAttachment(user, id, file)).filename };
  } catch (err) {
    const appErr = toAppError(err);
    if (appErr.kind === 'NOT_FOUND' || appErr.kind === 'INTERNAL') throw err;
    const detail = appErr.details[0];
    return { issue: { path: 'file', message: detail ? detail.message : appErr.messageKey, params: detail?.params } };
  }
}

/**
 * One post of the filing form: saves every field (a new filing is created by its first save;
 * invalid values are kept as typed), stores a chosen PDF whichever button was pressed, then
 * does what the button asks: upload, remove a file, add or remove a buyer, refresh the
 * choices, or submit. Nothing typed is lost on any path.
 */
async function postFiling(deps: AppDeps, req: Request, res: Response, existingId: string | null) {
  const user = requireUser(res);
  const body = (req.body ?? {}) as Record<string, unknown>;
  const action = formAction(body);
  const { input, raw, notes } = formToInput(body, action);
  const options = { forms: true, keepInvalid: true, raw };
  const saved = existingId ? await updateDraft(user, existingId, input, options) : await createDraft(user, input, options);
  const id = String(saved.contract._id);
  const issues = [...saved.issues, ...notes];
  const file = await storeChosenFile(user, id, req.file);
  if (file.issue) issues.push(file.issue);
  else if (action.kind === 'upload' && !file.added) issues.push({ path: 'file', message: 'validation.fileRequired' });
  if (action.kind === 'removeFile') {
    // Pressed twice (or in two tabs): the file is gone either way.
    await removeAttachment(user, id, action.attachmentId!).catch((err: unknown) => {
      if (!(err instanceof AppError) || err.kind !== 'NOT_FOUND') throw err;
    });
  }
  const contract = file.added || action.kind === 'removeFile' ? await loadContract(user, id) : saved.contract;
  const fileProblem = issues.some((i) => i.path === 'file');
  const fileAdded = file.added ?? null;
  const say = (key: string, params?: Record<string, unknown>) => flash(req, 'success', t(res)(key, params));

  if (action.kind === 'submit') {
    const problems = [...submitProblems(contract), ...(file.issue ? [file.issue] : [])];
    if (problems.length) return renderEdit(res, { doc: contract, issues: problems, mode: 'submit-refused', fileAdded }, 422);
    try {
      const result = await submitContract(deps, user, id);
      const receipt = result.acceptance?.number ? `${res.locals.lang === 'en' ? ' ' : ''}${t(res)('receipt.flash', { number: result.acceptance.number })}` : '';
      flash(req, 'success', t(res)(result.queued ? 'contracts.submitted' : 'contracts.submittedQueuedLater') + receipt);
      return res.redirect(303, `/contracts/${id}`);
    } catch (err) {
      const appErr = toAppError(err);
      if (appErr.kind === 'VALIDATION_FAILED') return renderEdit(res, { doc: contract, issues: appErr.details, mode: 'submit-refused', fileAdded }, 422);
      if (appErr.kind === 'FORBIDDEN' || appErr.kind === 'CONFLICT') {
        flash(req, 'error', translate(t(res), appErr.messageKey));
        return res.redirect(303, `/contracts/${id}`);
      }
      throw err;
    }
  }
  if (action.kind === 'addBuyer') return renderEdit(res, { doc: contract, extraBuyers: 1, issues, fileAdded });
  if (action.kind === 'removeBuyer' || action.kind === 'refresh') return renderEdit(res, { doc: contract, issues, fileAdded });
  if (issues.length) return renderEdit(res, { doc: contract, issues, mode: 'saved-with-issues', fileAdded }, fileProblem ? 422 : 200);
  if (fileAdded) say('contracts.fileAdded', { name: fileAdded });
  else if (action.kind === 'removeFile') say('contracts.fileRemoved');
  else say('contracts.draftSaved');
  res.redirect(303, `/contracts/${id}/edit${action.kind === 'save' ? '' : '#attachments'}`);
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

  /** GET /contracts/new: the empty filing form; nothing is stored until its first save. */
  router.get('/contracts/new', filing, async (_req, res) => {
    await renderEdit(res, { doc: await unsavedDraft(requireUser(res)), isNew: true });
  });

  /** POST /contracts/new (form or multipart): the first save creates the draft, then goes on as the edit form does. */
  router.post('/contracts/new', filing, filingFormUpload, async (req, res) => {
    await postFiling(deps, req, res, null);
  });

  /** GET /contracts/:id: a filing with its attachments, findings and history. */
  router.get('/contracts/:id', authorize('contracts.read'), async (req, res) => {
    const doc = await loadContract(requireUser(res), req.params.id as string);
    const requests = doc.registrationNumber ? await requestsOf(doc._id) : [];
    res.render('contracts/show', { contract: contractView(doc, res.locals.lang as string, audienceOf(res)), requests });
  });

  /** GET /contracts/:id/edit: the filing form, with the problems of values kept as typed. */
  router.get('/contracts/:id/edit', filing, async (req, res) => {
    const doc = await loadContract(requireUser(res), req.params.id as string);
    if (!EDITABLE_STATUSES.includes(doc.status as ContractStatus)) return res.redirect(303, `/contracts/${doc._id}`);
    await renderEdit(res, { doc, issues: keptValueIssues(doc) });
  });

  /**
   * POST /contracts/:id/edit (form, or multipart with the PDF; then the CSRF token is in the
   * URL): saves the draft (always, even with invalid values), stores a chosen PDF, then
   * uploads, adds or removes a buyer or a file, refreshes the choices, or submits.
   */
  router.post('/contracts/:id/edit', filing, filingFormUpload, async (req, res) => {
    await postFiling(deps, req, res, req.params.id as string);
  });

  /** POST /contracts/:id/delete: deletes a draft (with confirmation on the page). */
  router.post('/contracts/:id/delete', filing, async (req, res) => {
    try {
      await deleteDraft(requireUser(res), req.params.id as string);
    } catch (err) {
      if (!(err instanceof AppError) || err.kind !== 'CONFLICT') throw err;
      flash(req, 'error', t(res)(err.messageKey));
      return res.redirect(303, `/contracts/${req.params.id}`);
    }
    flash(req, 'success', t(res)('contracts.draftDeleted'));
    res.redirect(303, '/contracts');
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
