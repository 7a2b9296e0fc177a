/** People who sign in: applicants (members of one organisation), reviewers and admins (the bureau). */
import mongoose, { Schema, type InferSchemaType, type Types } from 'mongoose';
import { invalidateOnWrite } from '../../lib/shared-cache';

export const ROLES = ['applicant', 'reviewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const BUREAU_ROLES: readonly Role[] = ['reviewer', 'admin'];

const userSchema = new Schema(
  {
    email: { type: String, required: true, lowercase: true, trim: true, maxlength: 254 },
    name: { type: String, required: true, trim: true, maxlength: 100 },
    role: { type: String, required: true, enum: ROLES },
    organizationId: { type: Schema.Types.ObjectId, default: null },
    /** The organisation's first member, who manages its members. */
    organizationManager: { type: Boolean, default: false },
    passwordHash: { type: String, required: true },
    mustChangePassword: { type: Boolean, default: false },
    /** Bumped when the password changes: sessions signed in under an older one end. */
    sessionEpoch: { type: Number, default: 0 },
    disabled: { type: Boolean, default: false },
    lastSignInAt: { type: Date, default: null },
  },
  { timestamps: true },
);
userSchema.index({ email: 1 }, { unique: true });
userSchema.index({ organizationId: 1 });
userSchema.index({ role: 1 });
// Any write to a user drops what the request cache remembers of them, in every process.
invalidateOnWrite(userSchema, 'user');

export type UserDoc = InferSchemaType<typeof userSchema> & { _id: Types.ObjectId };
export const User = mongoose.model('User', userSchema);
