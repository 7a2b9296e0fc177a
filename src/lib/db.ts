/** The MongoDB connection (real MongoDB in production, FerretDB locally and in tests). */
import mongoose from 'mongoose';
import type { Logger } from './logger';

// Fail fast instead of queueing operations while the database is away: a request then
// answers 503 at once rather than hanging.
mongoose.set('bufferCommands', false);
// Indexes are built explicitly at boot (syncIndexes below), not behind the app's back.
mongoose.set('autoIndex', false);
mongoose.set('autoCreate', false);
mongoose.set('strictQuery', true);

export async function connectDatabase(uri: string, logger: Logger, opts: { monitorCommands?: boolean } = {}): Promise<typeof mongoose> {
  mongoose.connection.on('disconnected', () => logger.warn('database disconnected'));
  mongoose.connection.on('reconnected', () => logger.info('database reconnected'));
  await mongoose.connect(uri, { serverSelectionTimeoutMS: 10_000, heartbeatFrequencyMS: 2_000, monitorCommands: opts.monitorCommands ?? false });
  return mongoose;
}

/**
 * Creates every registered model's collection and makes its indexes those its schema declares
 * (creating missing ones, dropping ones the schema no longer has); safe to run on every start.
 */
export async function ensureIndexes(): Promise<void> {
  for (const model of Object.values(mongoose.models)) {
    await model.createCollection().catch((err: { codeName?: string }) => {
      if (err.codeName !== 'NamespaceExists') throw err;
    });
    await model.syncIndexes();
  }
}

export async function disconnectDatabase(): Promise<void> {
  await mongoose.disconnect();
}

/** Pings the database; rejects when it does not answer within the limit. */
export async function pingDatabase(timeoutMs: number): Promise<void> {
  const db = mongoose.connection.db;
  if (mongoose.connection.readyState !== 1 || !db) throw new Error('database not connected');
  await withTimeout(db.admin().ping(), timeoutMs, 'database ping timed out');
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
