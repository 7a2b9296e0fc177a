/**
 * Telling an organisation about the bureau's decisions on it (verification, name changes),
 * through the notifications module, in both languages from the i18n tables.
 */
import type { i18n as I18n } from 'i18next';
import { createI18n } from '../../i18n';
import type { Logger } from '../../lib/logger';
import type { Queues } from '../../lib/queues';
import { notify } from '../notifications/notifications.service';

/**
 * Where notification mail is queued. Without queues the notification is still recorded at once
 * and its mail goes out with the maintenance sweep of pending mail (about a minute later).
 */
export interface NotifyDeps {
  queues: Queues | null;
  logger?: Logger;
}

let i18n: I18n | null = null;
function both(key: string, params: Record<string, unknown>): { zh: string; en: string } {
  i18n ??= createI18n();
  return { zh: String(i18n.getFixedT('zh-CN')(key, params)), en: String(i18n.getFixedT('en')(key, params)) };
}

export type OrganizationEvent = 'verified' | 'rejected' | 'name_change_approved' | 'name_change_rejected';

/**
 * Notifies the organisation once per event (`key` names the event). A failure is logged, not
 * thrown: the decision it reports has already been made and must not answer 500.
 */
export async function notifyOrganization(
  deps: NotifyDeps,
  event: OrganizationEvent,
  organizationId: string,
  key: string,
  params: { name: string; reason?: string | null; newName?: string },
): Promise<void> {
  const p = { ...params, reason: params.reason ?? '' };
  const subject = both(`orgProfile.notify.${event}.subject`, p);
  const body = both(`orgProfile.notify.${event}.body`, p);
  try {
    await notify(
      deps.queues,
      { key, organizationId, contractId: null, kind: `organization_${event}`, subject: subject.zh, subjectEn: subject.en, body: body.zh, bodyEn: body.en },
      deps.logger,
    );
  } catch (err) {
    deps.logger?.warn({ organizationId, key, err: (err as Error).message }, 'organisation notification not recorded');
  }
}
