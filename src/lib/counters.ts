/**
 * Gap-free numbers (registration serials, ledger sequences) from a counter document.
 *
 * A number is taken by one atomic update of the counter: `$inc` of its value together with
 * `$push` of the key it is for (a contract, a ledger event) onto a bounded log, on condition
 * that the key is not in the log yet. So:
 * - no two keys get the same number, and numbers are taken strictly in order;
 * - a key asking twice (a retry, or a sweeper finishing a crashed caller's work) gets the
 *   number it already has, never a second one;
 * - a caller that crashes after taking its number leaves it written down in the log with its
 *   key, so the number is finished later for that key (`keyOf`) instead of being lost.
 *
 * A log entry may stand for a block of numbers (`n`, 1 when absent): `takeBlock` takes `n` at
 * once under one key (an import's ledger entries), `raiseTo` moves the counter past numbers
 * used elsewhere (imported registration serials) under one key. Every number up to `seq` is
 * thus covered by exactly one entry while the log holds it, and positions are counted in
 * numbers, not entries.
 */
import mongoose, { Schema } from 'mongoose';
import { isDuplicateKey } from './errors';

/** How many recent numbers the log keeps: far more than can be in flight at once. */
export const COUNTER_LOG_SIZE = 1000;

interface LogEntry {
  k: string;
  at: Date;
  /** How many numbers the entry took (a block); 1 when absent. */
  n?: number;
}

interface CounterDoc {
  _id: string;
  seq: number;
  log: LogEntry[];
}

const counterSchema = new Schema(
  {
    _id: { type: String, required: true },
    seq: { type: Number, required: true },
    log: { type: [new Schema({ k: String, at: Date, n: { type: Number, default: undefined } }, { _id: false })], default: [] },
  },
  { versionKey: false },
);

export const Counter = mongoose.model('Counter', counterSchema);

/** The first number `key` took in the counter (its only one unless a block), or null if the log no longer holds it. */
function numberIn(doc: CounterDoc, key: string): number | null {
  let last = doc.seq;
  for (let i = doc.log.length - 1; i >= 0; i--) {
    const n = doc.log[i].n ?? 1;
    if (doc.log[i].k === key) return last - n + 1;
    last -= n;
  }
  return null;
}

/** The log entry that took number `n`, or null when the log no longer holds it (or `n` is not taken). */
export function holderIn(doc: Pick<CounterDoc, 'seq' | 'log'>, n: number): { key: string; at: Date } | null {
  if (n > doc.seq || n < 1) return null;
  let last = doc.seq;
  for (let i = doc.log.length - 1; i >= 0 && last >= n; i--) {
    const size = doc.log[i].n ?? 1;
    if (n > last - size) return { key: doc.log[i].k, at: doc.log[i].at };
    last -= size;
  }
  return null;
}

/**
 * The number `key` holds in counter `id`, taking the next one if it has none.
 * `start` gives the highest number already used, for a counter created over existing data.
 */
export async function takeNumber(id: string, key: string, start: () => Promise<number>): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const after = (await Counter.findOneAndUpdate(
      { _id: id, 'log.k': { $ne: key } },
      { $inc: { seq: 1 }, $push: { log: { $each: [{ k: key, at: new Date() }], $slice: -COUNTER_LOG_SIZE } } },
      { returnDocument: 'after' },
    ).lean()) as CounterDoc | null;
    if (after) return after.seq;
    // No match: the key has its number already, or the counter does not exist yet.
    const current = (await Counter.findById(id).lean()) as CounterDoc | null;
    if (current) {
      const n = numberIn(current, key);
      if (n !== null) return n;
      continue;
    }
    try {
      await Counter.create({ _id: id, seq: await start(), log: [] });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err; // created by a concurrent caller: use theirs
    }
  }
  throw new Error(`counter ${id}: could not take a number for ${key}`);
}

/**
 * Takes `n` consecutive numbers at once for `key` with one atomic `$inc` (one log entry for the
 * block), returning the first; asking again with the same key returns the same first number
 * (the key must then ask for the same `n`: callers put what decides `n` into the key).
 */
export async function takeBlock(id: string, key: string, n: number, start: () => Promise<number>): Promise<number> {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`counter ${id}: a block of ${n} numbers`);
  for (let attempt = 0; attempt < 5; attempt++) {
    const after = (await Counter.findOneAndUpdate(
      { _id: id, 'log.k': { $ne: key } },
      { $inc: { seq: n }, $push: { log: { $each: [{ k: key, at: new Date(), n }], $slice: -COUNTER_LOG_SIZE } } },
      { returnDocument: 'after' },
    ).lean()) as CounterDoc | null;
    if (after) return after.seq - n + 1;
    const current = (await Counter.findById(id).lean()) as CounterDoc | null;
    if (current) {
      const first = numberIn(current, key);
      if (first !== null) return first;
      continue;
    }
    try {
      await Counter.create({ _id: id, seq: await start(), log: [] });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }
  throw new Error(`counter ${id}: could not take ${n} numbers for ${key}`);
}

/**
 * Moves the counter up to at least `target` (numbers used outside it, such as imported serials),
 * so that the next number taken is above them; the numbers it passes over are logged as one block
 * under `key`. A compare-and-set on the current value: a number taken meanwhile makes it read
 * again, so nothing taken is ever passed over or taken twice. Creates the counter when missing
 * (`start`: the highest number already used). Returns the counter as it is afterwards, whose
 * log says who holds each recent number (`holderIn`).
 */
export async function raiseTo(id: string, key: string, target: number, start: () => Promise<number>): Promise<Pick<CounterDoc, 'seq' | 'log'>> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const doc = (await Counter.findById(id).lean()) as CounterDoc | null;
    if (!doc) {
      const base = await start();
      const log = target > base ? [{ k: key, at: new Date(), n: target - base }] : [];
      try {
        await Counter.create({ _id: id, seq: Math.max(base, target), log });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      continue;
    }
    if (doc.seq >= target || doc.log.some((e) => e.k === key)) return doc;
    const raised = await Counter.updateOne(
      { _id: id, seq: doc.seq },
      { $set: { seq: target }, $push: { log: { $each: [{ k: key, at: new Date(), n: target - doc.seq }], $slice: -COUNTER_LOG_SIZE } } },
    );
    if (raised.modifiedCount === 1) return (await Counter.findById(id).lean()) as CounterDoc;
  }
  throw new Error(`counter ${id}: could not raise it to ${target}`);
}

/** The key number `n` of counter `id` was taken for, and when; null if the log no longer holds it. */
export async function keyOf(id: string, n: number): Promise<{ key: string; at: Date } | null> {
  const doc = (await Counter.findById(id).lean()) as CounterDoc | null;
  return doc ? holderIn(doc, n) : null;
}

/** The counter's last number (0 when it has none). */
export async function lastNumber(id: string): Promise<number> {
  const doc = (await Counter.findById(id).select({ seq: 1 }).lean()) as { seq: number } | null;
  return doc?.seq ?? 0;
}
