/**
 * Gap-free registration numbers (DOMAIN.md): 4-digit year + 6-digit agency code + 6-digit
 * serial within the year from 000001, assigned at the moment of registration, and only to a
 * contract whose registration has already won (see review/decisions.service).
 */
import { takeNumber } from '../../lib/counters';
import { isDuplicateKey } from '../../lib/errors';
import { changeIf } from '../../lib/transitions';
import { Contract, type ContractDoc } from '../contracts/contract.model';
import { Registration } from './registration.model';

export const formatRegistrationNumber = (year: number, agencyCode: string, serial: number) =>
  `${year}${agencyCode}${String(serial).padStart(6, '0')}`;

export const serialCounterId = (year: number) => `registration-serial:${year}`;

/** The highest serial already registered in `year` (for a counter created over existing registrations). */
async function highestSerial(year: number): Promise<number> {
  const top = await Registration.findOne({ year }).sort({ serial: -1 }).select({ serial: 1 }).lean();
  return top?.serial ?? 0;
}

/**
 * Numbers a registered contract: its serial is taken from the year's counter (the same one on
 * every retry, see lib/counters), then written to the register and to the contract. Each step
 * is idempotent, so a caller that dies between them is finished by running this again.
 * `firstRun`: the caller has just won the registration itself, so no earlier run can have
 * registered a serial for it and the look-up for one is skipped (a sweeper that starts beside a
 * very slow first run gets the same serial from the counter's log of keys).
 */
export async function numberRegistration(
  c: Pick<ContractDoc, '_id' | 'registeredAt' | 'registrationYear' | 'searchText' | 'registrationNumber'>,
  agencyCode: string,
  { firstRun = false } = {},
): Promise<string> {
  if (c.registrationNumber) return c.registrationNumber;
  const contractId = String(c._id);
  const year = c.registrationYear!;
  const at = new Date(c.registeredAt!);
  // Registered by an earlier run that stopped before writing the contract: reuse, never take another.
  const known = firstRun ? null : await Registration.findOne({ contractId }).select({ serial: 1 }).lean();
  const serial = known?.serial ?? (await takeNumber(serialCounterId(year), contractId, () => highestSerial(year)));
  const number = formatRegistrationNumber(year, agencyCode, serial);
  // The register and the contract, side by side: each write is idempotent on its own.
  await Promise.all([
    Registration.create({ _id: `${year}-${String(serial).padStart(6, '0')}`, year, serial, number, contractId, at }).catch((err) => {
      if (!isDuplicateKey(err)) throw err; // written by an earlier run
    }),
    changeIf(Contract, { _id: c._id, registrationNumber: null }, { $set: { registrationNumber: number, searchText: [c.searchText, number].filter(Boolean).join(' ') } }),
  ]);
  return number;
}

/** Marks a registration revoked (its number stays taken; the register shows it revoked). */
export async function markRegistrationRevoked(contractId: string, at: Date): Promise<void> {
  await Registration.updateOne({ contractId, revokedAt: null }, { $set: { revokedAt: at } });
}

/** Every serial of a year in order, for checking that none is missing. */
export async function serialsOf(year: number): Promise<number[]> {
  const rows = await Registration.find({ year }).sort({ serial: 1 }).select({ serial: 1 }).lean();
  return rows.map((r) => r.serial);
}
