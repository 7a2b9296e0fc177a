/** API tokens: random, shown once, stored as a SHA-256 hash, expiring. */
import { createHash, randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import { ApiToken } from './token.model';
import { sharedCache } from '../../lib/shared-cache';
import { activeUser, type CurrentUser } from './current-user';

const PREFIX = 'tcr_';

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

export async function issueToken(userId: string, ttlMs: number): Promise<{ token: string; expiresAt: Date }> {
  const token = PREFIX + randomBytes(32).toString('base64url');
  const now = new Date();
  const expiresAt = new Date(now.getTime() + ttlMs);
  await ApiToken.create({ _id: digest(token), userId: new Types.ObjectId(userId), createdAt: now, expiresAt });
  return { token, expiresAt };
}

/** The token's user, or null when it is unknown, expired or its user is disabled. */
export async function resolveToken(token: string): Promise<CurrentUser | null> {
  if (!token.startsWith(PREFIX) || token.length > 100) return null;
  const id = digest(token);
  const mark = sharedCache.mark;
  let userId = sharedCache.get<string>('token', id);
  if (!userId) {
    const doc = await ApiToken.findById(id).lean();
    if (!doc) return null;
    if (doc.expiresAt.getTime() <= Date.now()) {
      await ApiToken.deleteOne({ _id: doc._id });
      return null;
    }
    userId = sharedCache.store('token', id, String(doc.userId), mark, { expiresAt: doc.expiresAt, userId: String(doc.userId) });
  }
  const user = await activeUser(userId, mark);
  return user ? { ...user, via: 'token' } : null;
}

export async function revokeToken(token: string): Promise<void> {
  await ApiToken.deleteOne({ _id: digest(token) });
}

export async function revokeAllTokens(userId: string): Promise<void> {
  await ApiToken.deleteMany({ userId: new Types.ObjectId(userId) });
}

/** Removes expired tokens (expiry is also checked on every use). */
export async function sweepExpiredTokens(now = new Date()): Promise<number> {
  const res = await ApiToken.deleteMany({ expiresAt: { $lte: now } });
  return res.deletedCount;
}
