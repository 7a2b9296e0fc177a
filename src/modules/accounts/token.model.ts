/** API tokens: only a SHA-256 hash of each token is stored, as the document id. */
import mongoose, { Schema } from 'mongoose';

const apiTokenSchema = new Schema(
  {
    _id: { type: String, required: true },
    userId: { type: Schema.Types.ObjectId, required: true },
    expiresAt: { type: Date, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false },
);
apiTokenSchema.index({ userId: 1 });
// Expiry is checked on every use, and the hourly housekeeping job removes expired tokens.
apiTokenSchema.index({ expiresAt: 1 });

export const ApiToken = mongoose.model('ApiToken', apiTokenSchema);
