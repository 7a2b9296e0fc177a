/** Telling applicants about decisions: in the app at once, by mail through a retried job. */
import nodemailer from 'nodemailer';
import { Types } from 'mongoose';
import type { Logger } from '../../lib/logger';
import { enqueue, type Queues } from '../../lib/queues';
import { isDuplicateKey } from '../../lib/errors';
import { User } from '../accounts/user.model';
import { Notification, OutboxMail } from './notification.model';

export interface NewNotification {
  key: string;
  organizationId: string;
  contractId: string | null;
  kind: string;
  subject: string;
  subjectEn: string;
  body: string;
  bodyEn: string;
}

export const notificationJobId = (key: string) => `notify-${key.replace(/:/g, '-')}`;

/** Records the notification (once per key) and queues its mail; a lost enqueue is swept later. */
export async function notify(queues: Queues | null, n: NewNotification, logger?: Logger): Promise<void> {
  try {
    await Notification.create({
      _id: n.key,
      organizationId: new Types.ObjectId(n.organizationId),
      contractId: n.contractId ? new Types.ObjectId(n.contractId) : null,
      kind: n.kind,
      subject: n.subject,
      subjectEn: n.subjectEn,
      body: n.body,
      bodyEn: n.bodyEn,
      createdAt: new Date(),
    });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  if (!queues) return;
  try {
    await enqueue(queues, 'notifications', 'send', { notificationId: n.key }, notificationJobId(n.key));
  } catch (err) {
    logger?.warn({ key: n.key, err: (err as Error).message }, 'notification mail not enqueued; the sweeper will');
  }
}

/** Enqueues the mail of notifications still pending (after a Redis outage). */
export async function requeuePendingMail(queues: Queues, olderThanMs = 60_000): Promise<number> {
  // The age is checked on the few pending (`$expr`), so DocumentDB does not scan an index holding
  // `createdAt` for "older than a minute", which is nearly every notification.
  const pending = await Notification.find({ 'email.status': 'pending', $expr: { $lt: ['$createdAt', new Date(Date.now() - olderThanMs)] } }).select({ _id: 1 }).lean();
  for (const p of pending) await enqueue(queues, 'notifications', 'send', { notificationId: p._id }, notificationJobId(p._id));
  return pending.length;
}

export interface MailSettings {
  smtpUrl: string | undefined;
  mailFrom: string;
}

export interface Mail {
  id: string;
  to: string[];
  subject: string;
  text: string;
}

/** Sends through SMTP when configured; otherwise keeps the mail in the local outbox. */
export function createMailer(settings: MailSettings) {
  const transport = settings.smtpUrl ? nodemailer.createTransport(settings.smtpUrl) : null;
  return {
    via: transport ? 'smtp' : 'outbox',
    async send(mail: Mail): Promise<void> {
      if (transport) {
        await transport.sendMail({ from: settings.mailFrom, to: mail.to, subject: mail.subject, text: mail.text, messageId: `<${mail.id}@registry>` });
        return;
      }
      try {
        await OutboxMail.create({ _id: mail.id, to: mail.to, from: settings.mailFrom, subject: mail.subject, text: mail.text, createdAt: new Date() });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    },
  };
}

export type Mailer = ReturnType<typeof createMailer>;

/**
 * Mails a notification to its organisation's members, at most once: the send is claimed by
 * one atomic update of the notification (pending → sending), and given back (→ pending) only
 * when the send failed, so the retry may send. A process that dies mid-send leaves it
 * `sending`: not mailing twice matters more than mailing at all (it is in the app anyway).
 */
export async function sendNotificationMail(mailer: Mailer, notificationId: string): Promise<'sent' | 'skipped' | 'no_recipients'> {
  const n = await Notification.findById(notificationId).lean();
  if (!n || n.email?.status !== 'pending') return 'skipped';
  const members = await User.find({ organizationId: n.organizationId, disabled: false }).select({ email: 1 }).lean();
  const to = members.map((m) => m.email);
  const pending = { _id: notificationId, 'email.status': 'pending' };
  if (!to.length) {
    await Notification.updateOne(pending, { $set: { email: { status: 'no_recipients', to: [] } } });
    return 'no_recipients';
  }
  const claimed = await Notification.findOneAndUpdate(pending, { $set: { 'email.status': 'sending', 'email.to': to } }).lean();
  if (!claimed) return 'skipped';
  try {
    await mailer.send({ id: notificationId, to, subject: `${n.subject} / ${n.subjectEn}`, text: `${n.body}\n\n${n.bodyEn}` });
  } catch (err) {
    await Notification.updateOne({ _id: notificationId, 'email.status': 'sending' }, { $set: { 'email.status': 'pending', 'email.error': (err as Error).message.slice(0, 500) } });
    throw err;
  }
  await Notification.updateOne({ _id: notificationId }, { $set: { email: { status: 'sent', to, sentAt: new Date(), via: mailer.via } } });
  return 'sent';
}

export async function listNotifications(organizationId: string, limit = 50) {
  return Notification.find({ organizationId: new Types.ObjectId(organizationId) }).sort({ createdAt: -1 }).limit(limit).lean();
}

export async function unreadCount(organizationId: string, userId: string): Promise<number> {
  return Notification.countDocuments({ organizationId: new Types.ObjectId(organizationId), readBy: { $ne: new Types.ObjectId(userId) } });
}

export async function markAllRead(organizationId: string, userId: string): Promise<void> {
  const uid = new Types.ObjectId(userId);
  // $addToSet is atomic per document: two tabs marking at once add the reader once.
  await Notification.updateMany({ organizationId: new Types.ObjectId(organizationId), readBy: { $ne: uid } }, { $addToSet: { readBy: uid } });
}

export async function listOutbox(limit = 100) {
  return OutboxMail.find().sort({ createdAt: -1 }).limit(limit).lean();
}
