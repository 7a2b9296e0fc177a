/** The password rules, shared by sign-up, member creation, bureau accounts and password change. */
import { z } from 'zod';
import type { ErrorDetail } from '../../lib/errors';
import { lazyWhileUsed } from '../../lib/lazy';
import { COMMON_PASSWORDS, isCommonPassword, PINYIN_WORDS } from './common-passwords';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './password';

export const passwordField = () => z.string().min(MIN_PASSWORD_LENGTH).max(MAX_PASSWORD_LENGTH);

/** The least zxcvbn score (0–4) a password must reach: 3 is "safely unguessable" (~10^8 guesses and more). */
export const MIN_PASSWORD_SCORE = 3;

/** Why zxcvbn finds a password weak: its warning keys, each with a message of ours. */
export const WEAKNESS_REASONS = [
  'straightRow', 'keyPattern', 'simpleRepeat', 'extendedRepeat', 'sequences', 'recentYears', 'dates', 'topTen', 'topHundred',
  'common', 'similarToCommon', 'wordByItself', 'namesByThemselves', 'commonNames', 'userInputs', 'pwned', 'pinyin',
] as const;

type Estimate = {
  score: number;
  feedback: { warning: string | null };
  sequence: { dictionaryName?: string; levenshteinDistance?: number }[];
};
type Estimator = { check(password: string, userInputs?: (string | number)[]): Estimate };

/** zxcvbn's own warning, or ours for matches in our dictionaries (which it has no words for). */
function weakness(result: Estimate): string | null {
  if (result.feedback.warning) return result.feedback.warning;
  const ours = result.sequence.find((m) => m.dictionaryName === 'registry' || m.dictionaryName === 'pinyin');
  if (ours?.dictionaryName === 'registry') return ours.levenshteinDistance ? 'similarToCommon' : 'common';
  return ours ? 'pinyin' : null;
}
/**
 * zxcvbn with its common dictionaries (passwords, names, words; keyboard layouts), plus our lists
 * of passwords and pinyin words common in a Chinese setting. Built on first use: only processes that check
 * passwords load its dictionaries, and they let them go (some 14 MB) two minutes after the last check.
 */
const strength = lazyWhileUsed((): Estimator => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ZxcvbnFactory } = require('@zxcvbn-ts/core') as typeof import('@zxcvbn-ts/core');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const common = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
  return new ZxcvbnFactory({
    dictionary: { ...common.dictionary, registry: [...COMMON_PASSWORDS], pinyin: [...new Set(PINYIN_WORDS)] },
    graphs: common.adjacencyGraphs,
    useLevenshteinDistance: true,
  }) as unknown as Estimator;
}, 2 * 60_000);

/** Problems with a password that a length check cannot see; empty when it is acceptable. */
export function passwordProblems(password: string, email: string, path: string): ErrorDetail[] {
  const lower = password.toLowerCase();
  const local = email.split('@')[0]?.toLowerCase() ?? '';
  if (isCommonPassword(password)) return [{ path, message: 'validation.passwordCommon' }];
  if (local.length >= 4 && lower.includes(local)) return [{ path, message: 'validation.passwordContainsEmail' }];
  const result = strength().check(password, [email, local].filter(Boolean));
  if (result.score < MIN_PASSWORD_SCORE) {
    const found = weakness(result);
    const reason = found && (WEAKNESS_REASONS as readonly string[]).includes(found) ? found : null;
    return [{ path, message: reason ? `validation.passwordWeak_${reason}` : 'validation.passwordWeak' }];
  }
  return [];
}
