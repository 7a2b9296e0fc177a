/** Organisations in the JSON API: sign-up, the bureau's verification, members, regions. */
import { Router } from 'express';
import { z } from 'zod';
import { regionChildren, isRegionCode } from '../../domain/regions';
import { notFound } from '../../lib/errors';
import { authorize, requireUser, openToAnyone } from '../../lib/http/authorize';
import type { KeyLimiter } from '../../lib/rate-limit';
import { parseInput } from '../../lib/validation';
import { ORGANIZATION_STATUSES } from './organization.model';
import { clientAddressKey } from '../../lib/http/client-address';
import {
  addMember,
  getOrganization,
  listMembers,
  listNameChangeRequests,
  listOrganizations,
  publicOrganization,
  rejectOrganization,
  removeMember,
  signUpOrganization,
  verifyOrganization,
} from './organizations.service';
import type { NotifyDeps } from './organizations.notify';
import { approveNameChange, reapply, rejectNameChange, updateProfile } from './organizations.profile';

const listQuery = z.object({ status: z.enum(ORGANIZATION_STATUSES).optional(), nameChange: z.literal('pending').optional() });

/** `notifyDeps`: where the bureau's decisions queue their notification mail (see organizations.notify). */
export function organizationsApi(signupLimiter: KeyLimiter, notifyDeps: NotifyDeps = { queues: null }): Router {
  const router = Router();

  /** GET /me: the signed-in user and their organisation (here, since organisations build on accounts, not the reverse). */
  router.get('/me', authorize('account.self'), async (_req, res) => {
    const user = requireUser(res);
    const org = await getOrganization(user.organizationId);
    res.json({
      user: { id: user.id, email: user.email, name: user.name, role: user.role, mustChangePassword: user.mustChangePassword, organizationManager: user.organizationManager },
      organization: org ? publicOrganization(org) : null,
    });
  });

  /** POST /organizations: an organisation signs up with its first member. */
  router.post('/organizations', openToAnyone('signing an organisation up'), async (req, res) => {
    await signupLimiter.consume(clientAddressKey(req.ip));
    res.status(201).json(await signUpOrganization(req.body, req.ip));
  });

  /** GET /organizations?status=pending | ?nameChange=pending: the bureau's lists (sign-ups, or name changes to decide). */
  router.get('/organizations', authorize('organizations.read'), async (req, res) => {
    const { status, nameChange } = parseInput(listQuery, req.query);
    const items = nameChange ? (await listNameChangeRequests()).filter((o) => !status || o.status === status) : await listOrganizations(status);
    res.json({ items: items.map(publicOrganization) });
  });

  /** GET /organizations/mine: one's own organisation, with its contact details, name change and histories. */
  router.get('/organizations/mine', authorize('organization.own'), async (_req, res) => {
    const org = await getOrganization(requireUser(res).organizationId);
    if (!org) throw notFound();
    res.json(publicOrganization(org));
  });

  /** PATCH /organizations/mine: the manager edits address and contact; a new `name` waits for the bureau. */
  router.patch('/organizations/mine', authorize('organization.own'), async (req, res) => {
    res.json(publicOrganization(await updateProfile(requireUser(res), req.body ?? {}, req.ip)));
  });

  /** POST /organizations/mine/reapply: after a rejected sign-up, corrected details go back to the bureau. */
  router.post('/organizations/mine/reapply', authorize('organization.own'), async (req, res) => {
    res.json(await reapply(requireUser(res), req.body ?? {}, req.ip));
  });

  /** GET /organizations/{id}: the bureau, or a member of that organisation. */
  router.get('/organizations/:id', authorize('organizations.view'), async (req, res) => {
    const user = requireUser(res);
    const isBureau = user.role !== 'applicant';
    if (!isBureau && user.organizationId !== req.params.id) throw notFound();
    const org = await getOrganization(req.params.id as string);
    if (!org) throw notFound();
    res.json(publicOrganization(org));
  });

  /** POST /organizations/{id}/verify: a bureau admin verifies a pending organisation. */
  router.post('/organizations/:id/verify', authorize('organizations.decide'), async (req, res) => {
    res.json(await verifyOrganization(requireUser(res), req.params.id as string, req.ip, notifyDeps));
  });

  /** POST /organizations/{id}/reject: a bureau admin rejects it, with a reason. */
  router.post('/organizations/:id/reject', authorize('organizations.decide'), async (req, res) => {
    res.json(await rejectOrganization(requireUser(res), req.params.id as string, req.body, req.ip, notifyDeps));
  });

  /** POST /organizations/{id}/name-change/approve: a bureau admin approves the waiting name (`{name}` optional: the name seen). */
  router.post('/organizations/:id/name-change/approve', authorize('organizations.decide'), async (req, res) => {
    res.json(await approveNameChange(requireUser(res), req.params.id as string, req.body ?? {}, req.ip, notifyDeps));
  });

  /** POST /organizations/{id}/name-change/reject: a bureau admin rejects it, with a reason the organisation sees. */
  router.post('/organizations/:id/name-change/reject', authorize('organizations.decide'), async (req, res) => {
    res.json(await rejectNameChange(requireUser(res), req.params.id as string, req.body ?? {}, req.ip, notifyDeps));
  });

  /** GET /organization/members: the members of one's own organisation. */
  router.get('/organization/members', authorize('organization.own'), async (_req, res) => {
    const members = await listMembers(requireUser(res).organizationId!);
    res.json({ items: members.map((m) => ({ id: String(m._id), email: m.email, name: m.name, organizationManager: m.organizationManager })) });
  });

  /** POST /organization/members: the first member adds a colleague. */
  router.post('/organization/members', authorize('organization.own'), async (req, res) => {
    res.status(201).json(await addMember(requireUser(res), req.body));
  });

  /** DELETE /organization/members/{id}: the first member removes a colleague. */
  router.delete('/organization/members/:id', authorize('organization.own'), async (req, res) => {
    await removeMember(requireUser(res), req.params.id as string);
    res.status(204).end();
  });

  /** GET /regions?parent=630000: GB/T 2260 regions under a parent (provinces without one), named in Chinese and English. */
  router.get('/regions', openToAnyone('the public list of regions'), (req, res) => {
    const parent = typeof req.query.parent === 'string' && req.query.parent ? req.query.parent : null;
    if (parent !== null && !isRegionCode(parent)) throw notFound();
    res.set('Cache-Control', 'public, max-age=86400');
    res.json({ items: regionChildren(parent).map((r) => ({ code: r.code, name: r.name, nameEn: r.nameEn, level: r.level })) });
  });

  return router;
}
