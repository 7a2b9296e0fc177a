/**
 * The one way to notify: `notifyEvent(deps, 'filing.refused', { contractId, organizationId, …params }, key)`.
 * The catalogue says who receives the event and renders it in both languages; the key makes
 * it once-only (a retried job never notifies twice). Batched events (a digest) are counted
 * into the open window's notification instead, and mailed when the window closes.
 */
import type { Logger } from '../../lib/logger';
import { enqueue, type Queues } from '../../lib/queues';
import { isDuplicateKey } from '../../lib/errors';
import { eventDef, renderEvent, type EventDef, type EventKey, type EventParams } from './catalogue';
import { DigestWindow, Notification } from './notification.model';
import { notificationJobId, notify } from './notifications.service';

/**
 * Where notification mail is queued. Without queues the notification is still recorded at once
 * and its mail goes out with the maintenance sweep of pending mail (about a minute later).
 */
export interface NotifyDeps {
  queues: Queues | null;
  logger?: Logger;
}

/** What a notification is about: the organisation it goes to (an organisation's event) and the contract. */
export interface NotifyTarget {
  organizationId?: string | null;
  contractId?: string | null;
}

/**
 * Records the event's notification once per `key` and queues its mail. For a batched event,
 * `key` names the item counted (e.g. `contract:<id>:s1`): it is added to the open digest.
 */
export async function notifyEvent<E extends EventKey>(deps: NotifyDeps, event: E, params: EventParams<E> & NotifyTarget, key: string): Promise<void> {
  const def = eventDef(event);
  if (def.batch) return joinDigest(deps, event, def, key);
  const target = params as NotifyTarget;
  const r = renderEvent(event, params);
  await notify(
    deps.queues,
    {
      key,
      audience: r.audience,
      organizationId: r.audience === 'organization' ? (target.organizationId ?? null) : null,
      contractId: target.contractId ?? null,
      kind: r.kind,
      subject: r.subject,
      subjectEn: r.subjectEn,
      body: r.body,
      bodyEn: r.bodyEn,
      link: r.link,
    },
    deps.logger,
  );
}

/** How long after its window closes a digest's mail goes, so an item joining at the last moment is in it. */
const DIGEST_MAIL_GRACE_MS = 5_000;

/**
 * The window open now for a batched event, opening one when none is. Of two processes opening
 * at once, one's update matches the closed (or missing) window and the other's upsert collides
 * with it on `_id`: that one then joins the window just opened.
 */
async function openWindow(event: string, windowMs: number, now: Date): Promise<Date> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const open = await DigestWindow.findOne({ _id: event, closesAt: { $gt: now } }).lean();
    if (open) return open.closesAt;
    try {
      const opened = await DigestWindow.findOneAndUpdate(
        { _id: event, closesAt: { $lte: now } },
        { $set: { closesAt: new Date(now.getTime() + windowMs) } },
        { upsert: true, returnDocument: 'after' },
      ).lean();
      if (opened) return opened.closesAt;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }
  throw new Error(`no digest window for ${event}`);
}

/**
 * Counts `item` into the digest of the window open now: the window's notification is created by
 * the first item (raw driver upsert: the item is added in the same step, and no schema default
 * gets in the way), its texts re-rendered for the count after each. An item is counted once
 * (`$addToSet`). The texts are written only if the count is still the one rendered, so the last
 * item's rendering is the one that stays.
 */
async function joinDigest(deps: NotifyDeps, event: EventKey, def: EventDef, item: string, now = new Date()): Promise<void> {
  const batch = def.batch!;
  const closesAt = await openWindow(event, batch.windowMs, now);
  const key = `digest:${event}:${closesAt.getTime()}`;
  const first = renderEvent(event, batch.count([item]));
  const insert = {
    audience: first.audience,
    organizationId: null,
    contractId: null,
    kind: first.kind,
    subject: first.subject,
    subjectEn: first.subjectEn,
    body: first.body,
    bodyEn: first.bodyEn,
    link: first.link,
    createdAt: now,
    mailAfter: closesAt,
    readBy: [],
    email: { status: 'pending', to: [] },
    version: 0,
  };
  const add = () => Notification.collection.updateOne({ _id: key as never }, { $setOnInsert: insert, $addToSet: { digestItems: item } }, { upsert: true });
  try {
    await add();
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    await add(); // another item created it at the same moment: now it is there to add to
  }
  const doc = await Notification.findById(key).select({ digestItems: 1 }).lean();
  const items = doc?.digestItems ?? [];
  const r = renderEvent(event, batch.count(items));
  await Notification.updateOne(
    { _id: key, digestItems: { $size: items.length } },
    { $set: { subject: r.subject, subjectEn: r.subjectEn, body: r.body, bodyEn: r.bodyEn } },
  );
  if (!deps.queues) return;
  try {
    // One job per digest (its id is the digest's), waiting until the window closes.
    const delay = Math.max(0, closesAt.getTime() - Date.now()) + DIGEST_MAIL_GRACE_MS;
    await enqueue(deps.queues, 'notifications', 'send', { notificationId: key }, notificationJobId(key), { delay });
  } catch (err) {
    deps.logger?.warn({ key, err: (err as Error).message }, 'digest mail not enqueued; the sweeper will');
  }
}

/**
 * `notifyEvent` for what follows something already done (a filing moved to review, a
 * certificate rendered): a failure is logged, not thrown, so the work it reports is not
 * retried or answered with an error for the notification's sake.
 */
export async function notifyEventQuietly<E extends EventKey>(deps: NotifyDeps, event: E, params: EventParams<E> & NotifyTarget, key: string): Promise<void> {
  try {
    await notifyEvent(deps, event, params, key);
  } catch (err) {
    deps.logger?.warn({ event, key, err: (err as Error).message }, 'notification not recorded');
  }
}
