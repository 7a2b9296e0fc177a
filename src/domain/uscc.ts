/**
 * Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters, the last one
 * a check character. Some early pilot-region codes fail the check though they are real,
 * so a failed check is reported separately: it warns, it does not block.
 */

export const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

export type UsccCheck =
  | { ok: true; code: string }
  | { ok: false; reason: 'length' | 'characters'; code: string }
  | { ok: false; reason: 'check'; code: string; expected: string };

/** The check character the first 17 characters call for. */
export function usccCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC_ALPHABET.indexOf(first17[i]) * WEIGHTS[i];
  return USCC_ALPHABET[(31 - (sum % 31)) % 31];
}

/** Normalises (trims, upper-cases) and checks a code. */
export function checkUscc(input: string): UsccCheck {
  const code = input.trim().toUpperCase();
  if (code.length !== 18) return { ok: false, reason: 'length', code };
  for (const ch of code) if (!USCC_ALPHABET.includes(ch)) return { ok: false, reason: 'characters', code };
  const expected = usccCheckCharacter(code.slice(0, 17));
  if (code[17] !== expected) return { ok: false, reason: 'check', code, expected };
  return { ok: true, code };
}
