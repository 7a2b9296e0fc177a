/**
 * Exact turnover tallies: the ledger of registrations and revocations, the per-year tallies
 * applied from it exactly once, the public turnover payload, and reconciliation against the
 * registered contracts.
 */
import type { Redis } from 'ioredis';
import { addInPlace, decodeFact, diffTallies, emptyTally, encodeFact, factOf, type TallyFact, type YearTally } from '../../domain/tally';
import { formatYuan } from '../../domain/money';
import { cstIso, cstYear } from '../../domain/time';
import { keyOf, lastNumber, takeNumber } from '../../lib/counters';
import { isDuplicateKey } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { enqueue, type Queues } from '../../lib/queues';
import { Contract, type ContractDoc } from '../contracts/contract.model';
import { Registration } from '../registrations/registration.model';
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
async function recordOnce(eventKey: string, sign: 1 | -1, fact: TallyFact, knownAbsent = false): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    if (!(attempt === 0 && knownAbsent) && (await TallyEntry.exists({ e: eventKey }))) return;
    const numberKey = attempt === 0 ? eventKey : `${eventKey}#${attempt}`;
    const seq = await takeNumber(ledgerCounterId(fact.year), numberKey, () => highestLedgerSeq(fact.year));
    try {
      await TallyEntry.create({ _id: entryId(fact.year, seq), e: eventKey, s: sign, f: encodeFact(fact) });
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
 * Records a registration (adds its amounts to its CST registration year) or a revocation
 * (takes back exactly what the registration added). Idempotent per contract and kind.
 */
export async function recordTallyEvent(kind: 'registered' | 'revoked', c: ContractDoc, agencyCode: string, { firstRun = false } = {}): Promise<number> {
  const id = String(c._id);
  if (!c.registeredAt) throw new Error(`contract ${id} has no registration time`);
  // A registration just won cannot have been recorded yet (`firstRun`): no look-up.
  let fact = firstRun && kind === 'registered' ? null : await recordedFact(id);
  if (!fact) {
    fact = factOf({ ...c, registeredAt: new Date(c.registeredAt) }, agencyCode);
    await recordOnce(`registered:${id}`, 1, fact, true); // just looked it up: absent
  }
  if (kind === 'revoked') await recordOnce(`revoked:${id}`, -1, fact);
  return fact.year;
}

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
      if (e.s !== 0) addInPlace(delta, decodeFact(e.f), e.s as 1 | -1);
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
  const year = await recordTallyEvent(kind, c, deps.agencyCode, opts);
  if (deps.queues) {
    try {
      await enqueue(deps.queues, 'turnover', 'apply', { year }, `tally-${kind}-${c._id}`);
    } catch (err) {
      deps.logger.warn({ year, err: (err as Error).message }, 'tally job not enqueued; reconciliation will catch up');
    }
  }
  if (deps.redis) void refreshBeside(deps, year);
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
 * with its revocation) and the ledger, each once and side by side:
 * - every registration must have its ledger entry, and every revocation its reversing entry
 *   (a crash between a decision and its entry leaves one missing): missing ones are added;
 * - each year's stored tally must equal the sum of the ledger entries it has applied: a
 *   damaged one is replaced by that sum, computed for the very sequence it has applied (so a
 *   registration arriving meanwhile is neither lost nor counted twice);
 * - the result is checked against the registrations themselves.
 */
export async function reconcile(deps: Pick<TallyDeps, 'redis' | 'prefix' | 'targetFen' | 'agencyCode'>, trigger: string, actorEmail: string | null = null) {
  const started = new Date();
  const timed = async <T>(p: Promise<T>) => {
    const t0 = Date.now();
    const v = await p;
    return [v, Date.now() - t0] as const;
  };
  const [[numbers, registrationsMs], [rawEntries, ledgerMs], [stored]] = await Promise.all([
    timed(Registration.find().select({ _id: 0, contractId: 1, revokedAt: 1 }).batchSize(10_000).lean()),
    timed(TallyEntry.find().batchSize(10_000).lean()),
    timed(YearTallyDoc.find().select({ year: 1 }).lean()),
  ]);
  interface Entry {
    year: number;
    seq: number;
    sign: 1 | -1;
    fact: TallyFact;
  }
  const byKey = new Map<string, Entry>();
  const noops: { year: number; seq: number }[] = [];
  for (const e of rawEntries) {
    if (e.s === 0) noops.push({ year: yearOf(e._id), seq: seqOf(e._id) });
    else byKey.set(e.e, { year: yearOf(e._id), seq: seqOf(e._id), sign: e.s as 1 | -1, fact: decodeFact(e.f) });
  }
  let missingEntries = 0;
  for (const r of numbers) {
    const needs = r.revokedAt ? [`registered:${r.contractId}`, `revoked:${r.contractId}`] : [`registered:${r.contractId}`];
    const lacking = needs.filter((k) => !byKey.has(k));
    if (!lacking.length) continue;
    const c = (await Contract.findById(r.contractId).lean()) as ContractDoc | null;
    if (!c?.registeredAt) continue;
    missingEntries += lacking.length;
    const fact = byKey.get(`registered:${r.contractId}`)?.fact ?? factOf({ ...c, registeredAt: new Date(c.registeredAt) }, deps.agencyCode);
    for (const key of lacking) {
      const sign = key.startsWith('revoked:') ? -1 : 1;
      await recordOnce(key, sign, fact);
      const e = (await TallyEntry.findOne({ e: key }).lean())!;
      byKey.set(key, { year: fact.year, seq: seqOf(e._id), sign, fact });
    }
  }
  const entriesByYear = new Map<number, Entry[]>();
  for (const e of byKey.values()) {
    const list = entriesByYear.get(e.year) ?? [];
    list.push(e);
    entriesByYear.set(e.year, list);
  }
  // What the registrations add up to, per year, with the facts they recorded.
  const fromRegistrations = new Map<number, YearTally>();
  for (const r of numbers) {
    if (r.revokedAt) continue;
    const fact = byKey.get(`registered:${r.contractId}`)?.fact;
    if (fact) accumulate(fromRegistrations, fact, 1);
  }
  const years = [...new Set([...entriesByYear.keys(), ...stored.map((d) => d.year), ...fromRegistrations.keys()])].sort();
  const corrected: { year: number; differences: string[] }[] = [];
  const unresolved: { year: number; differences: string[] }[] = [];
  for (const year of years) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const doc = await loadTallyDoc(year);
      const sums = new Map<number, YearTally>();
      let highest = 0;
      for (const e of entriesByYear.get(year) ?? []) {
        highest = Math.max(highest, e.seq);
        if (e.seq <= doc.appliedSeq) accumulate(sums, e.fact, e.sign);
      }
      // Entries appended and applied after the scan (a registration meanwhile): read them by `_id`.
      for (const n of noops) if (n.year === year) highest = Math.max(highest, n.seq);
      for (let seq = highest + 1; seq <= doc.appliedSeq; seq++) {
        const e = await TallyEntry.findById(entryId(year, seq)).lean();
        if (e && e.s !== 0) accumulate(sums, decodeFact(e.f), e.s as 1 | -1);
      }
      const sum = sums.get(year) ?? emptyTally(year);
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
    const againstRegistrations = diffTallies(tally, fromRegistrations.get(year) ?? emptyTally(year));
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
    contracts: numbers.length,
    years,
    missingEntries,
    corrected,
    unresolved,
    timings: { registrationsMs, ledgerMs, totalMs: finishedAt.getTime() - started.getTime() },
  });
  return run.toObject();
}

/** Adds a fact to the running sums of its year, in place (fast for large reconciliations). */
function accumulate(sums: Map<number, YearTally>, f: TallyFact, sign: 1 | -1): void {
  let t = sums.get(f.year);
  if (!t) {
    t = emptyTally(f.year);
    sums.set(f.year, t);
  }
  addInPlace(t, f, sign);
}

export async function lastReconciliation() {
  return ReconciliationRun.findOne().sort({ at: -1 }).lean();
}

export const currentYear = () => cstYear(new Date());
