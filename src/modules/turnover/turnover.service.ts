/**
 * Exact turnover tallies: the ledger of registrations and revocations, the per-year tallies
 * applied from it exactly once, the public turnover payload, and reconciliation against the
 * registered contracts.
 */
import type { Redis } from 'ioredis';
import { addInPlace, decodeFact, diffTallies, emptyTally, encodeFact, factOf, type TallyFact, type YearTally } from '../../domain/tally';
import { formatYuan } from '../../domain/money';
import { cstIso, cstYear } from '../../domain/time';
import { keyOf, lastNumber, takeBlock, takeNumber } from '../../lib/counters';
import { isDuplicateKey } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { enqueue, type Queues } from '../../lib/queues';
import { Contract, type ContractDoc } from '../contracts/contract.model';
import { RegistrationRequest, type RequestDoc } from '../contracts/request.model';
import { addLedgerRange, FactSums, scanRegisterAndLedger } from './reconcile';
import { ReconciliationRun, TallyEntry, YearTallyDoc } from './turnover.model';

export const tallyId = (year: number) => `turnover-${year}`;
const entryId = (year: number, seq: number) => `${year}-${String(seq).padStart(9, '0')}`;
const ledgerCounterId = (year: number) => `ledger:${year}`;

const seqOf = (entryKey: string) => Number(entryKey.slice(5));
const yearOf = (entryKey: string) => Number(entryKey.slice(0, 4));

/** How long a taken ledger number may stay without its entry before it counts as lost (its taker died). */
export const LOST_ENTRY_AFTER_MS = 30_000;

async function highestLedgerSeq(year: number): Promise<number> {
  const top = await TallyEntry.findOne({ _id: { $gte: entryId(year, 0), $lte: entryId(year, 999_999_999) } }).sort({ _id: -1 }).select({ _id: 1 }).lean();
  return top ? seqOf(top._id) : 0;
}

/**
 * Records one ledger event, once (its key is unique): the entry takes the next sequence number
 * of its year. A number whose taker died before writing the entry is filled with a no-op by
 * the applier after a while (see `applyPending`); a recorder that comes back late then finds
 * its slot taken and records under a fresh number.
 */
async function recordOnce(eventKey: string, sign: 1 | -1, fact: TallyFact, knownAbsent = false, before?: TallyFact): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    if (!(attempt === 0 && knownAbsent) && (await TallyEntry.exists({ e: eventKey }))) return;
    const numberKey = attempt === 0 ? eventKey : `${eventKey}#${attempt}`;
    const seq = await takeNumber(ledgerCounterId(fact.year), numberKey, () => highestLedgerSeq(fact.year));
    try {
      await TallyEntry.create({ _id: entryId(fact.year, seq), e: eventKey, s: sign, f: encodeFact(fact), ...(before ? { g: encodeFact(before) } : {}) });
      return;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Either this event is recorded already (the loop's check returns), or the slot was filled as lost.
    }
  }
  throw new Error(`ledger entry ${eventKey} could not be recorded`);
}

/** The fact a registration recorded. */
async function recordedFact(contractId: string): Promise<TallyFact | null> {
  const entry = await TallyEntry.findOne({ e: `registered:${contractId}` }).select({ f: 1 }).lean();
  return entry ? decodeFact(entry.f) : null;
}

/**
 * Records a registration (adds its amounts to its CST registration year) or a revocation:
 * the registration was void, so everything it counted is taken back where it counted, the
 * registration in its year and each approved change in the change's year. Idempotent per
 * contract and kind. Returns the years whose tallies moved.
 */
export async function recordTallyEvent(kind: 'registered' | 'revoked', c: ContractDoc, agencyCode: string, { firstRun = false } = {}): Promise<number[]> {
  const id = String(c._id);
  if (!c.registeredAt) throw new Error(`contract ${id} has no registration time`);
  // A registration just won cannot have been recorded yet (`firstRun`): no look-up.
  let fact = firstRun && kind === 'registered' ? null : await recordedFact(id);
  if (!fact) {
    fact = factOf({ ...c, registeredAt: new Date(c.registeredAt) }, agencyCode);
    await recordOnce(`registered:${id}`, 1, fact, true); // just looked it up: absent
  }
  if (kind === 'registered') return [fact.year];
  const years = new Set([fact.year]);
  await recordOnce(`revoked:${id}`, -1, fact);
  for (const r of await appliedChanges(c)) {
    const { inFact, outFact } = requestFacts(r);
    await recordRequestEntry(r); // a change carried out just before the revocation may lack its entry still
    await recordOnce(`revoked:${id}:${r._id}`, -1, inFact!, false, outFact);
    years.add(inFact!.year);
  }
  return [...years];
}

/** The approved changes carried out on a contract, in order. */
async function appliedChanges(c: Pick<ContractDoc, 'appliedRequests'>): Promise<RequestDoc[]> {
  const ids = c.appliedRequests ?? [];
  if (!ids.length) return [];
  const found = (await RegistrationRequest.find({ _id: { $in: ids }, kind: 'change' }).select({ kind: 1, applied: 1 }).lean()) as RequestDoc[];
  const order = new Map(ids.map((rid, i) => [String(rid), i]));
  return found.sort((a, b) => order.get(String(a._id))! - order.get(String(b._id))!);
}

/** The facts an approved request fixed at its approval (in the year and month it was registered). */
function requestFacts(r: Pick<RequestDoc, '_id' | 'kind' | 'applied'>): { outFact: TallyFact; inFact: TallyFact | null } {
  if (!r.applied?.outFact) throw new Error(`request ${r._id} has no approval to count`);
  return { outFact: decodeFact(r.applied.outFact), inFact: r.applied.inFact ? decodeFact(r.applied.inFact) : null };
}

/**
 * Records an approved change (one entry that takes the old fact out and puts the new one in,
 * in the year the change is registered: the difference, and nothing else, moves) or an
 * approved cancellation (the contract's current amounts leave the year it is registered in).
 * Idempotent per request. Returns the year.
 */
export async function recordRequestEntry(r: Pick<RequestDoc, '_id' | 'kind' | 'applied'>): Promise<number> {
  const { outFact, inFact } = requestFacts(r);
  if (r.kind === 'change') await recordOnce(`changed:${r._id}`, 1, inFact!, false, outFact);
  else await recordOnce(`cancelled:${r._id}`, -1, outFact);
  return outFact.year;
}

/**
 * Records registrations an import brought in (modules/imports): one `registered:<contractId>`
 * entry each, marked `o: 'import'`, in `year` (the year of every fact), like the entry a
 * decision records, so revocation and reconciliation treat them alike. The batch takes one block
 * of ledger numbers (lib/counters takeBlock: one `$inc`, the same block when `blockKey` asks
 * again) and inserts its entries in bulk. Idempotent for the same items: an entry recorded
 * already stays as it is; a number of the block whose item was recorded elsewhere is filled
 * with a no-op at once (appliers need not wait for it); an item whose number was filled as lost
 * meanwhile (its taker seemed dead) is recorded again under a fresh block.
 */
export async function recordImportedRegistrations(year: number, items: { contractId: string; fact: TallyFact }[], blockKey: string): Promise<void> {
  let todo = items;
  for (let attempt = 0; todo.length && attempt < 5; attempt++) {
    const keyOfItem = (i: { contractId: string }) => `registered:${i.contractId}`;
    const recorded = async (list: typeof items) =>
      new Set((await TallyEntry.find({ e: { $in: list.map(keyOfItem) } }).select({ e: 1 }).lean()).map((e) => e.e));
    const before = await recorded(todo);
    if (todo.every((i) => before.has(keyOfItem(i)))) return;
    const key = `${blockKey}:${todo.length}${attempt ? `#${attempt}` : ''}`;
    const first = await takeBlock(ledgerCounterId(year), key, todo.length, () => highestLedgerSeq(year));
    const docs = todo.map((i, n) => ({ _id: entryId(year, first + n), e: keyOfItem(i), s: 1, f: encodeFact(i.fact), o: 'import' }));
    await TallyEntry.collection.insertMany(docs as never[], { ordered: false }).catch((err) => {
      if (!allDuplicates(err)) throw err;
    });
    // Each number of the block now holds its item, or another entry (a lost-number filler), or nothing.
    const held = new Map((await TallyEntry.find({ _id: { $in: docs.map((d) => d._id) } }).select({ e: 1 }).lean()).map((e) => [e._id, e.e]));
    const after = await recorded(todo);
    const empty = docs.filter((d) => !held.has(d._id) && after.has(d.e));
    if (empty.length) {
      await TallyEntry.collection.insertMany(empty.map((d) => ({ _id: d._id, e: `lost:${d._id}`, s: 0, f: '' })) as never[], { ordered: false }).catch((err) => {
        if (!allDuplicates(err)) throw err;
      });
    }
    todo = todo.filter((i) => !after.has(keyOfItem(i)));
  }
  if (todo.length) throw new Error(`ledger: ${todo.length} imported registrations of ${year} could not be recorded`);
}

/** A bulk insert's error that only says some documents were there already. */
const allDuplicates = (err: unknown): boolean => {
  const writeErrors = (err as { writeErrors?: { code?: number; err?: { code?: number } }[] } | null)?.writeErrors;
  return Array.isArray(writeErrors) && writeErrors.length > 0 && writeErrors.every((w) => (w.code ?? w.err?.code) === 11000);
};

interface StoredTally {
  _id: string;
  year: number;
  appliedSeq: number;
  tally: YearTally;
  updatedAt: Date;
}

async function loadTallyDoc(year: number): Promise<StoredTally> {
  const found = (await YearTallyDoc.findById(tallyId(year)).lean()) as StoredTally | null;
  if (found) return found;
  try {
    await YearTallyDoc.create({ _id: tallyId(year), year, appliedSeq: 0, tally: emptyTally(year), updatedAt: new Date() });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  return (await YearTallyDoc.findById(tallyId(year)).lean()) as StoredTally;
}

/** A tally's numbers as `$inc` paths ("tally.by.type.transfer.contractFen": 100000). */
function incrementsOf(delta: YearTally): Record<string, number> {
  const inc: Record<string, number> = {};
  const walk = (value: unknown, path: string) => {
    if (typeof value === 'number') {
      if (value !== 0) inc[path] = value;
    } else if (value && typeof value === 'object') {
      // Keys are codes; a dot or dollar would change the path's meaning.
      for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k.replace(/[.$]/g, '_')}`);
    }
  };
  walk({ totals: delta.totals, by: delta.by, large: delta.large, buyerSide: delta.buyerSide }, 'tally');
  return inc;
}

/** Adds a ledger entry to a running tally: its fact with its sign, and a change's earlier fact with the opposite one. */
function addEntry(t: YearTally, e: { s: number; f: string; g?: string | null }): void {
  const sign = e.s as 1 | -1;
  addInPlace(t, decodeFact(e.f), sign);
  if (e.g) addInPlace(t, decodeFact(e.g), sign === 1 ? -1 : 1);
}

/** Fills the ledger number after `appliedSeq` with a no-op if its taker plainly died; true if it did. */
async function fillLostEntry(year: number, seq: number, lostAfterMs: number): Promise<boolean> {
  if ((await lastNumber(ledgerCounterId(year))) < seq) return false; // nothing taken yet: no hole
  const taken = await keyOf(ledgerCounterId(year), seq);
  if (taken && Date.now() - new Date(taken.at).getTime() < lostAfterMs) return false; // still being written
  try {
    await TallyEntry.create({ _id: entryId(year, seq), e: `lost:${entryId(year, seq)}`, s: 0, f: '' });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err; // the entry arrived after all
  }
  return true;
}

/**
 * Applies the ledger entries a year's tally has not applied yet, in sequence order, as one
 * `$inc` conditional on the sequence applied so far: each entry counts exactly once however
 * many appliers run at once or how often a job is repeated. Safe to run any number of times.
 */
export async function applyPending(year: number, lostAfterMs = LOST_ENTRY_AFTER_MS): Promise<{ applied: number; tally: YearTally; updatedAt: Date; sequence: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const doc = await loadTallyDoc(year);
    const from = doc.appliedSeq;
    const entries = await TallyEntry.find({ _id: { $gt: entryId(year, from), $lte: entryId(year, from + 1000) } })
      .sort({ _id: 1 })
      .lean();
    const delta = emptyTally(year);
    let seq = from;
    for (const e of entries) {
      if (seqOf(e._id) !== seq + 1) break; // a number taken but not yet written: stop before it
      if (e.s !== 0) addEntry(delta, e);
      seq += 1;
    }
    if (seq === from) {
      if (await fillLostEntry(year, from + 1, lostAfterMs)) continue;
      return { applied: 0, tally: doc.tally, updatedAt: doc.updatedAt, sequence: doc.appliedSeq };
    }
    const updatedAt = new Date();
    const after = (await YearTallyDoc.findOneAndUpdate(
      { _id: doc._id, appliedSeq: from },
      { $inc: incrementsOf(delta), $set: { appliedSeq: seq, updatedAt } },
      { returnDocument: 'after' },
    ).lean()) as StoredTally | null;
    if (after) {
      if (entries.length > seq - from) continue; // more after a hole or beyond this batch
      return { applied: seq - from, tally: after.tally, updatedAt: after.updatedAt, sequence: after.appliedSeq };
    }
    // Another applier moved first: read again.
  }
  throw new Error(`tally ${year}: too many concurrent appliers`);
}

export async function getTally(year: number): Promise<{ tally: YearTally; updatedAt: Date | null; sequence: number }> {
  const doc = (await YearTallyDoc.findById(tallyId(year)).lean()) as StoredTally | null;
  return doc ? { tally: doc.tally, updatedAt: doc.updatedAt, sequence: doc.appliedSeq } : { tally: emptyTally(year), updatedAt: null, sequence: 0 };
}

// ── The public figure ──────────────────────────────────────────────────────────────────

export interface TurnoverPayload {
  year: number;
  target: string;
  contractAmount: string;
  technicalAmount: string;
  contracts: number;
  progress: number;
  updatedAt: string | null;
  /** How many ledger entries the figure includes: a figure with a lower one is older. */
  sequence: number;
  largeContracts: { contracts: number; contractAmount: string };
  buyerSide: { contracts: number; contractAmount: string; technicalAmount: string };
  byMonth: { month: string; contracts: number; contractAmount: string }[];
  byType: Record<string, { contracts: number; contractAmount: string }>;
  byField: Record<string, { contracts: number; contractAmount: string }>;
}

export function turnoverPayload(t: YearTally, targetFen: number, updatedAt: Date | null, sequence: number): TurnoverPayload {
  const small = (rec: Record<string, { count: number; contractFen: number }>) =>
    Object.fromEntries(
      Object.entries(rec)
        // `$inc` leaves a key at zero once everything in it was revoked: not a category to show.
        .filter(([, v]) => v.count !== 0 || v.contractFen !== 0)
        .map(([k, v]) => [k, { contracts: v.count, contractAmount: formatYuan(v.contractFen) }]),
    );
  return {
    year: t.year,
    target: formatYuan(targetFen),
    contractAmount: formatYuan(t.totals.contractFen),
    technicalAmount: formatYuan(t.totals.technicalFen),
    contracts: t.totals.count,
    // A plain ratio for display; the amounts themselves stay exact strings.
    progress: Math.round((t.totals.contractFen / targetFen) * 1e6) / 1e6,
    updatedAt: updatedAt ? cstIso(updatedAt) : null,
    sequence,
    largeContracts: { contracts: t.large.count, contractAmount: formatYuan(t.large.contractFen) },
    buyerSide: { contracts: t.buyerSide.count, contractAmount: formatYuan(t.buyerSide.contractFen), technicalAmount: formatYuan(t.buyerSide.technicalFen) },
    byMonth: Array.from({ length: 12 }, (_, i) => {
      const m = String(i + 1).padStart(2, '0');
      const v = t.by.month[m];
      return { month: m, contracts: v?.count ?? 0, contractAmount: formatYuan(v?.contractFen ?? 0) };
    }),
    byType: small(t.by.type),
    byField: small(t.by.field),
  };
}

// ── Live figures in Redis ──────────────────────────────────────────────────────────────

export const turnoverKey = (prefix: string, year: number) => `${prefix}:turnover:${year}`;
export const turnoverChannel = (prefix: string) => `${prefix}:turnover`;

/** Stores the year's public figure in Redis (what every web process serves) and announces it. */
// Stores and announces a figure unless the one stored is newer (two refreshes of a year can
// finish in either order); an equal sequence goes out (a reconciliation's correction).
const PUBLISH_IF_NOT_OLDER = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == 'table' and tonumber(stored.sequence or 0) > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', KEYS[2], ARGV[1])
return 1`;

/** Stores the year's figure in Redis and announces it, unless a newer one is already there. */
export async function publishTurnover(redis: Redis, prefix: string, payload: TurnoverPayload): Promise<boolean> {
  const json = JSON.stringify(payload);
  return (await redis.eval(PUBLISH_IF_NOT_OLDER, 2, turnoverKey(prefix, payload.year), turnoverChannel(prefix), json, String(payload.sequence))) === 1;
}

export interface TallyDeps {
  queues: Queues | null;
  logger: Logger;
  redis?: Redis;
  prefix: string;
  agencyCode: string;
  targetFen: number;
}

/**
 * After a registration or revocation: record the ledger entry (the durable part, awaited), then
 * bring the tally and the live figure up to date at once, beside the response rather than
 * before it (the decision's answer does not wait for the fan-out), with a queued job behind it
 * in case this process stops here. Both paths are idempotent.
 */
export async function tallyAfterDecision(deps: TallyDeps, kind: 'registered' | 'revoked', c: ContractDoc, opts: { firstRun?: boolean } = {}): Promise<void> {
  const years = await recordTallyEvent(kind, c, deps.agencyCode, opts);
  await refreshAfter(deps, years, `tally-${kind}-${c._id}`);
}

/** The same after an approved change or cancellation. */
export async function tallyAfterRequest(deps: TallyDeps, r: Pick<RequestDoc, '_id' | 'kind' | 'applied'>): Promise<void> {
  const year = await recordRequestEntry(r);
  await refreshAfter(deps, [year], `tally-${r.kind}-${r._id}`);
}

async function refreshAfter(deps: TallyDeps, years: number[], jobKey: string): Promise<void> {
  for (const year of years) {
    if (deps.queues) {
      try {
        await enqueue(deps.queues, 'turnover', 'apply', { year }, years.length === 1 ? jobKey : `${jobKey}-${year}`);
      } catch (err) {
        deps.logger.warn({ year, err: (err as Error).message }, 'tally job not enqueued; reconciliation will catch up');
      }
    }
    if (deps.redis) void refreshBeside(deps, year);
  }
}

/**
 * The refreshes started beside decisions, per year: at most one running and one waiting in
 * this process. A decision arriving while one runs (which may have read the ledger before the
 * decision's entry) joins the waiting one, which starts after it and so sees that entry. A
 * burst of decisions costs two refreshes instead of one each, every one of which re-read the
 * tally and up to 1,000 ledger entries and raced the others to apply them.
 */
const refreshes = new Map<number, { running: Promise<void>; next: Promise<void> | null }>();

function refreshBeside(deps: TallyDeps, year: number): Promise<void> {
  const slot = refreshes.get(year);
  if (!slot) return startRefresh(deps, year);
  slot.next ??= slot.running.then(() => startRefresh(deps, year));
  return slot.next;
}

function startRefresh(deps: TallyDeps, year: number): Promise<void> {
  const slot: { running: Promise<void>; next: Promise<void> | null } = { running: Promise.resolve(), next: null };
  slot.running = refreshYear(deps, year)
    .then(
      () => undefined,
      (err: Error) => deps.logger.warn({ year, err: err.message }, 'turnover not refreshed at once; the queued job will'),
    )
    .finally(() => {
      if (refreshes.get(year) === slot) refreshes.delete(year);
    });
  refreshes.set(year, slot);
  return slot.running;
}

/** Resolves once the refreshes started beside decisions so far, and those waiting behind them, have finished (shutdown waits for them). */
export async function refreshesSettled(): Promise<void> {
  while (refreshes.size > 0) await Promise.allSettled([...refreshes.values()].map((s) => s.next ?? s.running));
}

/** Applies pending entries and publishes the year's figure. */
export async function refreshYear(deps: Pick<TallyDeps, 'redis' | 'prefix' | 'targetFen'>, year: number): Promise<TurnoverPayload> {
  const { tally, updatedAt, sequence } = await applyPending(year);
  const payload = turnoverPayload(tally, deps.targetFen, updatedAt, sequence);
  if (deps.redis) await publishTurnover(deps.redis, deps.prefix, payload);
  return payload;
}

// ── Reconciliation ─────────────────────────────────────────────────────────────────────

/**
 * Recomputes every year's tally and corrects any difference, recording what it found. It
 * reads the register of registration numbers (one small document per registered contract,
 * with its revocation), the approved changes and cancellations, and the ledger, each once and
 * side by side, streamed and summed as they arrive (./reconcile: the memory it takes does not
 * grow with the number of contracts):
 * - every registration, change and cancellation must have its ledger entry, and every
 *   revocation its reversing entries (a crash between a decision and its entry leaves one
 *   missing): missing ones are added;
 * - each year's stored tally must equal the sum of the ledger entries it has applied: a
 *   damaged one is replaced by that sum, computed for the very sequence it has applied (so a
 *   registration arriving meanwhile is neither lost nor counted twice);
 * - the result is checked against the registrations, changes and cancellations themselves.
 */
export async function reconcile(deps: Pick<TallyDeps, 'redis' | 'prefix' | 'targetFen' | 'agencyCode'>, trigger: string, actorEmail: string | null = null) {
  const started = new Date();
  const t0 = performance.now();
  const [stored, requests] = await Promise.all([
    // Each year's applied sequence before the scan: the scan sums every year's entries up to it.
    YearTallyDoc.find().select({ year: 1, appliedSeq: 1 }).lean() as Promise<{ year: number; appliedSeq?: number }[]>,
    // Approved changes and cancellations whose follow-up is done (one still being carried out is the sweeper's).
    RegistrationRequest.find({ status: 'registered', pendingEffects: null }).select({ contractId: 1, kind: 1, applied: 1 }).lean() as Promise<RequestDoc[]>,
  ]);
  const requestsOf = new Map<string, RequestDoc[]>();
  for (const r of requests) {
    const list = requestsOf.get(String(r.contractId)) ?? [];
    list.push(r);
    requestsOf.set(String(r.contractId), list);
  }
  const requestKey = (r: RequestDoc) => (r.kind === 'change' ? `changed:${r._id}` : `cancelled:${r._id}`);
  const appliedFrom = new Map(stored.map((d) => [d.year, d.appliedSeq ?? 0]));
  const scan = await scanRegisterAndLedger(appliedFrom, (contractId) => requestsOf.has(contractId));

  // What the registrations and their changes and cancellations add up to, per year, with the
  // facts they recorded; a revoked registration adds nothing anywhere. The scan summed the
  // registrations' own entries; their requests' entries are added here.
  const fromRegistrations = scan.fromRegistrations;
  // Every event must have its entry (a crash between an event and its entry leaves one missing).
  const fixStarted = performance.now();
  const lacking: { contractId: string; revoked: boolean; keys: string[] }[] = [];
  const check = (contractId: string, revoked: boolean, registeredMet: boolean) => {
    const own = requestsOf.get(contractId) ?? [];
    const keys = registeredMet ? [] : [`registered:${contractId}`];
    for (const q of own) {
      const e = scan.requestEntries.get(requestKey(q));
      if (!e) keys.push(requestKey(q));
      else if (!revoked) fromRegistrations.addEntry(e.s, e.f, e.g);
    }
    if (revoked) {
      const reversals = [`revoked:${contractId}`, ...own.filter((q) => q.kind === 'change').map((q) => `revoked:${contractId}:${q._id}`)];
      keys.push(...reversals.filter((k) => !scan.revocations.has(k)));
    }
    if (keys.length) lacking.push({ contractId, revoked, keys });
  };
  for (const r of scan.unmatched) check(r.contractId, r.revoked, false);
  for (const r of scan.followUps) check(r.contractId, r.revoked, true);
  // An entry recorded while the scan ran (a decision meanwhile), or one the merge could not
  // meet, is there after all: it counts like the others and is not missing.
  const entriesOf = async (keys: string[]) => {
    const found = new Map<string, { _id: string; s: number; f: string; g?: string | null }>();
    for (let i = 0; i < keys.length; i += 1000) {
      for (const e of await TallyEntry.find({ e: { $in: keys.slice(i, i + 1000) } }).select({ e: 1, s: 1, f: 1, g: 1 }).lean()) found.set(e.e, e);
    }
    return found;
  };
  const countFor = (revoked: boolean, key: string, e: { s: number; f: string; g?: string | null }) => {
    if (!revoked && !key.startsWith('revoked:') && e.s !== 0) fromRegistrations.addEntry(e.s, e.f, e.g);
  };
  const there = await entriesOf(lacking.flatMap((l) => l.keys));
  let missingEntries = 0;
  const recordedYears = new Set<number>();
  for (const l of lacking) {
    for (const key of l.keys) if (there.has(key)) countFor(l.revoked, key, there.get(key)!);
    const keys = l.keys.filter((k) => !there.has(k));
    if (!keys.length) continue;
    const c = (await Contract.findById(l.contractId).lean()) as ContractDoc | null;
    if (!c?.registeredAt) continue;
    missingEntries += keys.length;
    if (keys.includes(`registered:${l.contractId}`)) {
      await recordOnce(`registered:${l.contractId}`, 1, factOf({ ...c, registeredAt: new Date(c.registeredAt) }, deps.agencyCode));
    }
    for (const q of requestsOf.get(l.contractId) ?? []) if (keys.includes(requestKey(q))) await recordRequestEntry(q);
    if (l.revoked) await recordTallyEvent('revoked', c, deps.agencyCode);
    for (const [key, e] of await entriesOf(keys)) {
      countFor(l.revoked, key, e);
      if (e.s === 0) continue;
      const year = yearOf(e._id);
      recordedYears.add(year);
      // Recorded under the number first taken for it (lib/counters gives an event its number again),
      // which the tally may have applied already (the entry was lost after it was applied): then it
      // belongs in the sum up to that number, which the scan made without it.
      if (seqOf(e._id) <= (appliedFrom.get(year) ?? 0)) {
        const sums = scan.ledger.get(year) ?? scan.ledger.set(year, new FactSums()).get(year)!;
        sums.addEntry(e.s, e.f, e.g);
      }
    }
  }
  const fixMs = performance.now() - fixStarted;

  const checkStarted = performance.now();
  const expected = fromRegistrations.toTallies();
  const years = [...new Set([...scan.years, ...recordedYears, ...stored.map((d) => d.year), ...expected.keys()])].sort((a, b) => a - b);
  const corrected: { year: number; differences: string[] }[] = [];
  const unresolved: { year: number; differences: string[] }[] = [];
  for (const year of years) {
    // The sum of the year's entries up to the sequence its tally had applied before the scan,
    // brought up to the sequence it has applied now (entries applied since: a decision meanwhile,
    // or an entry this run added).
    let sums = scan.ledger.get(year) ?? new FactSums();
    let covered = appliedFrom.get(year) ?? 0;
    for (let attempt = 0; attempt < 20; attempt++) {
      const doc = await loadTallyDoc(year);
      if (doc.appliedSeq < covered) {
        // The tally was made afresh meanwhile: sum its entries afresh.
        sums = new FactSums();
        covered = 0;
      }
      if (doc.appliedSeq > covered) {
        await addLedgerRange(sums, entryId(year, covered), entryId(year, doc.appliedSeq));
        covered = doc.appliedSeq;
      }
      const sum = sums.toTally(year);
      const differences = diffTallies(doc.tally, sum);
      if (!differences.length) break;
      // Replaced only if no entry was applied meanwhile (the sum is for this very sequence).
      if ((await YearTallyDoc.updateOne({ _id: doc._id, appliedSeq: doc.appliedSeq }, { $set: { tally: sum, updatedAt: new Date() } })).modifiedCount === 1) {
        corrected.push({ year, differences });
        break;
      }
    }
    await applyPending(year);
    const { tally, updatedAt, sequence } = await getTally(year);
    const againstRegistrations = diffTallies(tally, expected.get(year) ?? emptyTally(year));
    // A registration still being carried out can show here for a moment: report, do not force.
    if (againstRegistrations.length) unresolved.push({ year, differences: againstRegistrations });
    if (deps.redis) await publishTurnover(deps.redis, deps.prefix, turnoverPayload(tally, deps.targetFen, updatedAt, sequence));
  }
  const finishedAt = new Date();
  const run = await ReconciliationRun.create({
    at: started,
    finishedAt,
    ms: finishedAt.getTime() - started.getTime(),
    trigger,
    actorEmail,
    contracts: scan.contracts,
    years,
    missingEntries,
    corrected,
    unresolved,
    timings: {
      ...scan.timings,
      missingMs: Math.round(fixMs),
      yearsMs: Math.round(performance.now() - checkStarted),
      totalMs: Math.round(performance.now() - t0),
    },
  });
  return run.toObject();
}

export async function lastReconciliation() {
  return ReconciliationRun.findOne().sort({ at: -1 }).lean();
}

export const currentYear = () => cstYear(new Date());
