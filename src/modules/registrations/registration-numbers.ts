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
export async function highestSerial(year: number): Promise<number> {
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
  let serial = known?.serial ?? (await takeNumber(serialCounterId(year), contractId, () => highestSerial(year)));
  // The register first, then the contract: the register's unique `<year>-<serial>` is the last
  // guard. A serial found written for another contract was brought in by an import with its own
  // number (modules/imports) before this one wrote it: it stays the import's (used, so not
  // lost), and this contract takes the next serial under a further key (the same on a retry).
  for (let attempt = 1; !(await registerSerial(year, serial, agencyCode, contractId, at)); attempt++) {
    if (attempt > 5) throw new Error(`registration ${contractId}: no free serial in ${year}`);
    serial = await takeNumber(serialCounterId(year), `${contractId}#${attempt}`, () => highestSerial(year));
  }
  const number = formatRegistrationNumber(year, agencyCode, serial);
  await changeIf(Contract, { _id: c._id, registrationNumber: null }, { $set: { registrationNumber: number, searchText: [c.searchText, number].filter(Boolean).join(' ') } });
  return number;
}

/** Writes serial `serial` of `year` to the register for the contract; false when another contract holds it. Idempotent. */
async function registerSerial(year: number, serial: number, agencyCode: string, contractId: string, at: Date): Promise<boolean> {
  const _id = `${year}-${String(serial).padStart(6, '0')}`;
  try {
    await Registration.create({ _id, year, serial, number: formatRegistrationNumber(year, agencyCode, serial), contractId, at });
    return true;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    // Written by an earlier run of this registration, or held by another contract.
    return (await Registration.findById(_id).select({ contractId: 1 }).lean())?.contractId === contractId;
  }
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
