/** The password rules, shared by sign-up, member creation, bureau accounts and password change. */
import { z } from 'zod';
import type { ErrorDetail } from '../../lib/errors';
import { isCommonPassword } from './common-passwords';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './password';

export const passwordField = () => z.string().min(MIN_PASSWORD_LENGTH).max(MAX_PASSWORD_LENGTH);

/** Problems with a password that a length check cannot see; empty when it is acceptable. */
export function passwordProblems(password: string, email: string, path: string): ErrorDetail[] {
  const lower = password.toLowerCase();
  const local = email.split('@')[0]?.toLowerCase() ?? '';
  if (isCommonPassword(password)) return [{ path, message: 'validation.passwordCommon' }];
  if (local.length >= 4 && lower.includes(local)) return [{ path, message: 'validation.passwordContainsEmail' }];
  if (new Set(password).size < 4) return [{ path, message: 'validation.passwordCommon' }];
  return [];
}
