/** Signing in, passwords and bureau accounts. Plain values in and out. */
import { Types } from 'mongoose';
import { z } from 'zod';
import { AppError, conflict, isDuplicateKey } from '../../lib/errors';
import { email, parseInput, text } from '../../lib/validation';
import { recordAudit, type Actor } from '../audit/audit.service';
import { activeUser, toCurrentUser, type CurrentUser } from './current-user';
import { hashPassword, verifyPassword } from './password';
import { passwordField, passwordProblems } from './password-policy';
import { sharedCache } from '../../lib/shared-cache';
import { revokeAllTokens } from './tokens.service';
import { User, type Role } from './user.model';

// Verifying against a real hash when the account does not exist keeps the timing of
// "no such account" and "wrong password" alike.
let dummyHash: Promise<string> | null = null;
const getDummyHash = () => (dummyHash ??= hashPassword('not-a-real-password-' + Math.random()));

export const signInSchema = z.object({ email: email(), password: z.string().min(1).max(1024) });

/** Checks an email and password; null for any failure (unknown account, wrong password, disabled). */
export async function authenticate(emailAddress: string, password: string): Promise<CurrentUser | null> {
  const user = await User.findOne({ email: emailAddress.trim().toLowerCase() }).lean();
  if (!user) {
    await verifyPassword(await getDummyHash(), password);
    return null;
  }
  if (!(await verifyPassword(user.passwordHash, password))) return null;
  if (user.disabled) return null;
  return toCurrentUser(user, 'session');
}

export async function recordSignIn(user: CurrentUser, ip: string | undefined): Promise<void> {
  await User.updateOne({ _id: user.id }, { $set: { lastSignInAt: new Date() } });
  if (user.role !== 'applicant') {
    await recordAudit({ actor: user, action: 'auth.sign_in', targetType: 'user', targetId: user.id, ip, details: { via: user.via } });
  }
}

export async function findActiveUser(id: string): Promise<CurrentUser | null> {
  if (!Types.ObjectId.isValid(id)) return null;
  const user = await activeUser(id, sharedCache.mark);
  return user ? { ...user, via: 'session' } : null;
}

export const changePasswordSchema = z.object({
  currentPassword: z.string().min(1).max(1024),
  newPassword: passwordField(),
});

export async function changePassword(user: CurrentUser, input: unknown): Promise<number> {
  const { currentPassword, newPassword } = parseInput(changePasswordSchema, input);
  const doc = await User.findById(user.id);
  if (!doc) throw new AppError('NOT_FOUND');
  if (!(await verifyPassword(doc.passwordHash, currentPassword))) {
    throw new AppError('VALIDATION_FAILED', { details: [{ path: 'currentPassword', message: 'validation.currentPasswordWrong' }] });
  }
  const problems = passwordProblems(newPassword, doc.email, 'newPassword');
  if (currentPassword === newPassword) problems.push({ path: 'newPassword', message: 'validation.passwordUnchanged' });
  if (problems.length) throw new AppError('VALIDATION_FAILED', { details: problems });
  doc.passwordHash = await hashPassword(newPassword);
  doc.mustChangePassword = false;
  doc.sessionEpoch = (doc.sessionEpoch ?? 0) + 1;
  await doc.save();
  // A changed password ends every API token and every other session issued under the old one.
  await revokeAllTokens(user.id);
  return doc.sessionEpoch;
}

export const bureauUserSchema = z.object({
  email: email(),
  name: text(100),
  password: passwordField(),
  role: z.enum(['reviewer', 'admin']),
});

/** An admin creates a reviewer or admin account; its owner changes the password at first sign-in. */
export async function createBureauUser(actor: Actor, input: unknown, ip?: string): Promise<{ id: string }> {
  const data = parseInput(bureauUserSchema, input);
  const problems = passwordProblems(data.password, data.email, 'password');
  if (problems.length) throw new AppError('VALIDATION_FAILED', { details: problems });
  const id = await createUser({ ...data, role: data.role, organizationId: null, mustChangePassword: true });
  await recordAudit({ actor, action: 'user.created', targetType: 'user', targetId: id, ip, details: { role: data.role, email: data.email } });
  return { id };
}

/** Inserts a user; a taken email answers 409 without saying whose it is. */
export async function createUser(u: {
  email: string;
  name: string;
  password: string;
  role: Role;
  organizationId: Types.ObjectId | string | null;
  organizationManager?: boolean;
  mustChangePassword: boolean;
}): Promise<string> {
  if (await User.exists({ email: u.email })) throw conflict('EMAIL_TAKEN', 'errors.emailTaken');
  try {
    const doc = await User.create({
      email: u.email,
      name: u.name,
      role: u.role,
      organizationId: u.organizationId,
      organizationManager: u.organizationManager ?? false,
      passwordHash: await hashPassword(u.password),
      mustChangePassword: u.mustChangePassword,
    });
    return String(doc._id);
  } catch (err) {
    if (isDuplicateKey(err)) throw conflict('EMAIL_TAKEN', 'errors.emailTaken');
    throw err;
  }
}

/** An admin disables (or re-enables) a bureau account; a disabled one is signed out everywhere. */
export async function setBureauUserDisabled(actor: Actor, id: string, disabled: boolean, ip?: string): Promise<void> {
  if (!Types.ObjectId.isValid(id)) throw new AppError('NOT_FOUND');
  if (id === actor.id) throw conflict('CANNOT_DISABLE_SELF', 'errors.cannotDisableSelf');
  const res = await User.updateOne({ _id: id, role: { $in: ['reviewer', 'admin'] } }, { $set: { disabled } });
  if (res.matchedCount === 0) throw new AppError('NOT_FOUND');
  if (disabled) await revokeAllTokens(id);
  await recordAudit({ actor, action: disabled ? 'user.disabled' : 'user.enabled', targetType: 'user', targetId: id, ip });
}

export async function listBureauUsers() {
  return User.find({ role: { $in: ['reviewer', 'admin'] } })
    .sort({ role: 1, email: 1 })
    .select({ email: 1, name: 1, role: 1, disabled: 1, lastSignInAt: 1, mustChangePassword: 1, createdAt: 1 })
    .lean();
}
