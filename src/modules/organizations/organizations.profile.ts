/**
 * An organisation's own life after sign-up: its profile and contact details, a change of name
 * (which the bureau verifies again), and re-applying after a rejected sign-up. Plain values in
 * and out; every change is one conditional single-document update (lib/transitions).
 *
 * The credit code is the organisation's identity and does not change once verified (a new code
 * is a new organisation); before verification, a rejected sign-up may correct it on re-applying.
 */
import { Types } from 'mongoose';
import { z } from 'zod';
import { ENTITY_NATURE_CODES } from '../../domain/codes';
import { parseContractInput, type Issue, type Party } from '../../domain/contract-input';
import { isLocalityCode } from '../../domain/regions';
import { checkUscc } from '../../domain/uscc';
import { AppError, conflict, isDuplicateKey, notFound, type ErrorDetail } from '../../lib/errors';
import { updateIf, updateLatest } from '../../lib/transitions';
import { checkbox, issuesToDetails, optionalText, parseInput, text } from '../../lib/validation';
import type { CurrentUser } from '../accounts/current-user';
import { recordAudit } from '../audit/audit.service';
import { Organization, type OrganizationDoc } from './organization.model';
import { notifyOrganization, type NotifyDeps } from './organizations.notify';
import { requireManager, usccField, type DecidingActor } from './organizations.service';

export const CONTACT_KEYS = ['legalRepresentative', 'contactPerson', 'phone', 'email'] as const;
export type ContactKey = (typeof CONTACT_KEYS)[number];
export type Contact = Record<ContactKey, string | null>;

/** What a profile edit asks for: present keys change (null clears), absent ones stay. */
export interface ProfileChanges {
  name?: string;
  address?: string | null;
  contact?: Partial<Contact>;
}

const PROFILE_KEYS = new Set(['name', 'address', 'contact']);
const nameField = text(200);
const isBlank = (v: unknown) => v === null || v === undefined || (typeof v === 'string' && v.trim() === '');

/**
 * Reads a profile edit, listing every problem at once (422). Address and contact details go
 * through the filing form's own party rules (domain/contract-input), so a phone or e-mail the
 * profile accepts is one a filing accepts; the name follows the sign-up's rule.
 */
export function parseProfileInput(input: unknown): ProfileChanges {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new AppError('VALIDATION_FAILED', { details: [{ path: '', message: 'validation.invalidType' }] });
  }
  const src = input as Record<string, unknown>;
  const details: ErrorDetail[] = [];
  const out: ProfileChanges = {};
  for (const key of Object.keys(src)) {
    if (!PROFILE_KEYS.has(key)) details.push({ path: key, message: key === 'uscc' ? 'orgProfile.usccFixed' : 'orgProfile.notEditable' });
  }
  if ('name' in src) {
    const res = nameField.safeParse(src.name);
    if (res.success) out.name = res.data;
    else details.push(...issuesToDetails(res.error.issues, 'name'));
  }
  const party: Record<string, unknown> = {};
  if ('address' in src) party.address = src.address;
  if ('contact' in src) {
    const c = src.contact;
    if (c !== null && (typeof c !== 'object' || Array.isArray(c))) details.push({ path: 'contact', message: 'validation.invalidType' });
    else {
      const given = (c ?? Object.fromEntries(CONTACT_KEYS.map((k) => [k, null]))) as Record<string, unknown>;
      for (const key of Object.keys(given)) {
        if ((CONTACT_KEYS as readonly string[]).includes(key)) party[key] = given[key];
        else details.push({ path: `contact.${key}`, message: 'orgProfile.notEditable' });
      }
    }
  }
  if (Object.keys(party).length) {
    const { values, issues } = parseContractInput({ seller: party });
    const parsed = (values.seller ?? {}) as Party;
    details.push(...issues.map((i: Issue) => ({ ...i, path: profilePath(i.path) })));
    if ('address' in party) out.address = isBlank(party.address) ? null : (parsed.address ?? null);
    for (const key of CONTACT_KEYS) {
      if (!(key in party)) continue;
      out.contact ??= {};
      out.contact[key] = isBlank(party[key]) ? null : (parsed[key] ?? null);
    }
  }
  if (details.length) throw new AppError('VALIDATION_FAILED', { details });
  return out;
}

/** `seller.phone` (the filing rules' path) → `contact.phone`; `seller.address` → `address`. */
const profilePath = (path: string) => path.replace(/^seller\.address$/, 'address').replace(/^seller\./, 'contact.');

const nameChangeActor = (user: CurrentUser) => ({ requestedBy: new Types.ObjectId(user.id), requestedByName: user.name });

/**
 * The manager edits the organisation's address and contact details, and may ask for a new name.
 * A new name is only requested: it waits for the bureau, and the organisation keeps filing under
 * its verified name meanwhile. Asking for the current name withdraws a waiting request.
 */
export async function updateProfile(actor: CurrentUser, input: unknown, ip?: string) {
  const organizationId = requireManager(actor);
  const changes = parseProfileInput(input);
  const now = new Date();
  // What the winning attempt did with the name (the change may be computed more than once).
  const outcome: { name: { action: 'requested' | 'withdrawn'; from: string; to: string } | null } = { name: null };
  const { doc } = await updateLatest<OrganizationDoc>(Organization, new Types.ObjectId(organizationId), (org) => {
    let nameEvent: typeof outcome.name = null;
    outcome.name = null;
    const $set: Record<string, unknown> = {};
    if (changes.address !== undefined) $set.address = changes.address;
    if (changes.contact) {
      const current = org.contact ?? {};
      $set.contact = Object.fromEntries(CONTACT_KEYS.map((k) => [k, k in changes.contact! ? changes.contact![k] : (current[k] ?? null)]));
    }
    const $push: Record<string, unknown> = {};
    if (changes.name !== undefined) {
      const pending = org.pendingChange?.name ?? null;
      if (changes.name === org.name) {
        if (pending) {
          $set.pendingChange = null;
          nameEvent = { action: 'withdrawn', from: org.name, to: pending };
        }
      } else if (changes.name !== pending) {
        if (org.status !== 'verified') throw conflict('NAME_CHANGE_NOT_ALLOWED', 'orgProfile.nameChangeNeedsVerified', { current: { status: org.status } });
        $set.pendingChange = { name: changes.name, requestedAt: now, ...nameChangeActor(actor) };
        nameEvent = { action: 'requested', from: org.name, to: changes.name };
      }
      if (nameEvent) $push.history = { at: now, actorId: new Types.ObjectId(actor.id), action: `name_change_${nameEvent.action}`, note: nameEvent.to };
      outcome.name = nameEvent;
    }
    if (!Object.keys($set).length) return null;
    return Object.keys($push).length ? { $set, $push } : { $set };
  });
  const event = outcome.name;
  const fields = [...(changes.address !== undefined ? ['address'] : []), ...Object.keys(changes.contact ?? {}).map((k) => `contact.${k}`)];
  if (fields.length) await recordAudit({ actor, action: 'organization.profile_updated', targetType: 'organization', targetId: organizationId, ip, details: { fields } });
  if (event) {
    await recordAudit({ actor, action: `organization.name_change_${event.action}`, targetType: 'organization', targetId: organizationId, ip, details: { from: event.from, to: event.to } });
  }
  return doc;
}

// ── The bureau's decision on a name change ────────────────────────────────────────────

export const approveNameChangeSchema = z.object({ name: z.string().trim().max(200).optional() });
export const rejectNameChangeSchema = z.object({ reason: text(1000) });

const notPending = (pendingName: string | null) => conflict('NAME_CHANGE_NOT_PENDING', 'orgProfile.nameChangeNotPending', { current: { pendingChange: pendingName ? { name: pendingName } : null } });

/**
 * Approves or rejects the waiting name change. The update matches the request as read (name and
 * time), so of two admins deciding at once exactly one wins and the other gets 409, and a request
 * replaced meanwhile is never decided unseen.
 */
async function decideNameChange(actor: DecidingActor, id: string, decision: { approve: true; expectedName?: string } | { approve: false; reason: string }, ip: string | undefined, notifyDeps: NotifyDeps) {
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const org = (await Organization.findById(id).lean()) as OrganizationDoc | null;
  if (!org) throw notFound();
  const pending = org.pendingChange;
  if (!pending?.name) throw notPending(null);
  if (decision.approve && decision.expectedName && decision.expectedName !== pending.name) throw notPending(pending.name);
  const now = new Date();
  const actorId = new Types.ObjectId(actor.id);
  const actorName = actor.name ?? null;
  const reason = decision.approve ? null : decision.reason;
  const action = decision.approve ? 'approved' : 'rejected';
  const previousEnd = org.nameHistory?.length ? org.nameHistory[org.nameHistory.length - 1].to : null;
  const update = {
    $set: {
      pendingChange: null,
      nameChangeDecision: { name: pending.name, action, reason, at: now, actorName },
      ...(decision.approve ? { name: pending.name } : {}),
    },
    $push: {
      history: { at: now, actorId, action: `name_change_${action}`, note: decision.approve ? pending.name : reason },
      ...(decision.approve ? { nameHistory: { name: org.name, from: previousEnd ?? org.createdAt ?? now, to: now, approvedBy: actorId, approvedByName: actorName } } : {}),
    },
  };
  const changed = await updateIf<OrganizationDoc>(Organization, { _id: org._id, 'pendingChange.name': pending.name, 'pendingChange.requestedAt': pending.requestedAt }, update);
  if (!changed) {
    const current = await Organization.findById(id).select({ pendingChange: 1 }).lean();
    throw notPending(current?.pendingChange?.name ?? null);
  }
  await recordAudit({
    actor,
    action: `organization.name_change_${action}`,
    targetType: 'organization',
    targetId: id,
    ip,
    details: { from: org.name, to: pending.name, ...(reason ? { reason } : {}) },
  });
  await notifyOrganization(notifyDeps, decision.approve ? 'name_change_approved' : 'name_change_rejected', id, `organization:${id}:name:${pending.requestedAt.getTime()}:${action}`, {
    name: org.name,
    newName: pending.name,
    reason,
  });
  return { status: action as 'approved' | 'rejected', name: changed.name };
}

export async function approveNameChange(actor: DecidingActor, id: string, input: unknown, ip?: string, notifyDeps: NotifyDeps = { queues: null }) {
  const { name } = parseInput(approveNameChangeSchema, input ?? {});
  return decideNameChange(actor, id, { approve: true, expectedName: name || undefined }, ip, notifyDeps);
}

export async function rejectNameChange(actor: DecidingActor, id: string, input: unknown, ip?: string, notifyDeps: NotifyDeps = { queues: null }) {
  const { reason } = parseInput(rejectNameChangeSchema, input ?? {});
  return decideNameChange(actor, id, { approve: false, reason }, ip, notifyDeps);
}

// ── Re-applying after a rejected sign-up ──────────────────────────────────────────────

/** The sign-up's organisation fields, each optional: what is sent is corrected, the rest stays. */
export const reapplySchema = z.object({
  name: text(200).optional(),
  uscc: usccField().optional(),
  nature: z.enum(ENTITY_NATURE_CODES).optional(),
  regionCode: z.string().refine(isLocalityCode, 'validation.region').optional(),
  address: optionalText(300).or(z.null()),
  confirmUsccCheck: checkbox(),
});

/**
 * A rejected organisation corrects its details and applies again: back to `pending`, the
 * rejection and its reason kept in `verificationHistory`. A credit code whose check character
 * fails needs the same confirmation as at sign-up.
 */
export async function reapply(actor: CurrentUser, input: unknown, ip?: string): Promise<{ status: 'pending' }> {
  const organizationId = requireManager(actor);
  const data = parseInput(reapplySchema, input ?? {});
  let checkFailed: boolean | null = null;
  if (data.uscc !== undefined) {
    const check = checkUscc(data.uscc);
    checkFailed = !check.ok && check.reason === 'check';
    if (!check.ok && check.reason === 'check' && !data.confirmUsccCheck) {
      throw new AppError('VALIDATION_FAILED', {
        code: 'USCC_CHECK_FAILED',
        details: [{ path: 'uscc', message: 'validation.uscc_check', params: { expected: check.expected } }],
        extra: { usccCheck: { expected: check.expected, confirmWith: 'confirmUsccCheck' } },
      });
    }
    if (await Organization.exists({ uscc: data.uscc, _id: { $ne: new Types.ObjectId(organizationId) } })) throw conflict('USCC_TAKEN', 'errors.usccTaken');
  }
  const now = new Date();
  const corrected: Record<string, unknown> = {};
  for (const key of ['name', 'uscc', 'nature', 'regionCode'] as const) if (data[key] !== undefined) corrected[key] = data[key];
  if (Object.prototype.hasOwnProperty.call(input, 'address')) corrected.address = data.address ?? null;
  if (checkFailed !== null) corrected.usccCheckFailed = checkFailed;
  try {
    await updateLatest<OrganizationDoc>(Organization, new Types.ObjectId(organizationId), (org) => {
      if (org.status !== 'rejected') throw conflict('ORGANIZATION_NOT_REJECTED', 'orgProfile.notRejected', { current: { status: org.status } });
      const history: { at: Date; action: string; reason: string | null; actorName: string | null }[] = (org.verificationHistory ?? []).map((v) => ({
        at: v.at,
        action: v.action,
        reason: v.reason ?? null,
        actorName: v.actorName ?? null,
      }));
      // Organisations rejected before this history existed: keep that rejection too.
      if (history[history.length - 1]?.action !== 'rejected') history.push({ at: org.reviewedAt ?? now, action: 'rejected', reason: org.rejectionReason ?? null, actorName: null });
      history.push({ at: now, action: 'reapplied', reason: null, actorName: actor.name });
      return {
        $set: { ...corrected, status: 'pending', rejectionReason: null, reviewedAt: null, reviewedBy: null, verificationHistory: history },
        $push: { history: { at: now, actorId: new Types.ObjectId(actor.id), action: 'reapplied', note: null } },
      };
    });
  } catch (err) {
    if (isDuplicateKey(err)) throw conflict('USCC_TAKEN', 'errors.usccTaken');
    throw err;
  }
  await recordAudit({ actor, action: 'organization.reapplied', targetType: 'organization', targetId: organizationId, ip, details: { corrected: Object.keys(corrected) } });
  return { status: 'pending' };
}
