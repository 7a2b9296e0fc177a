/**
 * State changes as single-document atomic updates.
 *
 * MongoDB and the embedded database (FerretDB v2 on PostgreSQL with DocumentDB) both apply an
 * update to one document atomically, matching its filter against the document as it is at
 * that moment: of any number of concurrent `findOneAndUpdate({_id, status: 'in_review'}, …)`
 * exactly one finds a match and changes it; the others get null. Every status change in the
 * registry is one such update, and `version` goes up with each, so a change computed from a
 * document as read can be made conditional on nothing having changed since.
 */
import type { Model, UpdateQuery } from 'mongoose';

export interface Versioned {
  _id: unknown;
  version?: number | null;
}

const bumpVersion = (update: UpdateQuery<unknown>): UpdateQuery<unknown> => ({
  ...update,
  $inc: { ...((update.$inc as Record<string, number> | undefined) ?? {}), version: 1 },
});

/**
 * Applies `update` only if the document still matches `filter`: the changed document, or null
 * when it did not match (another change won, or it never matched).
 */
export async function updateIf<T>(model: Model<any>, filter: Record<string, unknown>, update: UpdateQuery<unknown>): Promise<T | null> {
  return (await model.findOneAndUpdate(filter, bumpVersion(update), { returnDocument: 'after' }).lean()) as T | null;
}

/**
 * `updateIf` for a caller that needs only to know whether it won: a plain update, which the
 * embedded database carries out at about half the cost of one that returns the document.
 */
export async function changeIf(model: Model<any>, filter: Record<string, unknown>, update: UpdateQuery<unknown>): Promise<boolean> {
  return (await model.updateOne(filter, bumpVersion(update))).matchedCount === 1;
}

/** The filter that matches `doc` only at the version it was read (a missing version reads as null). */
export const atVersion = (doc: Versioned): Record<string, unknown> => ({ _id: doc._id, version: doc.version ?? null });

/**
 * For changes computed from the whole current document (a draft edit): reads it, lets `change`
 * compute the update (null: nothing to do), and applies it only at the version read, reading
 * again when another writer got in first.
 */
export async function updateLatest<T extends Versioned>(
  model: Model<any>,
  id: unknown,
  change: (doc: T) => UpdateQuery<unknown> | null,
  opts: {
    attempts?: number;
    /** The document as the caller just read it: saves the first read. */
    read?: T;
    /** The caller does not need the changed document: `doc` is then the one read (cheaper, see changeIf). */
    withoutResult?: boolean;
  } = {},
): Promise<{ doc: T; changed: boolean }> {
  for (let attempt = 0; attempt < (opts.attempts ?? 8); attempt++) {
    const doc = attempt === 0 && opts.read ? opts.read : ((await model.findById(id).lean()) as T | null);
    if (!doc) throw new Error(`${model.modelName} ${String(id)} not found`);
    const update = change(doc);
    if (update === null) return { doc, changed: false };
    if (opts.withoutResult) {
      if (await changeIf(model, atVersion(doc), update)) return { doc, changed: true };
      continue;
    }
    const after = await updateIf<T>(model, atVersion(doc), update);
    if (after) return { doc: after, changed: true };
  }
  throw new Error(`${model.modelName} ${String(id)}: too many concurrent changes`);
}
