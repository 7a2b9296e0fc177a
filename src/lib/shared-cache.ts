/**
 * Records that nearly every request reads and that rarely change (the signed-in user, the API
 * token, the applicant's organisation), remembered for a few seconds per process so that a
 * request does not spend database round trips on them.
 *
 * Staleness is closed by invalidation, not by waiting: every write to such a record through
 * its model (disabling a user, a password change, a member's removal, revoking a token,
 * verifying an organisation, and any other path, including ones added later) drops the
 * affected entries in this process at once and tells every other process over Redis. The
 * cache is only used while this process is subscribed to those messages: while the
 * subscription is down (Redis restarting) every request reads the database, and everything
 * remembered is dropped when it comes back. A read that started before an invalidation is
 * never stored (generation check), and every entry also ends after a short TTL as a last resort.
 * Values are frozen: callers share them.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { MongooseQueryMiddleware, Query, Schema } from 'mongoose';
import type { Logger } from './logger';

export type Namespace = 'user' | 'token' | 'organization';

/** What a write made stale: one record, the tokens of one user, or (when unsure) everything. */
export type Invalidation = { ns: Namespace; key: string } | { ns: 'token'; userId: string } | { all: true };

type Entry = { value: unknown; until: number; expiresAt?: number; userId?: string };

const TTL_MS = 15_000;
const MAX_ENTRIES = 20_000;

interface Link {
  prefix: string;
  publisher: Redis;
  subscriber: Redis;
  live: boolean;
}

const channelOf = (prefix: string) => `${prefix}:cache-invalidate`;

export class SharedCache {
  private entries = new Map<string, Entry>();
  /** Tags this instance's messages: Redis echoes them back, and they were applied already. */
  private readonly origin = randomUUID();
  private links = new Set<Link>();
  private generation = 0;

  /** True while every subscription of this process is live (and there is at least one). */
  get enabled(): boolean {
    if (this.links.size === 0) return false;
    for (const l of this.links) if (!l.live) return false;
    return true;
  }

  /** Taken before a database read, and passed back to `store` with what it read. */
  get mark(): number {
    return this.generation;
  }

  get<T>(ns: Namespace, key: string): T | null {
    if (!this.enabled) return null;
    const k = `${ns}:${key}`;
    const e = this.entries.get(k);
    if (!e) return null;
    const now = Date.now();
    if (e.until <= now || (e.expiresAt !== undefined && e.expiresAt <= now)) {
      this.entries.delete(k);
      return null;
    }
    return e.value as T;
  }

  /**
   * Remembers a value read from the database, unless something was invalidated since `mark`.
   * `expiresAt` ends the entry early (a token's own expiry); `userId` ties it to a user's tokens.
   */
  store<T>(ns: Namespace, key: string, value: T, mark: number, extra: { expiresAt?: Date; userId?: string } = {}): T {
    if (!this.enabled || mark !== this.generation) return value;
    // Maps iterate in insertion order: past the cap, the oldest entry goes.
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(`${ns}:${key}`, { value: deepFreeze(value), until: Date.now() + TTL_MS, expiresAt: extra.expiresAt?.getTime(), userId: extra.userId });
    return value;
  }

  /**
   * The remembered value, or `load`'s (remembered when not null). `mark` defaults to now; a
   * caller whose reads began earlier passes the mark it took then.
   */
  async through<T>(ns: Namespace, key: string, load: () => Promise<T | null>, mark = this.generation): Promise<T | null> {
    const hit = this.get<T>(ns, key);
    if (hit) return hit;
    const value = await load();
    return value === null ? null : this.store(ns, key, value, mark);
  }

  /** Drops what a write made stale, here and (when linked to Redis) in every other process. */
  invalidate(what: Invalidation): void {
    this.drop(what);
    const message = JSON.stringify({ ...what, origin: this.origin });
    for (const l of this.links) {
      // Fire and forget: a lost message is covered by the receiver's reconnect flush and the TTL.
      l.publisher.publish(channelOf(l.prefix), message).catch(() => undefined);
    }
  }

  private drop(what: Invalidation): void {
    this.generation++;
    if ('all' in what) this.entries.clear();
    else if ('userId' in what) {
      for (const [k, e] of this.entries) if (k.startsWith('token:') && e.userId === what.userId) this.entries.delete(k);
    } else this.entries.delete(`${what.ns}:${what.key}`);
  }

  /**
   * Subscribes this process to invalidations under a queue prefix, which turns the cache on.
   * Returns the function that unlinks it (graceful shutdown).
   */
  async link(redis: Redis, prefix: string, logger: Logger): Promise<() => void> {
    const subscriber = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: false });
    const link: Link = { prefix, publisher: redis, subscriber, live: false };
    this.links.add(link);
    const down = () => {
      if (!link.live) return;
      link.live = false;
      this.drop({ all: true });
    };
    subscriber.on('error', (err) => logger.debug({ err: err.message }, 'cache subscriber error'));
    subscriber.on('close', down);
    subscriber.on('end', down);
    subscriber.on('message', (_channel, message) => {
      try {
        const { origin, ...what } = JSON.parse(message) as Invalidation & { origin?: string };
        if (origin !== this.origin) this.drop(what as Invalidation);
      } catch {
        this.drop({ all: true });
      }
    });
    const up = async () => {
      try {
        await subscriber.subscribe(channelOf(prefix));
        // Whatever was published while the link was down is unknown: start empty.
        this.drop({ all: true });
        link.live = true;
      } catch (err) {
        logger.debug({ err: (err as Error).message }, 'cache subscription failed');
      }
    };
    // On every (re)connection, once each; the first one is awaited here.
    let subscribing: Promise<void> | null = null;
    subscriber.on('ready', () => {
      subscribing = up();
    });
    if (subscriber.status === 'ready') subscribing = up();
    else await new Promise<void>((resolve) => subscriber.once('ready', () => resolve()));
    await subscribing;
    return () => {
      this.links.delete(link);
      link.live = false;
      subscriber.disconnect();
      this.drop({ all: true });
    };
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export const sharedCache = new SharedCache();

/** Every query that can change or remove documents (inserts change nothing remembered). */
const WRITE_QUERIES: MongooseQueryMiddleware[] = [
  'updateOne',
  'updateMany',
  'findOneAndUpdate',
  'replaceOne',
  'findOneAndReplace',
  'deleteOne',
  'deleteMany',
  'findOneAndDelete',
];

/**
 * Makes every write to a model's documents invalidate what the cache holds of them: by `_id`
 * when the write names one document, otherwise (or with `byFilter` saying so) everything.
 */
export function invalidateOnWrite(schema: Schema, ns: Namespace, byFilter?: (filter: Record<string, unknown>) => Invalidation | null): void {
  schema.post(WRITE_QUERIES, function (this: Query<unknown, unknown>) {
    const filter = this.getFilter();
    sharedCache.invalidate(byFilter?.(filter) ?? byId(ns, filter._id));
  });
  schema.post('save', (doc: { _id: unknown }) => sharedCache.invalidate(byId(ns, doc._id)));
}

/** One record when `id` names one (a string or an ObjectId), everything otherwise. */
export function byId(ns: Namespace, id: unknown): Invalidation {
  if (typeof id === 'string' || (id && typeof id === 'object' && 'toHexString' in id)) return { ns, key: String(id) };
  return { all: true };
}
