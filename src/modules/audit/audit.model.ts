/** The audit log: every bureau action and bureau sign-in. Append-only: nothing updates or deletes it. */
import mongoose, { Schema } from 'mongoose';

const auditSchema = new Schema(
  {
    at: { type: Date, required: true },
    actorId: { type: Schema.Types.ObjectId, default: null },
    actorEmail: { type: String, default: null },
    actorRole: { type: String, default: null },
    action: { type: String, required: true },
    targetType: { type: String, default: null },
    targetId: { type: String, default: null },
    details: { type: Schema.Types.Mixed, default: null },
    ip: { type: String, default: null },
  },
  { versionKey: false },
);
/** The log newest first, a date range, and the CSV export of a range. */
auditSchema.index({ at: -1, _id: -1 });
/** The action filter (an anchored prefix). The actor filter is a substring: it filters within the others. */
auditSchema.index({ action: 1, at: -1 });

export const AuditEntry = mongoose.model('AuditEntry', auditSchema);
