/**
 * The reading half of reconciliation (turnover.service `reconcile` checks and corrects with
 * what it returns): one pass over the register of numbers and the ledger, streamed in large
 * batches and summed as it arrives, so a million registered contracts take seconds and a
 * bounded amount of memory, whatever the size of the register.
 *
 * - Read as raw BSON through the driver (no Mongoose documents, no JS object per document):
 *   only the few fields needed are taken from each document's bytes. The next batch of each
 *   stream is requested before the current one is worked on.
 * - Ledger facts are summed per group of facts equal but for their amounts (the encoded fact
 *   without its two amount fields): a million entries fall into a few thousand groups, each a
 *   count and two fen sums, expanded into tallies once at the end. Sums stay exact integers: a
 *   double holds every integer up to 2^53 fen (90 trillion yuan).
 * - The register is joined to the ledger's `registered:<contractId>` entries by merging two
 *   streams, the register sorted by contract and the ledger by event key: nothing per contract
 *   is held. Kept are only the other entries (changes, cancellations, revocations: few), and
 *   the registrations that need a second look (revoked, with approved requests, or whose
 *   entry the merge did not meet).
 *
 * Measured on the embedded database (FerretDB 2.7 + DocumentDB, 2 cores, 1,000,000 contracts):
 * the driver's cursor spent ~6 µs of this process's CPU per document (an object and a parsed
 * element list each, and their garbage), the raw answers below ~0.5 µs; PostgreSQL spends
 * ~4.5 µs per document sent whatever the batch size, and sorts a whole collection more
 * cheaply than a range of it (a range filter is rechecked on every document). A server-side
 * `$group` of the sums (amounts split out of the encoded facts, summed as int64: exact) took
 * 11 s for what this reads and sums in about 7 s, and would not spare the join.
 */
import { BSON, Long, type ClientSession, type Db, type Document } from 'mongodb';
import type { Connection } from 'mongoose';
import { decodeFact, DIMENSIONS, emptyTally, type Dimension, type YearTally } from '../../domain/tally';
import { Registration } from '../registrations/registration.model';
import { TallyEntry } from './turnover.model';

/** Documents per batch (2,000 to 50,000 made no difference to FerretDB's pace): a couple of MB per stream in this process. */
const BATCH = 10_000;

// ── Sums of facts ──────────────────────────────────────────────────────────────────────

interface Amounts {
  count: number;
  contractFen: number;
  technicalFen: number;
}

/** The amounts of the fact last split by `splitFact` (two numbers rather than an object per entry). */
let splitContractFen = 0;
let splitTechnicalFen = 0;

/** The integer between `from` and `to` in `s` (what `Number(s.slice(from, to))` gives, without the substring). */
function intBetween(s: string, from: number, to: number): number {
  let i = from;
  const negative = s.charCodeAt(i) === 45; // '-'
  if (negative) i++;
  if (i >= to || to - i > 15) return Number(s.slice(from, to));
  let v = 0;
  for (; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number(s.slice(from, to));
    v = v * 10 + d;
  }
  return negative ? -v : v;
}

/**
 * An encoded fact (domain/tally encodeFact: "year|month|contractFen|technicalFen|type|…") as
 * its group key, the same without the two amounts; the amounts go to `splitContractFen` and
 * `splitTechnicalFen`.
 */
function splitFact(f: string): string {
  const p1 = f.indexOf('|');
  const p2 = p1 < 0 ? -1 : f.indexOf('|', p1 + 1);
  const p3 = p2 < 0 ? -1 : f.indexOf('|', p2 + 1);
  const p4 = p3 < 0 ? -1 : f.indexOf('|', p3 + 1);
  if (p4 < 0) throw new Error(`not a tally fact: ${f}`);
  splitContractFen = intBetween(f, p2 + 1, p3);
  splitTechnicalFen = intBetween(f, p3 + 1, p4);
  return f.slice(0, p2) + f.slice(p4);
}

/** Sums of ledger facts, kept per group of facts that differ only in their amounts. */
export class FactSums {
  private readonly groups = new Map<string, Amounts>();

  private bump(key: string, sign: number, contractFen: number, technicalFen: number): void {
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { count: 0, contractFen: 0, technicalFen: 0 }));
    g.count += sign;
    g.contractFen += sign * contractFen;
    g.technicalFen += sign * technicalFen;
  }

  /** A ledger entry: its fact with its sign, and a change's earlier fact with the opposite one (as applyPending adds it). */
  addEntry(sign: number, f: string, g?: string | null): void {
    this.bump(splitFact(f), sign, splitContractFen, splitTechnicalFen);
    if (g) this.bump(splitFact(g), -sign, splitContractFen, splitTechnicalFen);
  }

  /** Everything summed into one tally of `year` (as applyPending sums a year's entries). */
  toTally(year: number): YearTally {
    const t = emptyTally(year);
    for (const [key, g] of this.groups) addGroup(t, key, g);
    return t;
  }

  /** The sums per year of each fact. */
  toTallies(): Map<number, YearTally> {
    const out = new Map<number, YearTally>();
    for (const [key, g] of this.groups) {
      const year = Number(key.slice(0, key.indexOf('|')));
      let t = out.get(year);
      if (!t) out.set(year, (t = emptyTally(year)));
      addGroup(t, key, g);
    }
    return out;
  }
}

/**
 * Adds a group's count and sums to a tally where addInPlace would add each of its facts: the
 * same totals, and a breakdown key left at zero is dropped as there.
 */
function addGroup(t: YearTally, key: string, g: Amounts): void {
  if (g.count === 0 && g.contractFen === 0 && g.technicalFen === 0) return;
  const p2 = key.indexOf('|', key.indexOf('|') + 1);
  const f = decodeFact(`${key.slice(0, p2)}|0|0${key.slice(p2)}`); // validates it as decodeFact does any fact
  const add = (a: Amounts) => {
    a.count += g.count;
    a.contractFen += g.contractFen;
    a.technicalFen += g.technicalFen;
  };
  if (f.buyerInArea) add(t.buyerSide);
  if (!f.output) return;
  add(t.totals);
  const keys: Record<Dimension, string> = { month: f.month, ...f.keys };
  for (const d of DIMENSIONS) {
    const a = (t.by[d][keys[d]] ??= { count: 0, contractFen: 0, technicalFen: 0 });
    add(a);
    if (a.count === 0 && a.contractFen === 0 && a.technicalFen === 0) delete t.by[d][keys[d]];
  }
  if (f.large) add(t.large);
}

// ── Raw documents ──────────────────────────────────────────────────────────────────────

/** Where the value of a BSON element of `type` starting at `at` ends. */
function valueEnd(buf: Buffer, type: number, at: number): number {
  switch (type) {
    case 0x01: // double
    case 0x09: // date
    case 0x11: // timestamp
    case 0x12: // int64
      return at + 8;
    case 0x02: // string
    case 0x0d: // code
    case 0x0e: // symbol
      return at + 4 + buf.readInt32LE(at);
    case 0x03: // document
    case 0x04: // array
    case 0x0f: // code with scope
      return at + buf.readInt32LE(at);
    case 0x05: // binary
      return at + 5 + buf.readInt32LE(at);
    case 0x06: // undefined
    case 0x0a: // null
    case 0x7f: // max key
    case 0xff: // min key
      return at;
    case 0x07: // ObjectId
      return at + 12;
    case 0x08: // boolean
      return at + 1;
    case 0x0b: // regular expression: two C strings
      return buf.indexOf(0, buf.indexOf(0, at) + 1) + 1;
    case 0x0c: // DBPointer
      return at + 4 + buf.readInt32LE(at) + 12;
    case 0x10: // int32
      return at + 4;
    case 0x13: // decimal128
      return at + 16;
    default:
      throw new Error(`unexpected BSON type ${type}`);
  }
}

/** Where the C string (an element's name) starting at `at` ends: its closing zero. */
function nameEnd(buf: Buffer, at: number): number {
  return buf.indexOf(0, at);
}

/**
 * Reads chosen top-level fields of one BSON document inside a larger buffer (a batch as the
 * server sent it) into slots reused from one document to the next: no object per document,
 * no string per field name. A wanted field of a type other than string, number or date is
 * read by the driver's BSON for that document.
 */
class FieldReader {
  private readonly names: Buffer[];
  readonly strings: (string | undefined)[];
  /** NaN when absent or not a number. */
  readonly numbers: number[];
  readonly dates: boolean[];

  constructor(private readonly fieldNames: readonly string[]) {
    this.names = fieldNames.map((n) => Buffer.from(n, 'utf8'));
    this.strings = fieldNames.map(() => undefined);
    this.numbers = fieldNames.map(() => NaN);
    this.dates = fieldNames.map(() => false);
  }

  /** Which wanted field the name between `from` and `to` is, or -1. */
  private slot(buf: Buffer, from: number, to: number): number {
    next: for (let n = 0; n < this.names.length; n++) {
      const name = this.names[n];
      if (name.length !== to - from) continue;
      for (let k = 0; k < name.length; k++) if (buf[from + k] !== name[k]) continue next;
      return n;
    }
    return -1;
  }

  private clear(): void {
    this.strings.fill(undefined);
    this.numbers.fill(NaN);
    this.dates.fill(false);
  }

  /** Reads the document starting at `start` in `buf`. */
  read(buf: Buffer, start: number): this {
    this.clear();
    const end = start + buf.readInt32LE(start) - 1;
    let i = start + 4;
    while (i < end) {
      const type = buf[i];
      const nameStop = nameEnd(buf, i + 1);
      const n = this.slot(buf, i + 1, nameStop);
      const at = nameStop + 1;
      i = valueEnd(buf, type, at);
      if (n < 0) continue;
      if (type === 0x02) this.strings[n] = buf.toString('utf8', at + 4, i - 1);
      else if (type === 0x10) this.numbers[n] = buf.readInt32LE(at);
      else if (type === 0x01) this.numbers[n] = buf.readDoubleLE(at);
      else if (type === 0x12) this.numbers[n] = Number(buf.readBigInt64LE(at));
      else if (type === 0x09) this.dates[n] = true;
      else if (type !== 0x0a && type !== 0x06) return this.readSlowly(buf.subarray(start, end + 1));
    }
    return this;
  }

  private readSlowly(doc: Buffer): this {
    this.clear();
    const d = BSON.deserialize(doc);
    this.fieldNames.forEach((name, n) => {
      const v: unknown = d[name];
      if (typeof v === 'string') this.strings[n] = v;
      else if (v instanceof Date) this.dates[n] = true;
      else if (v != null && typeof v !== 'object') this.numbers[n] = Number(v);
      else if (v != null) this.numbers[n] = Number(String(v)); // Long, Decimal128
    });
    return this;
  }
}

/** A batch of documents as the server sent it: the bytes, and where each document starts in them. */
interface RawBatch {
  buf: Buffer;
  starts: number[];
}

/** The cursor id and the batch of a find or getMore answer (its `cursor` subdocument, as bytes). */
function readCursor(cursor: Buffer): { id: Long; batch: RawBatch } {
  let id = Long.ZERO;
  const starts: number[] = [];
  const end = cursor.readInt32LE(0) - 1;
  let i = 4;
  while (i < end) {
    const type = cursor[i];
    const nameStop = nameEnd(cursor, i + 1);
    const name = cursor.toString('latin1', i + 1, nameStop);
    const at = nameStop + 1;
    i = valueEnd(cursor, type, at);
    if (name === 'id') id = type === 0x12 ? new Long(cursor.readInt32LE(at), cursor.readInt32LE(at + 4)) : Long.fromNumber(type === 0x10 ? cursor.readInt32LE(at) : cursor.readDoubleLE(at));
    else if ((name === 'firstBatch' || name === 'nextBatch') && type === 0x04) {
      // An array: elements "0", "1", … each a document.
      const stop = i - 1;
      let k = at + 4;
      while (k < stop) {
        const docAt = nameEnd(cursor, k + 1) + 1;
        starts.push(docAt);
        k = valueEnd(cursor, cursor[k], docAt);
      }
    }
  }
  return { id, batch: { buf: cursor, starts } };
}

/** The `cursor` subdocument of a command's answer as bytes, whatever form the driver gave the answer in. */
function cursorBytes(answer: unknown): Buffer {
  const cursor = (answer as { cursor?: unknown }).cursor;
  if (Buffer.isBuffer(cursor)) return cursor;
  return Buffer.from(BSON.serialize(cursor as Document));
}

/**
 * A query read batch by batch as raw BSON straight from the find and getMore answers: the
 * driver's cursor would make an object (and parse every element) per document first, which
 * costs more than all the summing. The next batch is asked for before the current one is
 * handed out, so the database works while this process does. Its own session (a cursor's
 * getMore must come in the session its find came in).
 */
/** A model's connection and collection (what a raw cursor needs of it). */
interface Collected {
  db: Connection;
  collection: { collectionName: string };
}

class RawCursor {
  private readonly session: ClientSession;
  private readonly db: Db;
  private id = Long.ZERO;
  private pending: Promise<RawBatch | null>;

  private readonly collection: string;

  constructor(model: Collected, find: Document) {
    this.db = model.db.db!;
    this.collection = model.collection.collectionName;
    this.session = model.db.getClient().startSession({ causalConsistency: false });
    this.pending = this.ask({ find: this.collection, ...find, batchSize: BATCH });
  }

  private ask(command: Document): Promise<RawBatch | null> {
    const p = this.db.command(command, { session: this.session, raw: true }).then((answer) => {
      const { id, batch } = readCursor(cursorBytes(answer));
      this.id = id;
      return batch;
    });
    p.catch(() => undefined); // reported by next() or close(); not an unhandled rejection meanwhile
    return p;
  }

  /** The next batch (none empty), or null at the end. */
  async next(): Promise<RawBatch | null> {
    for (;;) {
      const batch = await this.pending;
      if (!batch) return null;
      this.pending = this.id.isZero() ? Promise.resolve(null) : this.ask({ getMore: this.id, collection: this.collection, batchSize: BATCH });
      if (batch.starts.length) return batch;
    }
  }

  /** Ends the cursor (if the server still holds it) and the session. */
  async close(): Promise<void> {
    await this.pending.catch(() => null);
    if (!this.id.isZero()) await this.db.command({ killCursors: this.collection, cursors: [this.id] }, { session: this.session }).catch(() => undefined);
    this.id = Long.ZERO;
    await this.session.endSession().catch(() => undefined);
  }
}

/** Reads `filter` in `model`'s collection with `options` (projection, sort), raw. */
const rawFind = (model: Collected, filter: Document, options: { projection: Document; sort?: Document }) => new RawCursor(model, { filter, ...options });

// ── The scan ───────────────────────────────────────────────────────────────────────────

const LEDGER_PROJECTION = { _id: 1, e: 1, s: 1, f: 1, g: 1 };
/** The slots of a ledger entry's fields in its reader. */
const [ID, E, S, F, G] = [0, 1, 2, 3, 4];
const ledgerReader = () => new FieldReader(['_id', 'e', 's', 'f', 'g']);

/** A ledger entry as the checks after the scan need it. */
export interface ScannedEntry {
  s: number;
  f: string;
  g: string | null;
}

export interface RegisterAndLedger {
  /** Registrations read. */
  contracts: number;
  /** Per ledger year (its `_id`), the sum of its entries numbered up to the sequence the year's tally had applied when the scan began. */
  ledger: Map<number, FactSums>;
  /** The years with a counting (not no-op) ledger entry. */
  years: Set<number>;
  /** The `registered:` entries of registrations not revoked, summed (their changes and cancellations are the caller's: see `followUps`). */
  fromRegistrations: FactSums;
  /** Registrations whose `registered:` entry the merge did not meet: missing, or recorded while the scan ran. */
  unmatched: { contractId: string; revoked: boolean }[];
  /** Registrations whose entry was met that need a second look: revoked, or with approved requests. */
  followUps: { contractId: string; revoked: boolean }[];
  /** The changes' and cancellations' entries, by event key. */
  requestEntries: Map<string, ScannedEntry>;
  /** The event keys of the revocations' entries. */
  revocations: Set<string>;
  /** Milliseconds from the start: until the register was read, until the ledger was; the whole scan, and the part of it spent working on what arrived (parsing, summing, merging) rather than waiting for the database. */
  timings: { registrationsMs: number; ledgerMs: number; scanMs: number; summingMs: number };
}

/** The year and sequence of the ledger `_id` last read ("2026-000000123"), set by `readId`. */
let idYear = 0;
let idSeq = 0;
const readId = (id: string): void => {
  idYear = intBetween(id, 0, 4);
  idSeq = intBetween(id, 5, id.length);
};

/**
 * Reads the register and the ledger once, side by side. `appliedFrom` is each year's applied
 * sequence as read before (entries numbered after it are the caller's to add, by
 * `addLedgerRange`); `hasRequests` says whether a contract has approved changes or cancellations.
 *
 * The ledger is read whole in event-key order: "cancelled:…", "changed:…" and "lost:…" come
 * before "registered:<contractId>" (in contract order, as the register is read) and
 * "revoked:…" after. (Sorting the whole collection costs the database less than sorting a
 * range of it: DocumentDB rechecks a range filter on every document it reads.)
 */
export async function scanRegisterAndLedger(appliedFrom: ReadonlyMap<number, number>, hasRequests: (contractId: string) => boolean): Promise<RegisterAndLedger> {
  const started = performance.now();
  let summingMs = 0;
  const ledger = new Map<number, FactSums>();
  const years = new Set<number>();
  const requestEntries = new Map<string, ScannedEntry>();
  const revocations = new Set<string>();
  const fromRegistrations = new FactSums();
  const unmatched: RegisterAndLedger['unmatched'] = [];
  const followUps: RegisterAndLedger['followUps'] = [];
  let contracts = 0;
  let registrationsMs = 0;
  let ledgerMs = 0;

  const regs = rawFind(Registration, {}, { projection: { _id: 0, contractId: 1, revokedAt: 1 }, sort: { contractId: 1 } });
  const entries = rawFind(TallyEntry, {}, { projection: LEDGER_PROJECTION, sort: { e: 1 } });
  // The current batch's `registered:` entries: event key, sign, fact, earlier fact; `at` the next to look at.
  let keys: string[] = [];
  let signs: number[] = [];
  let facts: string[] = [];
  let befores: (string | undefined)[] = [];
  let at = 0;
  let entriesDone = false;
  const r = ledgerReader();
  /**
   * The next batch of the ledger: every entry counted in its year's sums (if the year's tally
   * had applied it), the requests' and revocations' entries kept, the registrations' into the
   * arrays above; false at the end.
   */
  const nextEntries = async (): Promise<boolean> => {
    const batch = await entries.next();
    if (!batch) {
      entriesDone = true;
      ledgerMs = performance.now() - started;
      return false;
    }
    const t0 = performance.now();
    keys = [];
    signs = [];
    facts = [];
    befores = [];
    for (const start of batch.starts) {
      r.read(batch.buf, start);
      const e = r.strings[E] ?? '';
      const s = r.numbers[S] || 0;
      const f = r.strings[F] ?? '';
      const g = r.strings[G];
      if (s !== 0) {
        readId(r.strings[ID] ?? '');
        years.add(idYear);
        if (idSeq <= (appliedFrom.get(idYear) ?? 0)) {
          let sums = ledger.get(idYear);
          if (!sums) ledger.set(idYear, (sums = new FactSums()));
          sums.addEntry(s, f, g);
        }
      }
      if (e.startsWith('registered:')) {
        keys.push(e);
        signs.push(s);
        facts.push(f);
        befores.push(g);
      } else if (e.startsWith('revoked:')) revocations.add(e);
      else if (e.startsWith('changed:') || e.startsWith('cancelled:')) requestEntries.set(e, { s, f, g: g ?? null });
    }
    at = 0;
    summingMs += performance.now() - t0;
    return true;
  };

  const reg = new FieldReader(['contractId', 'revokedAt']);
  try {
    await nextEntries();
    for (let batch = await regs.next(); batch; batch = await regs.next()) {
      const { buf, starts } = batch;
      let k = 0;
      while (k < starts.length) {
        const t0 = performance.now();
        for (; k < starts.length; k++) {
          reg.read(buf, starts[k]);
          const contractId = reg.strings[0] ?? '';
          const revoked = reg.dates[1];
          const key = `registered:${contractId}`;
          // Entries before this contract's have no registration (or an order not shared with this merge): passed.
          while (at < keys.length && keys[at] < key) at++;
          if (at === keys.length && !entriesDone) break; // the next batch of entries first
          contracts++;
          if (at === keys.length || keys[at] !== key) {
            unmatched.push({ contractId, revoked });
            continue;
          }
          if (!revoked) fromRegistrations.addEntry(signs[at], facts[at], befores[at]);
          at++;
          if (revoked || hasRequests(contractId)) followUps.push({ contractId, revoked });
        }
        summingMs += performance.now() - t0;
        if (k < starts.length) await nextEntries();
      }
    }
    registrationsMs = performance.now() - started;
    // The rest of the ledger (entries after the last registration's, the revocations) still counts.
    while (!entriesDone) await nextEntries();
  } finally {
    await Promise.all([regs.close(), entries.close()]);
  }
  return {
    contracts,
    ledger,
    years,
    fromRegistrations,
    unmatched,
    followUps,
    requestEntries,
    revocations,
    timings: {
      registrationsMs: Math.round(registrationsMs),
      ledgerMs: Math.round(ledgerMs),
      scanMs: Math.round(performance.now() - started),
      summingMs: Math.round(summingMs),
    },
  };
}

/** Adds the ledger entries with `_id` in (`afterId`, `upToId`] to `sums` (streamed). */
export async function addLedgerRange(sums: FactSums, afterId: string, upToId: string): Promise<void> {
  // Sorted: DocumentDB pages an unsorted range query by reading it again from its start.
  const stream = rawFind(TallyEntry, { _id: { $gt: afterId, $lte: upToId } }, { projection: LEDGER_PROJECTION, sort: { _id: 1 } });
  const r = ledgerReader();
  try {
    for (let batch = await stream.next(); batch; batch = await stream.next()) {
      for (const start of batch.starts) {
        r.read(batch.buf, start);
        const s = r.numbers[S];
        if (s) sums.addEntry(s, r.strings[F] ?? '', r.strings[G]);
      }
    }
  } finally {
    await stream.close();
  }
}
