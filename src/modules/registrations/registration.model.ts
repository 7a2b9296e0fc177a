/**
 * The register of numbers: one document per registration number, `_id` = "<year>-<serial>".
 * Serials come from the year's counter (lib/counters); the unique indexes are the last guard:
 * no serial twice, no contract twice.
 */
import mongoose, { Schema } from 'mongoose';

const registrationSchema = new Schema(
  {
    _id: { type: String, required: true },
    year: { type: Number, required: true },
    serial: { type: Number, required: true },
    number: { type: String, required: true },
    contractId: { type: String, required: true },
    at: { type: Date, required: true },
    /** Set when the registration is revoked (the number stays taken). */
    revokedAt: { type: Date, default: null },
    /** `import`: an earlier registration brought in with its own number (modules/imports); absent or `filing`: numbered here. */
    source: { type: String, enum: ['filing', 'import'], default: 'filing' },
  },
  { versionKey: false },
);
registrationSchema.index({ contractId: 1 }, { unique: true });
/** A year's highest serial (a new counter) and its serials in order (gap check). */
registrationSchema.index({ year: 1, serial: -1 });

export const Registration = mongoose.model('Registration', registrationSchema);
