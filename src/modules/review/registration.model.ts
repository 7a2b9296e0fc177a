/**
 * Registration numbers: one document per number, `_id` = "<year>-<serial>". Inserting an
 * `_id` that exists fails on every backend, so two registrations can never share a serial,
 * and serials are taken strictly in order, so none is skipped.
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
  },
  { versionKey: false },
);
registrationSchema.index({ contractId: 1 }, { unique: true });
registrationSchema.index({ year: 1, serial: -1 });
registrationSchema.index({ number: 1 });

export const Registration = mongoose.model('Registration', registrationSchema);

/**
 * The number of each registered contract, found by the contract's id (`_id` lookups are the
 * only ones FerretDB answers without scanning). Inserted with `number: null` before a serial
 * is taken, so only one process numbers a contract.
 */
const contractNumberSchema = new Schema(
  {
    _id: { type: String, required: true },
    number: { type: String, default: null },
    registrationId: { type: String, default: null },
    at: { type: Date, required: true },
    revokedAt: { type: Date, default: null },
  },
  { versionKey: false },
);

export const ContractNumber = mongoose.model('ContractNumber', contractNumberSchema);
