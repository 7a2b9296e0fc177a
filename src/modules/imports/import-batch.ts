/**
 * One batch of an import's rows written in bulk: the register of numbers, the contracts, the
 * ledger; the reasons of the rows refused. A batch can be done again (a worker that died in the
 * middle, a job run twice) and writes nothing twice: contract ids come from the import and the
 * row, a registration already written for that id is the batch's own, and the ledger block is
 * the same one for the same batch.
 *
 * Serials. An imported row brings its own serial; the year's counter must then never hand it
 * to a new registration. Before writing a batch's registrations the counter is raised to the
 * batch's highest serial (lib/counters raiseTo: a compare-and-set that logs the numbers it
 * passes over under an `import:` key), so every number taken afterwards is above them. A
 * serial at or below the counter's old value was taken by someone: if its log entry is an
 * `import:` one it was passed over for imports (free for one), if it belongs to a registration
 * of this registry that has not written itself to the register yet, the row is refused, never
 * raced. The register's unique `<year>-<serial>` decides the rest: of two writers of one serial
 * exactly one succeeds, and a registration that loses its serial to an import takes the next
 * (registrations/registration-numbers), so no serial is used twice or left behind.
 */
import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import { factOf } from '../../domain/tally';
import { holderIn, raiseTo } from '../../lib/counters';
import { Contract } from '../contracts/contract.model';
import { searchTextOf } from '../contracts/contracts.service';
import { Registration } from '../registrations/registration.model';
import { highestSerial, serialCounterId } from '../registrations/registration-numbers';
import { recordImportedRegistrations } from '../turnover/turnover.service';
import { ImportRowError, rowErrorId } from './import.model';
import { parseImportRow, type ImportedRow, type RowCells, type RowIssue } from './row-parse';

/**
 * The organisation an imported contract belongs to: none. A fixed id no organisation can have
 * (an ObjectId begins with its creation time, and this one's is 1970-01-01; the rest spells
 * "imported"), so every applicant's query by its own organisation passes imported contracts by.
 */
export const IMPORTED_ORGANIZATION_ID = new Types.ObjectId('00000000696d706f72746564');

export interface BatchRow {
  row: number;
  cells: RowCells;
}

export interface BatchContext {
  importId: string;
  filename: string;
  actorId: Types.ObjectId;
  agencyCode: string;
  today: string;
  date1904: boolean;
  maxChars: number;
}

export interface BatchOutcome {
  imported: number;
  skipped: number;
  rejected: number;
  years: number[];
}

/** The contract id of an import's row: the same on every run (4 bytes of the import's time, 8 of a digest). */
export function contractIdFor(importId: string, row: number): Types.ObjectId {
  const digest = createHash('sha256').update(`${importId}:${row}`).digest();
  return new Types.ObjectId(Buffer.concat([Buffer.from(importId.slice(0, 8), 'hex'), digest.subarray(0, 8)]));
}

const registrationId = (year: number, serial: number) => `${year}-${String(serial).padStart(6, '0')}`;

/** A contract's stored defaults (empty lists, unset dates…), as the model writes them, taken once. */
let contractDefaults: Record<string, unknown> | null = null;
function defaultsOfContract(): Record<string, unknown> {
  if (!contractDefaults) {
    const d = new Contract({ organizationId: IMPORTED_ORGANIZATION_ID, createdBy: IMPORTED_ORGANIZATION_ID }).toObject() as Record<string, unknown>;
    for (const k of ['_id', 'organizationId', 'createdBy', 'createdAt', 'updatedAt']) delete d[k];
    contractDefaults = d;
  }
  return contractDefaults;
}

/**
 * Inserts complete documents in bulk, straight to the driver (Mongoose's casting and hydration
 * of hundreds of documents per batch is most of an import's garbage); documents already there
 * (a unique key) are left as they are.
 */
async function insertNew(model: { collection: { insertMany: (docs: object[], opts: object) => Promise<unknown> } }, docs: object[]): Promise<void> {
  if (!docs.length) return;
  await model.collection.insertMany(docs, { ordered: false }).catch((err: { writeErrors?: { code?: number; err?: { code?: number } }[]; code?: number }) => {
    const writeErrors = err?.writeErrors;
    const duplicatesOnly = Array.isArray(writeErrors) ? writeErrors.length > 0 && writeErrors.every((w) => (w.code ?? w.err?.code) === 11000) : err?.code === 11000;
    if (!duplicatesOnly) throw err;
  });
}

interface Candidate {
  row: number;
  value: ImportedRow;
  contractId: Types.ObjectId;
  regId: string;
}

export async function importBatch(rows: BatchRow[], ctx: BatchContext): Promise<BatchOutcome> {
  const refused = new Map<number, RowIssue[]>();
  let skipped = 0;
  const valid: Candidate[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    const res = parseImportRow(r.cells, ctx);
    if (!res.ok) {
      refused.set(r.row, res.issues);
      continue;
    }
    // A number the batch has already: that row counts, this one is already registered.
    if (seen.has(res.value.registrationNumber)) {
      skipped += 1;
      continue;
    }
    seen.add(res.value.registrationNumber);
    valid.push({ row: r.row, value: res.value, contractId: contractIdFor(ctx.importId, r.row), regId: registrationId(res.value.year, res.value.serial) });
  }
  const serialTaken = (c: Candidate) => refused.set(c.row, [{ path: 'registrationNumber', message: 'imports.row.serialTaken', params: { number: c.value.registrationNumber } }]);

  // What the register holds already: this batch's own (an earlier run), another import's, or a registration of ours.
  const mine: Candidate[] = [];
  const toClaim: Candidate[] = [];
  const existing = new Map(
    (await Registration.find({ _id: { $in: valid.map((c) => c.regId) } }).select({ contractId: 1, source: 1 }).lean()).map((r) => [r._id as string, r]),
  );
  for (const c of valid) {
    const e = existing.get(c.regId);
    if (!e) toClaim.push(c);
    else if (e.contractId === String(c.contractId)) mine.push(c);
    else if (e.source === 'import') skipped += 1;
    else serialTaken(c);
  }

  // The counter past the batch's serials first; then only serials no registration of ours holds.
  const claims: Candidate[] = [];
  for (const [year, list] of groupBy(toClaim, (c) => c.value.year)) {
    const top = Math.max(...list.map((c) => c.value.serial));
    const counter = await raiseTo(serialCounterId(year), `import:${ctx.importId}:${rows[0].row}:${year}`, top, () => highestSerial(year));
    for (const c of list) {
      const holder = holderIn(counter, c.value.serial);
      if (holder && !holder.key.startsWith('import:')) serialTaken(c);
      else claims.push(c);
    }
  }
  await insertNew(
    Registration,
    claims.map((c) => ({ _id: c.regId, year: c.value.year, serial: c.value.serial, number: c.value.registrationNumber, contractId: String(c.contractId), at: c.value.registeredAt, revokedAt: null, source: 'import' })),
  );
  const written = new Map((await Registration.find({ _id: { $in: claims.map((c) => c.regId) } }).select({ contractId: 1, source: 1 }).lean()).map((r) => [r._id as string, r]));
  for (const c of claims) {
    const r = written.get(c.regId);
    if (!r) throw new Error(`registration ${c.regId} was neither written nor found`);
    if (r.contractId === String(c.contractId)) mine.push(c);
    else if (r.source === 'import') skipped += 1; // another import wrote it first
    else serialTaken(c);
  }

  // The contracts, registered as they were, then their ledger entries in their years.
  mine.sort((a, b) => a.row - b.row);
  const now = new Date();
  await insertNew(
    Contract,
    mine.map((c) => {
      const f = c.value.fields;
      return {
        ...defaultsOfContract(),
        ...f,
        _id: c.contractId,
        organizationId: IMPORTED_ORGANIZATION_ID,
        source: 'import',
        status: 'registered',
        direction: 'domestic',
        signedYear: f.signedOn ? Number(f.signedOn.slice(0, 4)) : null,
        searchText: searchTextOf(f, c.value.registrationNumber),
        registrationNumber: c.value.registrationNumber,
        registeredAt: c.value.registeredAt,
        registrationYear: c.value.year,
        registrationVersion: 1,
        decision: { action: 'registered', at: c.value.registeredAt, note: null },
        history: [{ at: c.value.registeredAt, actorId: null, actorName: null, action: 'registered', note: `${ctx.filename} #${c.row}` }],
        createdBy: ctx.actorId,
        createdAt: now,
        updatedAt: now,
      };
    }),
  );
  for (const [year, list] of groupBy(mine, (c) => c.value.year)) {
    const items = list.map((c) => ({ contractId: String(c.contractId), fact: factOf({ ...c.value.fields, registeredAt: c.value.registeredAt, direction: 'domestic' }, ctx.agencyCode) }));
    await recordImportedRegistrations(year, items, `import:${ctx.importId}:${rows[0].row}`);
  }

  const cellsOf = new Map(rows.map((r) => [r.row, r.cells]));
  await insertNew(
    ImportRowError,
    [...refused].map(([row, issues]) => ({
      _id: rowErrorId(ctx.importId, row),
      importId: ctx.importId,
      row,
      issues: issues.map((i) => ({ path: i.path, key: i.message, params: i.params ?? null })),
      cells: Object.fromEntries(Object.entries(cellsOf.get(row) ?? {}).map(([k, c]) => [k, c!.text])),
    })),
  );
  return { imported: mine.length, skipped, rejected: refused.size, years: [...new Set(mine.map((c) => c.value.year))] };
}

function groupBy<T, K>(list: T[], key: (t: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const t of list) {
    const k = key(t);
    const l = out.get(k);
    if (l) l.push(t);
    else out.set(k, [t]);
  }
  return out;
}
