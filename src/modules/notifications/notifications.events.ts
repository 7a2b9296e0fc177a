/**
 * The one way to notify: `notifyEvent(deps, 'filing.refused', { contractId, organizationId, …params }, key)`.
 * The catalogue says who receives the event and renders it in both languages; the key makes
 * it once-only (a retried job never notifies twice).
 */
import type { Logger } from '../../lib/logger';
import type { Queues } from '../../lib/queues';
import { renderEvent, type EventKey, type EventParams } from './catalogue';
import { notify } from './notifications.service';

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

/** Records the event's notification once per `key` and queues its mail. */
export async function notifyEvent<E extends EventKey>(deps: NotifyDeps, event: E, params: EventParams<E> & NotifyTarget, key: string): Promise<void> {
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
