/** The bureau's settings of the board, stored as data: how long a published listing stays up. */
import { Types } from 'mongoose';
import { parseInput } from '../../lib/validation';
import type { CurrentUser } from '../accounts/current-user';
import { recordAudit } from '../audit/audit.service';
import { MarketSettings } from './listing.model';
import { EXPIRY_DAYS, settingsSchema } from './listing-input';

const SETTINGS_ID = 'market';

export interface MarketSettingsView {
  expiryDays: number;
  updatedAt: Date | null;
}

/** The settings in force (the default until an admin saves some). */
export async function getMarketSettings(): Promise<MarketSettingsView> {
  const s = await MarketSettings.findById(SETTINGS_ID).lean();
  return { expiryDays: s?.expiryDays ?? EXPIRY_DAYS.default, updatedAt: s?.updatedAt ?? null };
}

/** When a listing published or renewed now leaves the board. */
export async function expiryFrom(now: Date): Promise<Date> {
  const { expiryDays } = await getMarketSettings();
  return new Date(now.getTime() + expiryDays * 86_400_000);
}

/** Saves the expiry period (admins); listings already published keep their expiry until renewed. */
export async function setMarketSettings(actor: CurrentUser, input: unknown, ip?: string): Promise<MarketSettingsView> {
  const { expiryDays } = parseInput(settingsSchema, input);
  const before = await getMarketSettings();
  const updatedAt = new Date();
  await MarketSettings.updateOne({ _id: SETTINGS_ID }, { $set: { expiryDays, updatedAt, updatedBy: new Types.ObjectId(actor.id) } }, { upsert: true });
  await recordAudit({ actor, action: 'market.settings_changed', targetType: 'market', targetId: SETTINGS_ID, details: { expiryDays: { from: before.expiryDays, to: expiryDays } }, ip });
  return { expiryDays, updatedAt };
}
