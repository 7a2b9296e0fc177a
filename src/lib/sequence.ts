/**
 * Gap-free sequences per scope (per year), shared by registration numbers and the turnover
 * ledger. Each number is taken by inserting a document whose `_id` holds it: an insert of a
 * taken `_id` fails on every backend, so no two callers get the same number; callers only ever
 * try the lowest number they have not seen taken, so none is skipped.
 */

export interface TakeOptions<T> {
  /** Inserts the document for number `n` (throws code 11000 when it is taken). */
  insert: (n: number) => Promise<T>;
  /** The unique field, besides `_id`, whose violation means the work was done already. */
  doneField: string;
  /** Finds that earlier result (a retry, or a crashed caller's work). */
  alreadyDone: () => Promise<T | null>;
  maxTries: number;
  what: string;
}

export function gaplessSequence(highest: (scope: number) => Promise<number>) {
  // The highest number this process has seen per scope. It can only lag behind the truth
  // (numbers only grow), so starting from it never skips one.
  const lastSeen = new Map<number, number>();
  const saw = (scope: number, n: number) => lastSeen.set(scope, Math.max(lastSeen.get(scope) ?? 0, n));

  return async function take<T>(scope: number, o: TakeOptions<T>): Promise<T> {
    let n = (lastSeen.get(scope) ?? (await highest(scope))) + 1;
    for (let tries = 0; tries < o.maxTries; tries++) {
      try {
        const result = await o.insert(n);
        saw(scope, n);
        return result;
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
        // MongoDB names the index that refused; FerretDB does not, so now and then look.
        if ((err as { keyPattern?: Record<string, unknown> }).keyPattern?.[o.doneField] || (tries > 0 && tries % 1000 === 0)) {
          const done = await o.alreadyDone();
          if (done) return done;
        }
        saw(scope, n);
        n += 1;
      }
    }
    throw new Error(`could not take a number for ${o.what}`);
  };
}
