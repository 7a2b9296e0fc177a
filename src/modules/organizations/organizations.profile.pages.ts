/** Pages for an organisation's own life: editing its profile, re-applying, and the bureau's name-change decisions. */
import { Router, type Response } from 'express';
import type { TFunction } from 'i18next';
import { codeOptions, ENTITY_NATURES } from '../../domain/codes';
import { regionChoices, regionPath } from '../../domain/regions';
import { checkUscc } from '../../domain/uscc';
import { AppError, notFound } from '../../lib/errors';
import { authorize, requireUser } from '../../lib/http/authorize';
import { translate } from '../../lib/http/errors';
import { emptyForm, flash, isFormError, pickFields, renderFormError } from '../../lib/http/forms';
import type { OrganizationDoc } from './organization.model';
import type { NotifyDeps } from './organizations.notify';
import { approveNameChange, CONTACT_KEYS, reapply, rejectNameChange, updateProfile } from './organizations.profile';
import { getOrganization } from './organizations.service';

/** The organisations admin page's tab of name changes to decide (`?status=name_change`). */
export const NAME_CHANGE_TAB = 'name_change';

const PROFILE_FIELDS = ['name', 'address', ...CONTACT_KEYS] as const;
const REAPPLY_FIELDS = ['name', 'uscc', 'nature', 'regionProvince', 'regionCity', 'regionDistrict', 'address', 'confirmUsccCheck'] as const;

const t = (res: Response) => res.locals.t as TFunction;
/** `contact.phone` (the service's path) → `phone` (the form's field). */
const profileField = (path: string) => path.replace(/^contact\./, '');
const reapplyField = (path: string) => (path === 'regionCode' ? 'regionProvince' : path);

/** Only the organisation's first member (its manager) edits the profile and re-applies. */
function requireManagerPage(res: Response) {
  const user = requireUser(res);
  if (!user.organizationManager) throw new AppError('FORBIDDEN', { code: 'NOT_ORGANIZATION_MANAGER', messageKey: 'errors.notManager' });
  return user;
}

async function ownOrganization(res: Response): Promise<OrganizationDoc> {
  const org = await getOrganization(requireManagerPage(res).organizationId);
  if (!org) throw notFound();
  return org;
}

function profileValues(org: OrganizationDoc): Record<string, string> {
  const contact = (org.contact ?? {}) as Record<string, string | null | undefined>;
  return {
    // A waiting request shows as the name asked for: putting the current name back withdraws it.
    name: org.pendingChange?.name ?? org.name,
    address: org.address ?? '',
    ...Object.fromEntries(CONTACT_KEYS.map((k) => [k, contact[k] ?? ''])),
  };
}

function reapplyValues(org: OrganizationDoc): Record<string, string> {
  const [province, city, district] = regionPath(org.regionCode).map((r) => r.code);
  return { name: org.name, uscc: org.uscc, nature: org.nature, regionProvince: province ?? '', regionCity: city ?? '', regionDistrict: district ?? '', address: org.address ?? '' };
}

export function organizationProfilePages(notifyDeps: NotifyDeps): Router {
  const router = Router();
  const own = authorize('organization.own');
  const decide = authorize('organizations.decide');

  /** GET /organization/profile: the manager's form for address, contact details and the name. */
  router.get('/organization/profile', own, async (_req, res) => {
    const org = await ownOrganization(res);
    res.render('organization/edit', { org, form: emptyForm(profileValues(org)) });
  });

  /** POST /organization/profile: saves address and contact; a new name goes to the bureau. */
  router.post('/organization/profile', own, async (req, res) => {
    const user = requireManagerPage(res);
    const values = pickFields(req.body, PROFILE_FIELDS);
    const contact = Object.fromEntries(CONTACT_KEYS.map((k) => [k, values[k] ?? '']));
    try {
      const before = await getOrganization(user.organizationId);
      // The name field is offered to verified organisations only (others correct it by re-applying).
      const name = values.name !== undefined ? { name: values.name } : {};
      const after = await updateProfile(user, { ...name, address: values.address ?? '', contact }, req.ip);
      const requested = after.pendingChange?.name && after.pendingChange.name !== before?.pendingChange?.name;
      const withdrawn = !after.pendingChange && before?.pendingChange;
      flash(req, 'success', t(res)(requested ? 'orgProfile.savedNameRequested' : withdrawn ? 'orgProfile.savedNameWithdrawn' : 'orgProfile.saved'));
      res.redirect(303, '/organization');
    } catch (err) {
      if (!isFormError(err)) throw err;
      const org = await ownOrganization(res);
      renderFormError(res, 'organization/edit', err, values, { org }, profileField);
    }
  });

  /** GET /organization/reapply: a rejected organisation corrects its details. */
  router.get('/organization/reapply', own, async (_req, res) => {
    const org = await ownOrganization(res);
    if (org.status !== 'rejected') return res.redirect(303, '/organization');
    const values = reapplyValues(org);
    res.render('organization/reapply', { org, natures: codeOptions(ENTITY_NATURES, res.locals.lang), regions: regionChoices(values), form: emptyForm(values) });
  });

  /** POST /organization/reapply: back to the bureau as pending, the rejection kept in the history. */
  router.post('/organization/reapply', own, async (req, res) => {
    const user = requireManagerPage(res);
    const org = await ownOrganization(res);
    const values = pickFields(req.body, REAPPLY_FIELDS);
    const locals = { org, natures: codeOptions(ENTITY_NATURES, res.locals.lang), regions: regionChoices(values) };
    // Without JavaScript, "update choices" re-shows the form with the next level's regions.
    if (req.body?.refreshRegion) return res.render('organization/reapply', { ...locals, form: emptyForm(values) });
    try {
      await reapply(user, {
        name: values.name ?? '',
        uscc: values.uscc ?? '',
        nature: values.nature ?? '',
        regionCode: values.regionDistrict || values.regionCity || values.regionProvince || '',
        address: values.address ?? '',
        confirmUsccCheck: values.confirmUsccCheck,
      }, req.ip);
      flash(req, 'success', t(res)('orgProfile.reapplied'));
      res.redirect(303, '/organization');
    } catch (err) {
      if (!isFormError(err)) throw err;
      const check = checkUscc(values.uscc ?? '');
      const usccCheck = !check.ok && check.reason === 'check' ? { expected: check.expected } : null;
      renderFormError(res, 'organization/reapply', err, values, { ...locals, usccCheck }, reapplyField);
    }
  });

  /** POST /admin/organizations/:id/name-change/approve (the form carries the name the admin saw). */
  router.post('/admin/organizations/:id/name-change/approve', decide, async (req, res) => {
    try {
      await approveNameChange(requireUser(res), req.params.id as string, pickFields(req.body, ['name']), req.ip, notifyDeps);
      flash(req, 'success', t(res)('orgProfile.nameApproved'));
    } catch (err) {
      if (!(err instanceof AppError) || err.kind !== 'CONFLICT') throw err;
      flash(req, 'error', translate(t(res), err.messageKey));
    }
    res.redirect(303, `/admin/organizations?status=${NAME_CHANGE_TAB}`);
  });

  /** POST /admin/organizations/:id/name-change/reject (a reason is required; the organisation sees it). */
  router.post('/admin/organizations/:id/name-change/reject', decide, async (req, res) => {
    try {
      await rejectNameChange(requireUser(res), req.params.id as string, pickFields(req.body, ['reason']), req.ip, notifyDeps);
      flash(req, 'success', t(res)('orgProfile.nameRejected'));
    } catch (err) {
      if (!(err instanceof AppError) || !['CONFLICT', 'VALIDATION_FAILED'].includes(err.kind)) throw err;
      flash(req, 'error', err.kind === 'VALIDATION_FAILED' ? t(res)('admin.rejectReasonRequired') : translate(t(res), err.messageKey));
    }
    res.redirect(303, `/admin/organizations?status=${NAME_CHANGE_TAB}`);
  });

  return router;
}
