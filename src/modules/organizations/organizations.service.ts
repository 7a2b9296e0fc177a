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

const usccField = () =>
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
}) {
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
  };
}

/** An organisation by id (from the request cache when it holds it; the value is frozen). */
export async function getOrganization(id: string | null) {
  if (!id || !Types.ObjectId.isValid(id)) return null;
  return sharedCache.through('organization', id, async () => (await Organization.findById(id).lean()) as OrganizationDoc | null);
}

export async function listOrganizations(status: OrganizationStatus | undefined, limit = 200) {
  return Organization.find(status ? { status } : {})
    .sort({ createdAt: 1 })
    .limit(limit)
    .select({ history: 0 })
    .lean();
}

/** Pending → verified or rejected. Of two simultaneous decisions exactly one wins; the other gets 409. */
async function decide(actor: Actor, id: string, to: 'verified' | 'rejected', reason: string | null, ip?: string) {
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const org = await Organization.findById(id).lean();
  if (!org) throw notFound();
  const notPending = (status: string) => conflict('ORGANIZATION_NOT_PENDING', 'errors.organizationNotPending', { current: { status } });
  if (org.status !== 'pending') throw notPending(org.status);
  const now = new Date();
  const actorId = new Types.ObjectId(actor.id);
  const changed = await updateIf(Organization, { _id: org._id, status: 'pending' }, {
    $set: { status: to, rejectionReason: reason, reviewedAt: now, reviewedBy: actorId },
    $push: { history: { at: now, actorId, action: to, note: reason } },
  });
  if (!changed) {
    const current = await Organization.findById(id).select({ status: 1 }).lean();
    throw notPending(current?.status ?? org.status);
  }
  await recordAudit({ actor, action: `organization.${to}`, targetType: 'organization', targetId: id, ip, details: reason ? { reason } : undefined });
  return { status: to };
}

export const verifyOrganization = (actor: Actor, id: string, ip?: string) => decide(actor, id, 'verified', null, ip);

export const rejectSchema = z.object({ reason: text(1000) });
export async function rejectOrganization(actor: Actor, id: string, input: unknown, ip?: string) {
  const { reason } = parseInput(rejectSchema, input);
  return decide(actor, id, 'rejected', reason, ip);
}

// ── Members ─────────────────────────────────────────────────────────────────────────

export async function listMembers(organizationId: string) {
  return User.find({ organizationId: new Types.ObjectId(organizationId), disabled: false })
    .sort({ createdAt: 1 })
    .select({ email: 1, name: 1, organizationManager: 1, mustChangePassword: 1, lastSignInAt: 1, createdAt: 1 })
    .lean();
}

function requireManager(actor: CurrentUser): string {
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
