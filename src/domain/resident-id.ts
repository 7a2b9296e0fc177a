/**
 * Resident identity card numbers (公民身份号码, GB 11643-1999): what a natural person gives
 * instead of a credit code. 18 characters: 6-digit address code, 8-digit birth date
 * (YYYYMMDD), 3-digit sequence and a check character (0-9 or X), ISO 7064 MOD 11-2.
 * Unlike the credit code, no real number fails the check, so a failed check blocks.
 */
import { cstDate } from './time';

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '0123456789X';

export type ResidentIdCheck =
  | { ok: true; idNumber: string }
  | { ok: false; reason: 'length' | 'characters' | 'birthDate'; idNumber: string }
  | { ok: false; reason: 'check'; idNumber: string; expected: string };

/** The check character the first 17 digits call for: (12 − Σ digit×weight mod 11) mod 11, 10 written X. */
export function residentIdCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
  return CHECK[(12 - (sum % 11)) % 11];
}

/** The embedded birth date is a real calendar date, not after `today` (a CST "YYYY-MM-DD"). */
function isBirthDate(yyyymmdd: string, today: string): boolean {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  // The 18-digit scheme covers people born from the 19th century on.
  if (y < 1800) return false;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return false;
  return `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}` <= today;
}

/** Normalises (trims, drops inner spaces, upper-cases x) and checks a number. `today` is the CST date. */
export function checkResidentId(input: string, today: string = cstDate(new Date())): ResidentIdCheck {
  const idNumber = input.replace(/\s+/g, '').toUpperCase();
  if (idNumber.length !== 18) return { ok: false, reason: 'length', idNumber };
  if (!/^\d{17}[\dX]$/.test(idNumber)) return { ok: false, reason: 'characters', idNumber };
  if (!isBirthDate(idNumber.slice(6, 14), today)) return { ok: false, reason: 'birthDate', idNumber };
  const expected = residentIdCheckCharacter(idNumber.slice(0, 17));
  if (idNumber[17] !== expected) return { ok: false, reason: 'check', idNumber, expected };
  return { ok: true, idNumber };
}

/**
 * The number as everyone but the bureau sees it: the first 6 and last 4 characters kept,
 * the rest (birth date and most of the sequence) starred: 110105********002X.
 */
export function maskResidentId(idNumber: string): string {
  if (idNumber.length <= 10) return '*'.repeat(idNumber.length);
  return idNumber.slice(0, 6) + '*'.repeat(idNumber.length - 10) + idNumber.slice(-4);
}

/** Whether `value` is the masked form of a number (what a form shown masked sends back unchanged). */
export function isMaskOf(value: string, idNumber: string): boolean {
  return value.includes('*') && value.trim().toUpperCase() === maskResidentId(idNumber);
}
