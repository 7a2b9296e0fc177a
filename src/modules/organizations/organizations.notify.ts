/**
 * Telling an organisation about the bureau's decisions on it (verification, name changes),
 * through the notifications catalogue, which words them in both languages.
 */
import { notifyEvent, type NotifyDeps } from '../notifications/notifications.events';

export type { NotifyDeps };

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
  try {
    const target = { organizationId, contractId: null };
    if (event === 'verified') await notifyEvent(deps, 'organization.verified', { ...target, name: params.name }, key);
    else if (event === 'rejected') await notifyEvent(deps, 'organization.rejected', { ...target, name: params.name, reason: params.reason }, key);
    else if (event === 'name_change_approved') await notifyEvent(deps, 'organization.name_change_approved', { ...target, name: params.name, newName: params.newName ?? '' }, key);
    else await notifyEvent(deps, 'organization.name_change_rejected', { ...target, name: params.name, newName: params.newName ?? '', reason: params.reason }, key);
  } catch (err) {
    deps.logger?.warn({ organizationId, key, err: (err as Error).message }, 'organisation notification not recorded');
  }
}
