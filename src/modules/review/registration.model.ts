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
  },
  { versionKey: false },
);
registrationSchema.index({ contractId: 1 }, { unique: true });
registrationSchema.index({ year: 1, serial: -1 });
registrationSchema.index({ number: 1 });

export const Registration = mongoose.model('Registration', registrationSchema);
