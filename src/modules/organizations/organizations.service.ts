/** Organisation sign-up, the bureau's verification, and members. Plain values in and out. */
import { Types } from 'mongoose';
import { z } from 'zod';
import { ENTITY_NATURE_CODES } from '../../domain/codes';
import { isLocalityCode } from '../../domain/regions';
import { cstIso } from '../../domain/time';
import { checkUscc } from '../../domain/uscc';
import { AppError, conflict, isDuplicateKey, notFound, type ErrorDetail } from '../../lib/errors';
import { checkbox, email, optionalText, parseInput, text } from '../../lib/validation';
import { createUser } from '../accounts/accounts.service';
import type { CurrentUser } from '../accounts/current-user';
import { passwordField, passwordProblems } from '../accounts/password-policy';
import { revokeAllTokens } from '../accounts/tokens.service';
import { User } from '../accounts/user.model';
import { updateIf } from '../../lib/transitions';
import { recordAudit, type Actor } from '../audit/audit.service';
import { Organization, type OrganizationDoc, type OrganizationStatus } from './organization.model';
import { sharedCache } from '../../lib/shared-cache';
import { notifyOrganization, type NotifyDeps } from './organizations.notify';

export const usccField = () =>
  z
    .string()
    .trim()
    .toUpperCase()
    .superRefine((v, ctx) => {
      const res = checkUscc(v);
      if (!res.ok && res.reason !== 'check') ctx.addIssue({ code: 'custom', message: `validation.uscc_${res.reason}` });
    });

export const signUpSchema = z.object({
  organization: z.object({
    name: text(200),
    uscc: usccField(),
    nature: z.enum(ENTITY_NATURE_CODES),
    regionCode: z.string().refine(isLocalityCode, 'validation.region'),
    address: optionalText(300),
  }),
  admin: z.object({ name: text(100), email: email(), password: passwordField() }),
  confirmUsccCheck: checkbox(),
});
export type SignUpInput = z.input<typeof signUpSchema>;

export interface SignUpResult {
  organization: { id: string; status: OrganizationStatus };
  user: { id: string };
}

/**
 * Registers an organisation and its first member. A credit code whose check character
 * fails is accepted only when the applicant confirms it, and is then flagged for the bureau.
 */
export async function signUpOrganization(input: unknown, ip?: string): Promise<SignUpResult> {
  const data = parseInput(signUpSchema, input);
  const details: ErrorDetail[] = [];
  const check = checkUscc(data.organization.uscc);
  const checkFailed = !check.ok && check.reason === 'check';
  if (checkFailed && !data.confirmUsccCheck) {
    details.push({ path: 'organization.uscc', message: 'validation.uscc_check', params: { expected: check.expected } });
  }
  details.push(...passwordProblems(data.admin.password, data.admin.email, 'admin.password'));
  if (details.length) {
    throw new AppError('VALIDATION_FAILED', {
      code: checkFailed && !data.confirmUsccCheck ? 'USCC_CHECK_FAILED' : 'VALIDATION_FAILED',
      details,
      extra: checkFailed ? { usccCheck: { expected: check.expected, confirmWith: 'confirmUsccCheck' } } : undefined,
    });
  }
  if (await Organization.exists({ uscc: data.organization.uscc })) throw conflict('USCC_TAKEN', 'errors.usccTaken');
  if (await User.exists({ email: data.admin.email })) throw conflict('EMAIL_TAKEN', 'errors.emailTaken');

  let org;
  try {
    org = await Organization.create({
      ...data.organization,
      address: data.organization.address ?? null,
      status: 'pending',
      usccCheckFailed: checkFailed,
      history: [{ at: new Date(), action: 'signed_up', note: checkFailed ? 'uscc_check_confirmed' : null }],
      verificationHistory: [{ at: new Date(), action: 'signed_up', reason: null, actorName: data.admin.name }],
    });
  } catch (err) {
    if (isDuplicateKey(err)) throw conflict('USCC_TAKEN', 'errors.usccTaken');
    throw err;
  }
  let userId: string;
  try {
    userId = await createUser({
      email: data.admin.email,
      name: data.admin.name,
      password: data.admin.password,
      role: 'applicant',
      organizationId: org._id,
      organizationManager: true,
      mustChangePassword: false,
    });
  } catch (err) {
    // No transactions on every backend: undo the organisation so nothing half-made stays.
    await Organization.deleteOne({ _id: org._id });
    throw err;
  }
  await recordAudit({ actor: null, action: 'organization.signed_up', targetType: 'organization', targetId: String(org._id), ip });
  return { organization: { id: String(org._id), status: 'pending' }, user: { id: userId } };
}

type Maybe<T> = T | null | undefined;

export function publicOrganization(o: {
  _id: Types.ObjectId;
  name: string;
  uscc: string;
  nature: string;
  regionCode: string;
  address?: string | null;
  status: string;
  usccCheckFailed?: boolean | null;
  rejectionReason?: string | null;
  createdAt?: Date;
  reviewedAt?: Date | null;
  contact?: Maybe<{ legalRepresentative?: Maybe<string>; contactPerson?: Maybe<string>; phone?: Maybe<string>; email?: Maybe<string> }>;
  pendingChange?: Maybe<{ name: string; requestedAt: Date; requestedByName?: Maybe<string> }>;
  nameChangeDecision?: Maybe<{ name: string; action: string; reason?: Maybe<string>; at: Date; actorName?: Maybe<string> }>;
  nameHistory?: Maybe<{ name: string; from: Date; to: Date; approvedBy?: Maybe<Types.ObjectId>; approvedByName?: Maybe<string> }[]>;
  verificationHistory?: Maybe<{ at: Date; action: string; reason?: Maybe<string>; actorName?: Maybe<string> }[]>;
}) {
  const c = o.contact;
  const p = o.pendingChange;
  const d = o.nameChangeDecision;
  return {
    id: String(o._id),
    name: o.name,
    uscc: o.uscc,
    nature: o.nature,
    regionCode: o.regionCode,
    address: o.address ?? null,
    status: o.status,
    usccCheckFailed: Boolean(o.usccCheckFailed),
    rejectionReason: o.rejectionReason ?? null,
    createdAt: o.createdAt ? cstIso(o.createdAt) : null,
    reviewedAt: o.reviewedAt ? cstIso(o.reviewedAt) : null,
    contact: c
      ? { legalRepresentative: c.legalRepresentative ?? null, contactPerson: c.contactPerson ?? null, phone: c.phone ?? null, email: c.email ?? null }
      : null,
    /** A requested new name waiting for the bureau; `name` stays the one in use until it is approved. */
    pendingChange: p ? { name: p.name, requestedAt: cstIso(p.requestedAt), requestedBy: p.requestedByName ?? null } : null,
    /** The bureau's answer to the latest name change request. */
    nameChangeDecision: d ? { name: d.name, action: d.action, reason: d.reason ?? null, at: cstIso(d.at), actor: d.actorName ?? null } : null,
    nameHistory: (o.nameHistory ?? []).map((h) => ({
      name: h.name,
      from: cstIso(h.from),
      to: cstIso(h.to),
      approvedBy: h.approvedBy ? { id: String(h.approvedBy), name: h.approvedByName ?? null } : null,
    })),
    verificationHistory: (o.verificationHistory ?? []).map((v) => ({ at: cstIso(v.at), action: v.action, reason: v.reason ?? null, actorName: v.actorName ?? null })),
  };
}

/** An organisation by id (from the request cache when it holds it; the value is frozen). */
export async function getOrganization(id: string | null) {
  if (!id || !Types.ObjectId.isValid(id)) return null;
  return sharedCache.through('organization', id, async () => (await Organization.findById(id).lean()) as OrganizationDoc | null);
}

/** The contact details an organisation's filings start with, once it has none of its own (its first submitted filing's). */
export async function rememberContact(id: string, contact: { legalRepresentative?: string; contactPerson?: string; phone?: string; email?: string }): Promise<void> {
  const org = await getOrganization(id);
  if (!org || (org.contact && Object.values(org.contact).some(Boolean))) return; // it has its own (cached: no query)
  const set = Object.fromEntries(Object.entries(contact).filter(([, v]) => typeof v === 'string' && v.trim()));
  if (!Object.keys(set).length) return;
  await Organization.updateOne({ _id: id, $or: [{ contact: null }, { contact: { $exists: false } }] }, { $set: { contact: set } });
}

export async function listOrganizations(status: OrganizationStatus | undefined, limit = 200) {
  return Organization.find(status ? { status } : {})
    .sort({ createdAt: 1 })
    .limit(limit)
    .select({ history: 0 })
    .lean();
}

/** Organisations with a name change waiting for the bureau, oldest request first (the partial index's filter, word for word). */
export async function listNameChangeRequests(limit = 200) {
  return Organization.find({ 'pendingChange.name': { $type: 'string' } })
    .sort({ 'pendingChange.requestedAt': 1 })
    .limit(limit)
    .select({ history: 0 })
    .lean();
}

/** A bureau user as the organisation sees them in its histories. */
export type DecidingActor = Actor & { name?: string };

/** Pending → verified or rejected. Of two simultaneous decisions exactly one wins; the other gets 409. */
async function decide(actor: DecidingActor, id: string, to: 'verified' | 'rejected', reason: string | null, ip?: string, notifyDeps: NotifyDeps = { queues: null }) {
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const org = await Organization.findById(id).lean();
  if (!org) throw notFound();
  const notPending = (status: string) => conflict('ORGANIZATION_NOT_PENDING', 'errors.organizationNotPending', { current: { status } });
  if (org.status !== 'pending') throw notPending(org.status);
  const now = new Date();
  const actorId = new Types.ObjectId(actor.id);
  const changed = await updateIf<OrganizationDoc>(Organization, { _id: org._id, status: 'pending' }, {
    $set: { status: to, rejectionReason: reason, reviewedAt: now, reviewedBy: actorId },
    $push: {
      history: { at: now, actorId, action: to, note: reason },
      verificationHistory: { at: now, action: to, reason, actorName: actor.name ?? null },
    },
  });
  if (!changed) {
    const current = await Organization.findById(id).select({ status: 1 }).lean();
    throw notPending(current?.status ?? org.status);
  }
  await recordAudit({ actor, action: `organization.${to}`, targetType: 'organization', targetId: id, ip, details: reason ? { reason } : undefined });
  // One notification per decision: a re-applied organisation may be decided on again.
  await notifyOrganization(notifyDeps, to, id, `organization:${id}:${to}:v${changed.version}`, { name: changed.name, reason });
  return { status: to };
}

export const verifyOrganization = (actor: DecidingActor, id: string, ip?: string, notifyDeps?: NotifyDeps) => decide(actor, id, 'verified', null, ip, notifyDeps);

export const rejectSchema = z.object({ reason: text(1000) });
export async function rejectOrganization(actor: DecidingActor, id: string, input: unknown, ip?: string, notifyDeps?: NotifyDeps) {
  const { reason } = parseInput(rejectSchema, input);
  return decide(actor, id, 'rejected', reason, ip, notifyDeps);
}

// ── Members ─────────────────────────────────────────────────────────────────────────

export async function listMembers(organizationId: string) {
  return User.find({ organizationId: new Types.ObjectId(organizationId), disabled: false })
    .sort({ createdAt: 1 })
    .select({ email: 1, name: 1, organizationManager: 1, mustChangePassword: 1, lastSignInAt: 1, createdAt: 1 })
    .lean();
}

/** The organisation of its first member (the manager), who alone manages members and the profile. */
export function requireManager(actor: CurrentUser): string {
  if (actor.role !== 'applicant' || !actor.organizationId) throw new AppError('FORBIDDEN');
  if (!actor.organizationManager) throw new AppError('FORBIDDEN', { code: 'NOT_ORGANIZATION_MANAGER', messageKey: 'errors.notManager' });
  return actor.organizationId;
}

export const memberSchema = z.object({ name: text(100), email: email(), password: passwordField() });

/** The first member adds a colleague, who must change the initial password at first sign-in. */
export async function addMember(actor: CurrentUser, input: unknown): Promise<{ id: string }> {
  const organizationId = requireManager(actor);
  const data = parseInput(memberSchema, input);
  const problems = passwordProblems(data.password, data.email, 'password');
  if (problems.length) throw new AppError('VALIDATION_FAILED', { details: problems });
  const id = await createUser({ ...data, role: 'applicant', organizationId, mustChangePassword: true });
  await recordAudit({ actor, action: 'organization.member_added', targetType: 'user', targetId: id, details: { organizationId, email: data.email } });
  return { id };
}

/** Removes a member: the account is disabled (its history stays) and its tokens end. */
export async function removeMember(actor: CurrentUser, memberId: string): Promise<void> {
  const organizationId = requireManager(actor);
  if (!Types.ObjectId.isValid(memberId)) throw notFound();
  if (memberId === actor.id) throw conflict('CANNOT_REMOVE_SELF', 'errors.cannotRemoveSelf');
  const member = await User.findOneAndUpdate(
    { _id: memberId, organizationId: new Types.ObjectId(organizationId), disabled: false, organizationManager: false },
    { $set: { disabled: true } },
  ).lean();
  if (!member) throw notFound();
  await revokeAllTokens(memberId);
  await recordAudit({ actor, action: 'organization.member_removed', targetType: 'user', targetId: memberId, details: { organizationId, email: member.email } });
}
