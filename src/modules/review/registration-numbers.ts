/**
 * Gap-free registration numbers (DOMAIN.md): 4-digit year + 6-digit agency code + 6-digit
 * serial within the year from 000001, assigned at the moment of registration.
 */
import { Registration } from './registration.model';

export const formatRegistrationNumber = (year: number, agencyCode: string, serial: number) =>
  `${year}${agencyCode}${String(serial).padStart(6, '0')}`;

// The highest serial this process has seen per year. It can only lag behind the truth
// (serials only grow), so starting from it never skips a number.
const lastSeen = new Map<number, number>();

async function highestSerial(year: number): Promise<number> {
  const top = await Registration.find({ year }).sort({ serial: -1 }).limit(1).select({ serial: 1 }).lean();
  return top[0]?.serial ?? 0;
}

/**
 * The contract's registration number: the one it already has, or the next free serial of
 * `year`. Concurrent callers (in any number of processes) each get a distinct serial; a
 * caller that loses a serial to another simply tries the next one.
 */
export async function allocateRegistrationNumber(year: number, contractId: string, agencyCode: string, at = new Date()): Promise<string> {
  const existing = await Registration.findOne({ contractId }).lean();
  if (existing) return existing.number;
  let serial = (lastSeen.get(year) ?? (await highestSerial(year))) + 1;
  for (let tries = 0; tries < 100_000; tries++) {
    const number = formatRegistrationNumber(year, agencyCode, serial);
    try {
      await Registration.create({ _id: `${year}-${String(serial).padStart(6, '0')}`, year, serial, number, contractId, at });
      lastSeen.set(year, Math.max(lastSeen.get(year) ?? 0, serial));
      return number;
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
      // Either the serial is taken, or this contract was numbered by a concurrent retry.
      const mine = await Registration.findOne({ contractId }).lean();
      if (mine) return mine.number;
      lastSeen.set(year, Math.max(lastSeen.get(year) ?? 0, serial));
      serial += 1;
    }
  }
  throw new Error(`could not allocate a registration number for ${contractId}`);
}

/** Every serial of a year in order, for checking that none is missing. */
export async function serialsOf(year: number): Promise<number[]> {
  const rows = await Registration.find({ year }).select({ serial: 1 }).lean();
  return rows.map((r) => r.serial).sort((a, b) => a - b);
}
