/**
 * Gap-free registration numbers (DOMAIN.md): 4-digit year + 6-digit agency code + 6-digit
 * serial within the year from 000001, assigned at the moment of registration.
 */
import { gaplessSequence } from '../../lib/sequence';
import { ContractNumber, Registration } from './registration.model';

export const formatRegistrationNumber = (year: number, agencyCode: string, serial: number) =>
  `${year}${agencyCode}${String(serial).padStart(6, '0')}`;

const serials = gaplessSequence(async (year) => {
  const top = await Registration.find({ year }).sort({ serial: -1 }).limit(1).select({ serial: 1 }).lean();
  return top[0]?.serial ?? 0;
});

function takeSerial(year: number, contractId: string, agencyCode: string, at: Date): Promise<{ number: string; registrationId: string }> {
  return serials(year, {
    insert: async (serial) => {
      const number = formatRegistrationNumber(year, agencyCode, serial);
      const registrationId = `${year}-${String(serial).padStart(6, '0')}`;
      await Registration.create({ _id: registrationId, year, serial, number, contractId, at });
      return { number, registrationId };
    },
    // This contract was numbered already (a crashed allocator's work): use that number.
    doneField: 'contractId',
    alreadyDone: async () => {
      const mine = await Registration.findOne({ contractId }).lean();
      return mine ? { number: mine.number, registrationId: mine._id } : null;
    },
    maxTries: 100_000,
    what: `the registration of ${contractId}`,
  });
}

/**
 * The contract's registration number: the one it already has, or the next free serial of
 * `year`. Concurrent callers (in any number of processes) each get a distinct serial; a
 * caller that loses a serial to another simply tries the next one. One number per contract:
 * the contract is claimed first, by inserting its id.
 */
export async function allocateRegistrationNumber(year: number, contractId: string, agencyCode: string, at = new Date()): Promise<string> {
  const known = await ContractNumber.findById(contractId).lean();
  if (known?.number) return known.number;
  let mine = false;
  if (!known) {
    try {
      await ContractNumber.create({ _id: contractId, number: null, at: new Date() });
      mine = true;
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
    }
  }
  if (!mine) {
    // Another process is numbering this contract: wait for it, unless it has plainly died.
    for (let i = 0; i < 100; i++) {
      const c = await ContractNumber.findById(contractId).lean();
      if (c?.number) return c.number;
      if (c && Date.now() - c.at.getTime() > 15_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const orphan = await Registration.findOne({ contractId }).lean();
    if (orphan) {
      await ContractNumber.updateOne({ _id: contractId }, { $set: { number: orphan.number, registrationId: orphan._id } });
      return orphan.number;
    }
  }
  const { number, registrationId } = await takeSerial(year, contractId, agencyCode, at);
  await ContractNumber.updateOne({ _id: contractId }, { $set: { number, registrationId } });
  return number;
}

/** Marks a registration revoked (its number stays taken; the register shows it revoked). */
export async function markRegistrationRevoked(contractId: string, at: Date): Promise<void> {
  const c = await ContractNumber.findById(contractId).lean();
  if (!c?.registrationId) return;
  await Registration.updateOne({ _id: c.registrationId }, { $set: { revokedAt: at } });
  await ContractNumber.updateOne({ _id: contractId }, { $set: { revokedAt: at } });
}

/** Every serial of a year in order, for checking that none is missing. */
export async function serialsOf(year: number): Promise<number[]> {
  const rows = await Registration.find({ year }).select({ serial: 1 }).lean();
  return rows.map((r) => r.serial).sort((a, b) => a - b);
}
