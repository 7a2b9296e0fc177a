/**
 * Exact turnover tallies: the ledger of registrations and revocations, the per-year tallies
 * applied from it exactly once, the public turnover payload, and reconciliation against the
 * registered contracts.
 */
import type { Redis } from 'ioredis';
import { applyFact, diffTallies, emptyTally, factOf, type TallyFact, type YearTally } from '../../domain/tally';
import { formatYuan } from '../../domain/money';
import { cstIso, cstYear } from '../../domain/time';
import type { Logger } from '../../lib/logger';
import { enqueue, type Queues } from '../../lib/queues';
import { transition } from '../../lib/transitions';
import { Contract, type ContractDoc } from '../contracts/contract.model';
import { ReconciliationRun, TallyEntry, YearTallyDoc } from './turnover.model';

export const tallyId = (year: number) => `turnover-${year}`;
const entryId = (year: number, seq: number) => `${year}-${String(seq).padStart(9, '0')}`;

// The highest ledger sequence this process has seen per year: it only lags the truth, so
// starting from it never skips a number (see registration-numbers.ts for the same idea).
const lastSeq = new Map<number, number>();

async function highestSeq(year: number): Promise<number> {
  const top = await TallyEntry.find({ year }).sort({ seq: -1 }).limit(1).select({ seq: 1 }).lean();
  return top[0]?.seq ?? 0;
}

/** Appends a ledger entry once per event key; returns its year. */
async function appendEntry(eventKey: string, contractId: string, sign: 1 | -1, fact: TallyFact, at: Date): Promise<number> {
  const existing = await TallyEntry.findOne({ eventKey }).select({ year: 1 }).lean();
  if (existing) return existing.year;
  const year = fact.year;
  let seq = (lastSeq.get(year) ?? (await highestSeq(year))) + 1;
  for (let tries = 0; tries < 1_000_000; tries++) {
    try {
      await TallyEntry.create({ _id: entryId(year, seq), year, seq, eventKey, contractId, sign, fact, at });
      lastSeq.set(year, Math.max(lastSeq.get(year) ?? 0, seq));
      return year;
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
      if (await TallyEntry.exists({ eventKey })) return year;
      lastSeq.set(year, Math.max(lastSeq.get(year) ?? 0, seq));
      seq += 1;
    }
  }
  throw new Error(`could not append ledger entry ${eventKey}`);
}

/**
 * Records a registration (adds its amounts to its CST registration year) or a revocation
 * (takes back exactly what the registration added). Idempotent per contract and kind.
 */
export async function recordTallyEvent(kind: 'registered' | 'revoked', c: ContractDoc, agencyCode: string): Promise<number> {
  const id = String(c._id);
  if (!c.registeredAt) throw new Error(`contract ${id} has no registration time`);
  const registered = await TallyEntry.findOne({ eventKey: `registered:${id}` }).lean();
  const fact = (registered?.fact as TallyFact | undefined) ?? factOf({ ...c, registeredAt: new Date(c.registeredAt) }, agencyCode);
  if (!registered) await appendEntry(`registered:${id}`, id, 1, fact, new Date(c.registeredAt));
  if (kind === 'revoked') await appendEntry(`revoked:${id}`, id, -1, fact, c.revokedAt ? new Date(c.revokedAt) : new Date());
  return fact.year;
}

interface StoredTally {
  _id: string;
  year: number;
  version?: number;
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
    if ((err as { code?: number }).code !== 11000) throw err;
  }
  return (await YearTallyDoc.findById(tallyId(year)).lean()) as StoredTally;
}

/** Applies the ledger entries a year's tally has not applied yet; safe to run any number of times. */
export async function applyPending(year: number): Promise<{ applied: number; tally: YearTally; updatedAt: Date }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const doc = await loadTallyDoc(year);
    const entries = await TallyEntry.find({ year, seq: { $gt: doc.appliedSeq } }).sort({ seq: 1 }).lean();
    if (!entries.length) return { applied: 0, tally: doc.tally, updatedAt: doc.updatedAt };
    let tally = doc.tally;
    let seq = doc.appliedSeq;
    for (const e of entries) {
      // Entries are contiguous: stop at a hole (an insert still in flight) and apply it next time.
      if (e.seq !== seq + 1) break;
      tally = applyFact(tally, e.fact as TallyFact, e.sign as 1 | -1);
      seq = e.seq;
    }
    if (seq === doc.appliedSeq) return { applied: 0, tally: doc.tally, updatedAt: doc.updatedAt };
    const updatedAt = new Date();
    const res = await transition(YearTallyDoc, doc, { tally, appliedSeq: seq, updatedAt });
    if (res.ok) return { applied: seq - doc.appliedSeq, tally, updatedAt };
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
  }
  throw new Error(`tally ${year}: too many concurrent writers`);
}

export async function getTally(year: number): Promise<{ tally: YearTally; updatedAt: Date | null }> {
  const doc = (await YearTallyDoc.findById(tallyId(year)).lean()) as StoredTally | null;
  return doc ? { tally: doc.tally, updatedAt: doc.updatedAt } : { tally: emptyTally(year), updatedAt: null };
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
  largeContracts: { contracts: number; contractAmount: string };
  buyerSide: { contracts: number; contractAmount: string; technicalAmount: string };
  byMonth: { month: string; contracts: number; contractAmount: string }[];
  byType: Record<string, { contracts: number; contractAmount: string }>;
  byField: Record<string, { contracts: number; contractAmount: string }>;
}

export function turnoverPayload(t: YearTally, targetFen: number, updatedAt: Date | null): TurnoverPayload {
  const small = (rec: Record<string, { count: number; contractFen: number }>) =>
    Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, { contracts: v.count, contractAmount: formatYuan(v.contractFen) }]));
  return {
    year: t.year,
    target: formatYuan(targetFen),
    contractAmount: formatYuan(t.totals.contractFen),
    technicalAmount: formatYuan(t.totals.technicalFen),
    contracts: t.totals.count,
    // A plain ratio for display; the amounts themselves stay exact strings.
    progress: Math.round((t.totals.contractFen / targetFen) * 1e6) / 1e6,
    updatedAt: updatedAt ? cstIso(updatedAt) : null,
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
export async function publishTurnover(redis: Redis, prefix: string, payload: TurnoverPayload): Promise<void> {
  const json = JSON.stringify(payload);
  await redis.set(turnoverKey(prefix, payload.year), json);
  await redis.publish(turnoverChannel(prefix), json);
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
 * After a registration or revocation: record the ledger entry, then bring the tally and the
 * live figure up to date at once (the web process, for speed) with a queued job behind it
 * (in case this process stops here). Both paths are idempotent.
 */
export async function tallyAfterDecision(deps: TallyDeps, kind: 'registered' | 'revoked', c: ContractDoc): Promise<void> {
  const year = await recordTallyEvent(kind, c, deps.agencyCode);
  if (deps.queues) {
    try {
      await enqueue(deps.queues, 'turnover', 'apply', { year }, `tally-${kind}-${c._id}`);
    } catch (err) {
      deps.logger.warn({ year, err: (err as Error).message }, 'tally job not enqueued; reconciliation will catch up');
    }
  }
  if (deps.redis) await refreshYear(deps, year);
}

/** Applies pending entries and publishes the year's figure. */
export async function refreshYear(deps: Pick<TallyDeps, 'redis' | 'prefix' | 'targetFen'>, year: number): Promise<TurnoverPayload> {
  const { tally, updatedAt } = await applyPending(year);
  const payload = turnoverPayload(tally, deps.targetFen, updatedAt);
  if (deps.redis) await publishTurnover(deps.redis, deps.prefix, payload);
  return payload;
}

// ── Reconciliation ─────────────────────────────────────────────────────────────────────

const FACT_FIELDS = {
  registeredAt: 1, revokedAt: 1, status: 1, contractAmountFen: 1, technicalAmountFen: 1, type: 1, technicalField: 1,
  ipType: 1, priorityArea: 1, planSource: 1, 'seller.nature': 1, 'buyers.regionCode': 1,
} as const;

/**
 * Recomputes every year's tally and corrects any difference, recording what it found:
 * - every registered or revoked contract must have its ledger entries (a crash between a
 *   decision and its entry leaves one missing): missing ones are added;
 * - each year's stored tally must equal the sum of the ledger entries it has applied: a
 *   damaged one is replaced by that sum (computed for the very sequence it has applied, so
 *   a registration arriving meanwhile is neither lost nor counted twice);
 * - the result is checked against the registered contracts themselves.
 */
export async function reconcile(deps: Pick<TallyDeps, 'redis' | 'prefix' | 'targetFen' | 'agencyCode'>, trigger: string, actorEmail: string | null = null) {
  const started = new Date();
  const contracts = (await Contract.find({ status: { $in: ['registered', 'revoked'] }, registeredAt: { $ne: null } }).select(FACT_FIELDS).lean()) as ContractDoc[];
  const keys = new Set((await TallyEntry.find().select({ eventKey: 1 }).lean()).map((e) => e.eventKey));
  let missingEntries = 0;
  for (const c of contracts) {
    const id = String(c._id);
    const needs = c.status === 'revoked' ? [`registered:${id}`, `revoked:${id}`] : [`registered:${id}`];
    if (needs.every((k) => keys.has(k))) continue;
    missingEntries += needs.filter((k) => !keys.has(k)).length;
    await recordTallyEvent(c.status === 'revoked' ? 'revoked' : 'registered', c, deps.agencyCode);
  }
  // What the registered contracts add up to, per year (for the final check).
  const fromContracts = new Map<number, YearTally>();
  for (const c of contracts) {
    if (c.status !== 'registered') continue;
    const fact = factOf({ ...c, registeredAt: new Date(c.registeredAt!) }, deps.agencyCode);
    fromContracts.set(fact.year, applyFact(fromContracts.get(fact.year) ?? emptyTally(fact.year), fact, 1));
  }
  const storedYears = (await YearTallyDoc.find().select({ year: 1 }).lean()).map((d) => d.year);
  const ledgerYears = (await TallyEntry.find().select({ year: 1 }).lean()).map((e) => e.year);
  const years = [...new Set([...fromContracts.keys(), ...storedYears, ...ledgerYears])].sort();
  const corrected: { year: number; differences: string[] }[] = [];
  const unresolved: { year: number; differences: string[] }[] = [];
  for (const year of years) {
    await applyPending(year);
    for (let attempt = 0; attempt < 20; attempt++) {
      const doc = await loadTallyDoc(year);
      const entries = await TallyEntry.find({ year, seq: { $lte: doc.appliedSeq } }).select({ fact: 1, sign: 1 }).lean();
      let sum = emptyTally(year);
      for (const e of entries) sum = applyFact(sum, e.fact as TallyFact, e.sign as 1 | -1);
      const differences = diffTallies(doc.tally, sum);
      if (!differences.length) break;
      if ((await transition(YearTallyDoc, doc, { tally: sum, updatedAt: new Date() })).ok) {
        corrected.push({ year, differences });
        break;
      }
    }
    const { tally, updatedAt } = await getTally(year);
    const againstContracts = diffTallies(tally, fromContracts.get(year) ?? emptyTally(year));
    // A registration still being carried out can show here for a moment; report, do not force.
    if (againstContracts.length) unresolved.push({ year, differences: againstContracts });
    if (deps.redis) await publishTurnover(deps.redis, deps.prefix, turnoverPayload(tally, deps.targetFen, updatedAt));
  }
  const finishedAt = new Date();
  const run = await ReconciliationRun.create({
    at: started,
    finishedAt,
    ms: finishedAt.getTime() - started.getTime(),
    trigger,
    actorEmail,
    contracts: contracts.length,
    years,
    missingEntries,
    corrected,
    unresolved,
  });
  return run.toObject();
}

export async function lastReconciliation() {
  return ReconciliationRun.findOne().sort({ at: -1 }).lean();
}

export const currentYear = () => cstYear(new Date());
