/** Organisation pages: sign-up, my organisation and its members, the bureau's verification queue. */
import { Router } from 'express';
import type { TFunction } from 'i18next';
import { codeOptions, ENTITY_NATURES } from '../../domain/codes';
import { regionChoices, regionName } from '../../domain/regions';
import { checkUscc } from '../../domain/uscc';
import { AppError, notFound } from '../../lib/errors';
import { authorize, currentUser, requireUser, openToAnyone } from '../../lib/http/authorize';
import { emptyForm, flash, isFormError, pickFields, renderFormError } from '../../lib/http/forms';
import type { KeyLimiter } from '../../lib/rate-limit';
import { issuesToDetails } from '../../lib/validation';
import { landingPath, logIn } from '../accounts/accounts.pages';
import { findActiveUser } from '../accounts/accounts.service';
import { ORGANIZATION_STATUSES, type OrganizationStatus } from './organization.model';
import { clientAddressKey } from '../../lib/http/client-address';
import {
  addMember,
  getOrganization,
  listMembers,
  listNameChangeRequests,
  listOrganizations,
  rejectOrganization,
  removeMember,
  signUpOrganization,
  signUpSchema,
  verifyOrganization,
} from './organizations.service';
import type { NotifyDeps } from './organizations.notify';
import { NAME_CHANGE_TAB, organizationProfilePages } from './organizations.profile.pages';

const SIGNUP_FIELDS = [
  'name', 'uscc', 'nature', 'regionProvince', 'regionCity', 'regionDistrict', 'address',
  'adminName', 'adminEmail', 'password', 'passwordConfirm', 'confirmUsccCheck',
] as const;

const SIGNUP_FIELD_FOR: Record<string, string> = {
  'organization.name': 'name',
  'organization.uscc': 'uscc',
  'organization.nature': 'nature',
  'organization.regionCode': 'regionProvince',
  'organization.address': 'address',
  'admin.name': 'adminName',
  'admin.email': 'adminEmail',
  'admin.password': 'password',
};

function signUpLocals(lang: string, values: Record<string, string>) {
  return { natures: codeOptions(ENTITY_NATURES, lang), regions: regionChoices(values) };
}

const natureLabelOf = (nature: string, lang: string) => codeOptions(ENTITY_NATURES, lang).find((n) => n.value === nature)?.label ?? nature;

/** What the "my organisation" page shows besides the form. */
async function organizationLocals(organizationId: string, lang: string) {
  const org = await getOrganization(organizationId);
  if (!org) throw notFound();
  return { org, regionLabel: regionName(org.regionCode, lang), natureLabel: natureLabelOf(org.nature, lang), members: await listMembers(organizationId) };
}

export function organizationsPages(signupLimiter: KeyLimiter, notifyDeps: NotifyDeps = { queues: null }): Router {
  const router = Router();

  /** GET /signup: the organisation sign-up form. */
  router.get('/signup', openToAnyone('the sign-up form'), (_req, res) => {
    res.render('account/signup', { ...signUpLocals(res.locals.lang, {}), form: emptyForm() });
  });

  /** POST /signup: registers the organisation and signs its first member in. */
  router.post('/signup', openToAnyone('signing an organisation up'), async (req, res) => {
    const values = pickFields(req.body, SIGNUP_FIELDS);
    const locals = signUpLocals(res.locals.lang, values);
    // Without JavaScript, "update choices" re-shows the form with the next level's regions.
    if (req.body?.refreshRegion) return res.render('account/signup', { ...locals, form: emptyForm(values) });
    const input = {
      organization: {
        name: values.name,
        uscc: values.uscc,
        nature: values.nature,
        regionCode: values.regionDistrict || values.regionCity || values.regionProvince,
        address: values.address,
      },
      admin: { name: values.adminName, email: values.adminEmail, password: values.password },
      confirmUsccCheck: values.confirmUsccCheck,
    };
    try {
      await signupLimiter.consume(clientAddressKey(req.ip));
      if (values.password !== values.passwordConfirm) {
        const schemaIssues = signUpSchema.safeParse(input);
        throw new AppError('VALIDATION_FAILED', {
          details: [...(schemaIssues.success ? [] : issuesToDetails(schemaIssues.error.issues)), { path: 'passwordConfirm', message: 'validation.passwordMismatch' }],
        });
      }
      const result = await signUpOrganization(input, req.ip);
      const user = await findActiveUser(result.user.id);
      if (user) await logIn(req, user);
      flash(req, 'success', (res.locals.t as TFunction)('org.signedUp'));
      res.redirect(303, '/organization');
    } catch (err) {
      if (!isFormError(err)) throw err;
      const check = checkUscc(values.uscc ?? '');
      const usccCheck = !check.ok && check.reason === 'check' ? { expected: check.expected } : null;
      renderFormError(res, 'account/signup', err, values, { ...locals, usccCheck }, (p) => SIGNUP_FIELD_FOR[p] ?? p);
    }
  });

  /** GET /organization: my organisation's status and members. */
  router.get('/organization', authorize('organization.own'), async (_req, res) => {
    const user = requireUser(res);
    res.render('organization/show', { ...(await organizationLocals(user.organizationId!, res.locals.lang)), form: emptyForm() });
  });

  /** POST /organization/members: the first member adds a colleague. */
  router.post('/organization/members', authorize('organization.own'), async (req, res) => {
    const user = requireUser(res);
    const values = pickFields(req.body, ['name', 'email', 'password']);
    try {
      await addMember(user, values);
      flash(req, 'success', (res.locals.t as TFunction)('org.memberAdded', { email: values.email }));
      res.redirect(303, '/organization');
    } catch (err) {
      if (!isFormError(err)) throw err;
      renderFormError(res, 'organization/show', err, values, await organizationLocals(user.organizationId!, res.locals.lang));
    }
  });

  router.use(organizationProfilePages(notifyDeps));

  /** POST /organization/members/:id/remove: the first member removes a colleague. */
  router.post('/organization/members/:id/remove', authorize('organization.own'), async (req, res) => {
    await removeMember(requireUser(res), req.params.id as string);
    flash(req, 'success', (res.locals.t as TFunction)('org.memberRemoved'));
    res.redirect(303, '/organization');
  });

  /** GET /admin: the bureau's start page. */
  router.get('/admin', authorize('organizations.read'), (_req, res) => {
    res.redirect(303, landingPath(requireUser(res)));
  });

  /** GET /admin/organizations?status=pending: organisations waiting for verification (`status=name_change`: name changes to decide). */
  router.get('/admin/organizations', authorize('organizations.read'), async (req, res) => {
    const nameChanges = req.query.status === NAME_CHANGE_TAB;
    const status = nameChanges ? NAME_CHANGE_TAB : (ORGANIZATION_STATUSES as readonly string[]).includes(String(req.query.status)) ? (req.query.status as OrganizationStatus) : 'pending';
    const orgs = nameChanges ? await listNameChangeRequests() : await listOrganizations(status as OrganizationStatus);
    const natures = codeOptions(ENTITY_NATURES, res.locals.lang);
    res.render('admin/organizations', {
      status,
      statuses: [...ORGANIZATION_STATUSES, NAME_CHANGE_TAB],
      canDecide: currentUser(res)?.role === 'admin',
      orgs: orgs.map((o) => ({ ...o, id: String(o._id), regionLabel: regionName(o.regionCode, res.locals.lang as string), natureLabel: natures.find((n) => n.value === o.nature)?.label ?? o.nature })),
    });
  });

  /** POST /admin/organizations/:id/verify */
  router.post('/admin/organizations/:id/verify', authorize('organizations.decide'), async (req, res) => {
    const t = res.locals.t as TFunction;
    try {
      await verifyOrganization(requireUser(res), req.params.id as string, req.ip, notifyDeps);
      flash(req, 'success', t('admin.orgVerified'));
    } catch (err) {
      if (!(err instanceof AppError) || err.kind !== 'CONFLICT') throw err;
      flash(req, 'error', t(err.messageKey));
    }
    res.redirect(303, '/admin/organizations');
  });

  /** POST /admin/organizations/:id/reject */
  router.post('/admin/organizations/:id/reject', authorize('organizations.decide'), async (req, res) => {
    const t = res.locals.t as TFunction;
    try {
      await rejectOrganization(requireUser(res), req.params.id as string, pickFields(req.body, ['reason']), req.ip, notifyDeps);
      flash(req, 'success', t('admin.orgRejected'));
    } catch (err) {
      if (!(err instanceof AppError) || !['CONFLICT', 'VALIDATION_FAILED'].includes(err.kind)) throw err;
      flash(req, 'error', err.kind === 'VALIDATION_FAILED' ? t('admin.rejectReasonRequired') : t(err.messageKey));
    }
    res.redirect(303, '/admin/organizations');
  });

  return router;
}
