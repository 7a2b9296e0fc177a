/**
 * The turnover ledger and the tallies built from it.
 *
 * Every registration and every revocation is one ledger entry, inserted once (its event key
 * is unique) with a gap-free sequence number per year. A year's tally records the last
 * sequence it has applied, and moves forward only by version-claimed transitions, so each
 * entry is counted exactly once however often the tally job runs.
 */
import mongoose, { Schema } from 'mongoose';

const ledgerSchema = new Schema(
  {
    _id: { type: String, required: true }, // "<year>-<seq, 9 digits>"
    year: { type: Number, required: true },
    seq: { type: Number, required: true },
    eventKey: { type: String, required: true }, // "registered:<contractId>" | "revoked:<contractId>"
    contractId: { type: String, required: true },
    sign: { type: Number, required: true, enum: [1, -1] },
    fact: { type: Schema.Types.Mixed, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
ledgerSchema.index({ eventKey: 1 }, { unique: true });
ledgerSchema.index({ year: 1, seq: 1 });

export const TallyEntry = mongoose.model('TallyEntry', ledgerSchema);

const tallySchema = new Schema(
  {
    _id: { type: String, required: true }, // "turnover-<year>"
    year: { type: Number, required: true },
    version: { type: Number, default: 0 },
    appliedSeq: { type: Number, default: 0 },
    tally: { type: Schema.Types.Mixed, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, minimize: false },
);

export const YearTallyDoc = mongoose.model('YearTally', tallySchema);

const reconciliationSchema = new Schema(
  {
    at: { type: Date, required: true },
    finishedAt: { type: Date, required: true },
    ms: { type: Number, required: true },
    trigger: { type: String, required: true },
    actorEmail: { type: String, default: null },
    contracts: { type: Number, required: true },
    years: { type: [Number], default: [] },
    missingEntries: { type: Number, default: 0 },
    corrected: { type: [new Schema({ year: Number, differences: [String] }, { _id: false })], default: [] },
    /** Differences between the ledger and the registered contracts that remain after correcting. */
    unresolved: { type: [new Schema({ year: Number, differences: [String] }, { _id: false })], default: [] },
  },
  { versionKey: false },
);
reconciliationSchema.index({ at: -1 });

export const ReconciliationRun = mongoose.model('ReconciliationRun', reconciliationSchema);
