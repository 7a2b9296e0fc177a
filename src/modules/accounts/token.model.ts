/** API tokens: only a SHA-256 hash of each token is stored, as the document id. */
import mongoose, { Schema } from 'mongoose';
import { byId, invalidateOnWrite } from '../../lib/shared-cache';

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
// Revoking (or changing) tokens drops them from the request cache, in every process: one token by
// its id, a user's tokens by `userId`.
invalidateOnWrite(apiTokenSchema, 'token', (filter) =>
  filter._id === undefined && filter.userId !== undefined ? { ns: 'token', userId: String(filter.userId) } : byId('token', filter._id),
);

export const ApiToken = mongoose.model('ApiToken', apiTokenSchema);
