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
  listOrganizations,
  publicOrganization,
  rejectOrganization,
  removeMember,
  signUpOrganization,
  verifyOrganization,
} from './organizations.service';

const listQuery = z.object({ status: z.enum(ORGANIZATION_STATUSES).optional() });

export function organizationsApi(signupLimiter: KeyLimiter): Router {
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

  /** GET /organizations?status=pending: the bureau's list. */
  router.get('/organizations', authorize('organizations.read'), async (req, res) => {
    const { status } = parseInput(listQuery, req.query);
    const items = await listOrganizations(status);
    res.json({ items: items.map(publicOrganization) });
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
    res.json(await verifyOrganization(requireUser(res), req.params.id as string, req.ip));
  });

  /** POST /organizations/{id}/reject: a bureau admin rejects it, with a reason. */
  router.post('/organizations/:id/reject', authorize('organizations.decide'), async (req, res) => {
    res.json(await rejectOrganization(requireUser(res), req.params.id as string, req.body, req.ip));
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

  /** GET /regions?parent=630000: GB/T 2260 regions under a parent (provinces without one). */
  router.get('/regions', openToAnyone('the public list of regions'), (req, res) => {
    const parent = typeof req.query.parent === 'string' && req.query.parent ? req.query.parent : null;
    if (parent !== null && !isRegionCode(parent)) throw notFound();
    res.set('Cache-Control', 'public, max-age=86400');
    res.json({ items: regionChildren(parent).map((r) => ({ code: r.code, name: r.name, level: r.level })) });
  });

  return router;
}
