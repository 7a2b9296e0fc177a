/**
 * Notifications: one document per event (`_id` is the event key, so an event notifies once),
 * shown in the app and mailed. An organisation's go to its members; the bureau's to its users
 * by role (`audience`). Mail goes to SMTP when configured, else to the local outbox that
 * admins can read.
 */
import mongoose, { Schema } from 'mongoose';
import { AUDIENCES } from './catalogue';

const notificationSchema = new Schema(
  {
    _id: { type: String, required: true },
    /** Who it is for; documents from before audiences are an organisation's. */
    audience: { type: String, enum: AUDIENCES, default: 'organization' },
    /** The organisation it is for (audience `organization`); null for the bureau's. */
    organizationId: { type: Schema.Types.ObjectId, default: null },
    contractId: { type: Schema.Types.ObjectId, default: null },
    kind: { type: String, required: true },
    subject: { type: String, required: true },
    subjectEn: { type: String, required: true },
    body: { type: String, required: true },
    bodyEn: { type: String, required: true },
    /** Where to act on it (a certificate to download, a filing to review), with its words in both languages. */
    link: { type: new Schema({ href: String, text: String, textEn: String }, { _id: false }), default: null },
    createdAt: { type: Date, required: true },
    readBy: { type: [Schema.Types.ObjectId], default: [] },
    email: {
      type: new Schema(
        { status: { type: String, default: 'pending' }, to: { type: [String], default: [] }, sentAt: Date, via: String, error: String },
        { _id: false },
      ),
      default: () => ({ status: 'pending' }),
    },
    version: { type: Number, default: 0 },
  },
  { versionKey: false },
);
/** An organisation's notifications, newest first; its unread count and mark-all-read. */
notificationSchema.index({ organizationId: 1, createdAt: -1 });
/**
 * The bureau's notifications by audience, newest first; their unread count and mark-all-read.
 * Partial (those of no organisation): the organisations' many are not in it. Queries repeat
 * its filter word for word (BUREAU_ONLY), which DocumentDB needs to use it.
 */
export const BUREAU_ONLY = { organizationId: { $type: 'null' } } as const;
notificationSchema.index({ audience: 1, createdAt: -1 }, { name: 'bureau_by_audience', partialFilterExpression: BUREAU_ONLY });
/** The sweeper of mail still pending: the few pending ones (their age is checked on them). */
notificationSchema.index({ 'email.status': 1 });

export const Notification = mongoose.model('Notification', notificationSchema);

const outboxSchema = new Schema(
  {
    _id: { type: String, required: true },
    to: { type: [String], required: true },
    from: { type: String, required: true },
    subject: { type: String, required: true },
    text: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false },
);
outboxSchema.index({ createdAt: -1 });

/** Mail that would have been sent, when no SMTP server is configured. */
export const OutboxMail = mongoose.model('OutboxMail', outboxSchema);
