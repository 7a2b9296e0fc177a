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
  // Signing in to FerretDB needs PostgreSQL: one restarting just then is waited out.
  // (Not when no server answers at all, which already waited 10 s, nor for a wrong password.)
  const worthRetrying = (err: unknown) => {
    const e = err as { name?: string; code?: number };
    return e.name !== 'MongoServerSelectionError' && e.code !== 18;
  };
  await retrying('connecting to the database', logger, async () => {
    await mongoose.connect(uri, { serverSelectionTimeoutMS: 10_000, heartbeatFrequencyMS: 2_000, monitorCommands: opts.monitorCommands ?? false });
  }, worthRetrying);
  return mongoose;
}

/**
 * Creates every registered model's collection and makes its indexes those its schema declares
 * (creating missing ones, dropping ones the schema no longer has); safe to run on every start.
 */
export async function ensureIndexes(logger?: Logger): Promise<void> {
  for (const model of Object.values(mongoose.models)) {
    // A database restarting under a starting process (seen with PostgreSQL behind FerretDB:
    // "broken pipe", "the database system is starting up") is waited out, not fatal.
    await retrying(`indexes of ${model.collection.collectionName}`, logger, async () => {
      await model.createCollection().catch((err: { codeName?: string }) => {
        if (err.codeName !== 'NamespaceExists') throw err;
      });
      await model.syncIndexes();
    });
  }
}

/** Runs `fn`, retrying with growing pauses for up to about a minute before giving up. */
async function retrying(what: string, logger: Logger | undefined, fn: () => Promise<void>, worthRetrying: (err: unknown) => boolean = () => true): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 8 || !worthRetrying(err)) throw err;
      logger?.warn({ err: (err as Error).message, attempt }, `${what}: retrying`);
      await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** (attempt - 1), 15_000)));
    }
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
