/**
 * The turnover ledger and the tallies built from it.
 *
 * Every registration, change, cancellation and revocation is a ledger entry, inserted once (its event key
 * is unique) with a gap-free sequence number per year (lib/counters). A year's tally records
 * the last sequence it has applied and moves forward by one `$inc` conditional on it, so
 * each entry is counted exactly once however often the tally job runs.
 */
import mongoose, { Schema } from 'mongoose';

const ledgerSchema = new Schema(
  {
    _id: { type: String, required: true }, // "<year>-<seq, 9 digits>": the year and the gap-free sequence
    e: { type: String, required: true }, // event key: "registered:<contractId>", "revoked:<contractId>[:<requestId>]", "changed:<requestId>", "cancelled:<requestId>"
    s: { type: Number, required: true, enum: [1, -1, 0] }, // +1 adds, -1 takes back, 0 fills a number whose taker died
    f: { type: String, default: '' }, // the fact, encoded by domain/tally.encodeFact
    g: { type: String, default: undefined }, // a change's fact before it (counted with the opposite sign): the entry moves the difference
    o: { type: String, default: undefined }, // the origin when not the registry's own decision: 'import' (an earlier registration brought in, modules/imports)
  },
  { versionKey: false },
);
ledgerSchema.index({ e: 1 }, { unique: true });

export const TallyEntry = mongoose.model('TallyEntry', ledgerSchema);

const tallySchema = new Schema(
  {
    _id: { type: String, required: true }, // "turnover-<year>"
    year: { type: Number, required: true },
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
    timings: { type: Schema.Types.Mixed, default: null },
    /** Differences between the ledger and the registered contracts that remain after correcting. */
    unresolved: { type: [new Schema({ year: Number, differences: [String] }, { _id: false })], default: [] },
  },
  { versionKey: false },
);
reconciliationSchema.index({ at: -1 });

export const ReconciliationRun = mongoose.model('ReconciliationRun', reconciliationSchema);
