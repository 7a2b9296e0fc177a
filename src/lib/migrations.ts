/**
 * Data changes that must run once over existing data (new code keeps new data right by
 * itself). Each is idempotent, so two processes starting together, or a run cut short and
 * started again, do no harm; it is marked done only once it has finished.
 */
import mongoose, { Schema } from 'mongoose';
import type { Logger } from './logger';

const migrationSchema = new Schema({ _id: { type: String, required: true }, doneAt: { type: Date, required: true }, changed: { type: Number, default: 0 } }, { versionKey: false });
export const Migration = mongoose.model('Migration', migrationSchema);

/** Runs `change` unless it is marked done; `change` returns how many documents it changed. */
export async function runOnce(name: string, change: () => Promise<number>, logger: Logger): Promise<void> {
  if (await Migration.exists({ _id: name })) return;
  const started = Date.now();
  const changed = await change();
  await Migration.updateOne({ _id: name }, { $setOnInsert: { doneAt: new Date(), changed } }, { upsert: true });
  logger.info({ migration: name, changed, ms: Date.now() - started }, 'data migration done');
}
