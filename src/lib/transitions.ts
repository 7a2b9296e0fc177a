/**
 * Race-free state changes on every MongoDB-protocol server we run on.
 *
 * FerretDB (our local and test database) does not isolate read-modify-write: two
 * concurrent `findOneAndUpdate({_id, status: 'pending'})` calls can both "win", and
 * concurrent `$inc`s lose updates. What every backend does guarantee is that inserting a
 * document whose `_id` already exists fails. So a state change first *claims* the
 * document's current version by inserting `{_id: "<collection>:<id>:v<version>"}`: exactly
 * one caller wins the claim and then writes the new state with `version + 1`. The write
 * is a plain `$set` of values computed from the version it read, so repeating it (to
 * complete a claim whose winner crashed before writing) is harmless.
 */
import mongoose, { Schema, type Model, type Types } from 'mongoose';

const claimSchema = new Schema(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
    /** The `$set` the winner writes: kept so a crashed winner's change can be completed. */
    set: { type: Schema.Types.Mixed, required: true },
  },
  { versionKey: false, minimize: false },
);
claimSchema.index({ at: 1 });

export const VersionClaim = mongoose.model('VersionClaim', claimSchema);

/** A claim older than this whose document still has the claimed version was abandoned. */
export const ABANDONED_AFTER_MS = 15_000;

export interface Versioned {
  _id: Types.ObjectId | string;
  version?: number | null;
}

const claimId = (model: Model<any>, id: unknown, version: number) => `${model.collection.collectionName}:${String(id)}:v${version}`;

export type TransitionResult = { ok: true; version: number } | { ok: false };

/**
 * Moves `doc` (as read) to a new state. Succeeds for exactly one of any number of
 * concurrent callers that read the same version; the others get `{ok: false}`.
 */
export async function transition(model: Model<any>, doc: Versioned, set: Record<string, unknown>): Promise<TransitionResult> {
  const version = doc.version ?? 0;
  try {
    await VersionClaim.create({ _id: claimId(model, doc._id, version), at: new Date(), set });
  } catch (err) {
    if ((err as { code?: number }).code !== 11000) throw err;
    await completeAbandoned(model, doc);
    return { ok: false };
  }
  await model.updateOne({ _id: doc._id }, { $set: { ...set, version: version + 1 } });
  return { ok: true, version: version + 1 };
}

/**
 * When the claim on `doc`'s version is old and the document still has that version, its
 * winner stopped before writing: write the claimed state now. Returns true if it did.
 */
export async function completeAbandoned(model: Model<any>, doc: Versioned, now = Date.now()): Promise<boolean> {
  const version = doc.version ?? 0;
  const claim = await VersionClaim.findById(claimId(model, doc._id, version)).lean();
  if (!claim || now - claim.at.getTime() < ABANDONED_AFTER_MS) return false;
  const current = await model.findById(doc._id).select({ version: 1 }).lean<Versioned>();
  if (!current || (current.version ?? 0) !== version) return false;
  await model.updateOne({ _id: doc._id }, { $set: { ...(claim.set as Record<string, unknown>), version: version + 1 } });
  return true;
}

/** Claims of past versions are only needed for a short while; the maintenance job prunes them. */
export async function pruneClaims(olderThan: Date): Promise<number> {
  const res = await VersionClaim.deleteMany({ at: { $lt: olderThan } });
  return res.deletedCount;
}

/**
 * Claims a one-time event (a decision on a submission, an email for a notification):
 * true for exactly one caller. The payload is kept so a crashed claimant's work can be finished.
 */
export async function claimOnce(key: string, payload: Record<string, unknown>): Promise<boolean> {
  try {
    await VersionClaim.create({ _id: key, at: new Date(), set: payload });
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 11000) return false;
    throw err;
  }
}

export async function readClaim(key: string): Promise<{ at: Date; payload: Record<string, unknown> } | null> {
  const c = await VersionClaim.findById(key).lean();
  return c ? { at: c.at, payload: c.set as Record<string, unknown> } : null;
}

/** Gives a claim back (its work failed before doing anything), so a retry can claim it again. */
export async function releaseClaim(key: string): Promise<void> {
  await VersionClaim.deleteOne({ _id: key });
}

/**
 * Changes a document with `change`, which sees the latest version and returns the `$set`
 * (or null when there is nothing to do), retrying when another writer got in first.
 */
export async function mutateDoc<T extends Versioned>(
  model: Model<any>,
  id: string,
  change: (doc: T) => Record<string, unknown> | null,
  attempts = 8,
): Promise<{ doc: T; changed: boolean }> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const doc = (await model.findById(id).lean()) as T | null;
    if (!doc) throw new Error(`${model.modelName} ${id} not found`);
    const set = change(doc);
    if (set === null) return { doc, changed: false };
    const res = await transition(model, doc, set);
    if (res.ok) return { doc: (await model.findById(id).lean()) as T, changed: true };
    await new Promise((r) => setTimeout(r, 10 + Math.random() * 40 * (attempt + 1)));
  }
  throw new Error(`${model.modelName} ${id}: too many concurrent changes`);
}
