/**
 * Notifications stored, listed and mailed: in the app at once, by mail through a retried job.
 * What they say comes from the catalogue (catalogue.ts, through notifyEvent); this is where
 * they are kept and sent, to an organisation's members or to the bureau's users by role.
 */
import type Nodemailer from 'nodemailer';
import { Types } from 'mongoose';
import type { Logger } from '../../lib/logger';
import { enqueue, type Queues } from '../../lib/queues';
import { isDuplicateKey } from '../../lib/errors';
import { User } from '../accounts/user.model';
import { AUDIENCE_ROLES, bureauAudiencesOf, type Audience } from './catalogue';
import { BUREAU_ONLY, Notification, OutboxMail } from './notification.model';

export interface NewNotification {
  key: string;
  /** An organisation's (the default), or the bureau's by role. */
  audience?: Audience;
  /** The organisation it is for; null for the bureau's. */
  organizationId: string | null;
  contractId: string | null;
  kind: string;
  subject: string;
  subjectEn: string;
  body: string;
  bodyEn: string;
  link?: { href: string; text: string; textEn: string } | null;
}

export const notificationJobId = (key: string) => `notify-${key.replace(/:/g, '-')}`;

/** Records the notification (once per key) and queues its mail; a lost enqueue is swept later. */
export async function notify(queues: Queues | null, n: NewNotification, logger?: Logger): Promise<void> {
  const audience = n.audience ?? 'organization';
  // An organisation's notification names it; the bureau's names none (so no applicant ever lists it).
  if ((audience === 'organization') !== Boolean(n.organizationId)) throw new Error(`notification ${n.key}: audience ${audience} with organisation ${n.organizationId}`);
  try {
    await Notification.create({
      _id: n.key,
      audience,
      organizationId: n.organizationId ? new Types.ObjectId(n.organizationId) : null,
      contractId: n.contractId ? new Types.ObjectId(n.contractId) : null,
      kind: n.kind,
      subject: n.subject,
      subjectEn: n.subjectEn,
      body: n.body,
      bodyEn: n.bodyEn,
      link: n.link ?? null,
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

/** Which of these notification keys have been notified already (one read for many). */
export async function notifiedAlready(keys: string[]): Promise<Set<string>> {
  if (!keys.length) return new Set();
  return new Set((await Notification.find({ _id: { $in: keys } }).select({ _id: 1 }).lean()).map((n) => String(n._id)));
}

/** Enqueues the mail of notifications still pending (after a Redis outage). */
export async function requeuePendingMail(queues: Queues, olderThanMs = 60_000): Promise<number> {
  // The age is checked on the few pending (`$expr`), so DocumentDB does not scan an index holding
  // `createdAt` for "older than a minute", which is nearly every notification.
  const cutoff = new Date(Date.now() - olderThanMs);
  const pending = await Notification.find({ 'email.status': 'pending', $expr: { $lt: ['$createdAt', cutoff] } })
    .select({ _id: 1 })
    .lean();
  for (const p of pending) await enqueue(queues, 'notifications', 'send', { notificationId: p._id }, notificationJobId(p._id));
  return pending.length;
}

export interface MailSettings {
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Where the app is reached, for the links in mail (relative links without it). */
  publicUrl?: string;
}

export interface Mail {
  id: string;
  to: string[];
  subject: string;
  text: string;
}

export interface Mailer {
  via: string;
  publicUrl?: string;
  send(mail: Mail): Promise<void>;
}

/** Sends through SMTP when configured; otherwise keeps the mail in the local outbox. */
export function createMailer(settings: MailSettings): Mailer {
  // nodemailer only where mail is sent through SMTP.
  const transport = settings.smtpUrl ? (require('nodemailer') as typeof Nodemailer).createTransport(settings.smtpUrl) : null;
  return {
    via: transport ? 'smtp' : 'outbox',
    publicUrl: settings.publicUrl,
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

/** Who a notification is mailed to: its organisation's members, or the bureau's users of its audience. */
async function recipientsOf(n: { audience?: string | null; organizationId?: Types.ObjectId | null }): Promise<string[]> {
  const audience = (n.audience ?? 'organization') as Audience;
  const users =
    audience === 'organization'
      ? await User.find({ organizationId: n.organizationId, disabled: false }).select({ email: 1 }).lean()
      : await User.find({ role: { $in: AUDIENCE_ROLES[audience] }, disabled: false }).select({ email: 1 }).lean();
  return users.map((u) => u.email);
}

/** The mail's text: the body and its link in each language. */
function mailText(n: { body: string; bodyEn: string; link?: { href?: string | null; text?: string | null; textEn?: string | null } | null }, publicUrl = ''): string {
  const url = n.link?.href ? `${publicUrl}${n.link.href}` : null;
  const zh = url ? `${n.body}\n${n.link!.text}：${url}` : n.body;
  const en = url ? `${n.bodyEn}\n${n.link!.textEn}: ${url}` : n.bodyEn;
  return `${zh}\n\n${en}`;
}

/**
 * Mails a notification to its recipients, at most once: the send is claimed by one atomic
 * update of the notification (pending → sending), and given back (→ pending) only when the
 * send failed, so the retry may send. A process that dies mid-send leaves it `sending`: not
 * mailing twice matters more than mailing at all (it is in the app anyway).
 */
export async function sendNotificationMail(mailer: Mailer, notificationId: string): Promise<'sent' | 'skipped' | 'no_recipients'> {
  const n = await Notification.findById(notificationId).lean();
  if (!n || n.email?.status !== 'pending') return 'skipped';
  const to = await recipientsOf(n);
  const pending = { _id: notificationId, 'email.status': 'pending' };
  if (!to.length) {
    await Notification.updateOne(pending, { $set: { email: { status: 'no_recipients', to: [] } } });
    return 'no_recipients';
  }
  const claimed = await Notification.findOneAndUpdate(pending, { $set: { 'email.status': 'sending', 'email.to': to } }).lean();
  if (!claimed) return 'skipped';
  try {
    await mailer.send({ id: notificationId, to, subject: `${n.subject} / ${n.subjectEn}`, text: mailText(n, mailer.publicUrl) });
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

// ── The bureau's notifications ───────────────────────────────────────────────────────────

/** The bureau user's notifications: those of the audiences their role belongs to. */
const bureauFilter = (role: string) => ({ ...BUREAU_ONLY, audience: { $in: bureauAudiencesOf(role) } });

export async function listBureauNotifications(role: string, limit = 50) {
  return Notification.find(bureauFilter(role)).sort({ createdAt: -1 }).limit(limit).lean();
}

export async function bureauUnreadCount(role: string, userId: string): Promise<number> {
  return Notification.countDocuments({ ...bureauFilter(role), readBy: { $ne: new Types.ObjectId(userId) } });
}

export async function markAllBureauRead(role: string, userId: string): Promise<void> {
  const uid = new Types.ObjectId(userId);
  await Notification.updateMany({ ...bureauFilter(role), readBy: { $ne: uid } }, { $addToSet: { readBy: uid } });
}

export async function listOutbox(limit = 100) {
  return OutboxMail.find().sort({ createdAt: -1 }).limit(limit).lean();
}
