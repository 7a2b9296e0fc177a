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
 */
import mongoose, { Schema } from 'mongoose';
import { isDuplicateKey } from './errors';

/** How many recent numbers the log keeps: far more than can be in flight at once. */
export const COUNTER_LOG_SIZE = 1000;

interface LogEntry {
  k: string;
  at: Date;
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
    log: { type: [new Schema({ k: String, at: Date }, { _id: false })], default: [] },
  },
  { versionKey: false },
);

export const Counter = mongoose.model('Counter', counterSchema);

function numberIn(doc: CounterDoc, key: string): number | null {
  const i = doc.log.findIndex((e) => e.k === key);
  return i < 0 ? null : doc.seq - (doc.log.length - 1 - i);
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

/** The key number `n` of counter `id` was taken for, and when; null if the log no longer holds it. */
export async function keyOf(id: string, n: number): Promise<{ key: string; at: Date } | null> {
  const doc = (await Counter.findById(id).lean()) as CounterDoc | null;
  if (!doc) return null;
  const i = doc.log.length - 1 - (doc.seq - n);
  if (i < 0 || i >= doc.log.length) return null;
  return { key: doc.log[i].k, at: doc.log[i].at };
}

/** The counter's last number (0 when it has none). */
export async function lastNumber(id: string): Promise<number> {
  const doc = (await Counter.findById(id).select({ seq: 1 }).lean()) as { seq: number } | null;
  return doc?.seq ?? 0;
}
