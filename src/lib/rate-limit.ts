/**
 * Rate limits counted in Redis, so they hold across web processes.
 *
 * Every limit here is consume-first: the attempt is counted by one atomic Redis script
 * (rate-limiter-flexible's `consume`) *before* the work it guards runs, and given back
 * (`reward` / `delete`) when it turns out not to count. Reading a counter (`get`) and
 * counting later lets every request in flight pass the read, so N parallel requests
 * would all be served; never gate on `get`.
 */
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from './errors';

/** A 429 saying how long to wait: in seconds for the Retry-After header and the API body, in words for people. */
export function rateLimited(code: string, msBeforeNext: number): AppError {
  const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
  const inMinutes = retryAfter >= 120;
  return new AppError('RATE_LIMITED', {
    code,
    messageKey: inMinutes ? 'errors.rateLimitedMinutes' : 'errors.rateLimitedSeconds',
    params: { wait: inMinutes ? Math.ceil(retryAfter / 60) : retryAfter },
    extra: { retryAfter },
  });
}

/** A fixed-window limit per key (e.g. sign-ups per client address). */
export class KeyLimiter {
  private readonly limiter: RateLimiterRedis;

  constructor(redis: Redis, keyPrefix: string, points: number, seconds: number, private readonly code: string) {
    this.limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration: seconds });
  }

  /** Counts one attempt (atomically, before the work); throws 429 once the key has used up its window. */
  async consume(key: string): Promise<void> {
    try {
      await this.limiter.consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw rateLimited(this.code, err.msBeforeNext);
      throw err;
    }
  }
}

export interface EscalatingLimitOptions {
  keyPrefix: string;
  /** Attempts allowed within a window before the first wait. */
  points: number;
  /** How long (seconds) attempts are counted together; the window starts with the first one. */
  windowSeconds: number;
  /** The first wait (seconds) once `points` are used up. */
  firstDelaySeconds: number;
  /** The longest wait (seconds): each further time the limit is reached doubles the wait up to this. */
  maxDelaySeconds: number;
  /** How long (seconds) reaching the limit is remembered for the doubling. */
  memorySeconds: number;
}

export type Consumed = { ok: true } | { ok: false; msBeforeNext: number };

/**
 * A limit that answers with a short, growing wait instead of a long block: `points`
 * attempts per window, then a wait of `firstDelaySeconds`; after the wait `points`
 * attempts again, and each further time they are used up the wait doubles, up to
 * `maxDelaySeconds`. Built from rate-limiter-flexible's own primitives (its documented
 * "dynamic block duration" pattern): `consume` counts, a second limiter counts how often
 * the limit was reached (`penalty`), and `block` sets the wait.
 */
export class EscalatingLimiter {
  private readonly attempts: RateLimiterRedis;
  private readonly escalations: RateLimiterRedis;

  constructor(redis: Redis, private readonly opts: EscalatingLimitOptions) {
    this.attempts = new RateLimiterRedis({ storeClient: redis, keyPrefix: opts.keyPrefix, points: opts.points, duration: opts.windowSeconds });
    // Only ever counted with `penalty`, never gated: `points` just has to be valid.
    this.escalations = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${opts.keyPrefix}-esc`, points: 1, duration: opts.memorySeconds });
  }

  /** Counts one attempt atomically; says whether it may go ahead and, if not, how long to wait. */
  async consume(key: string): Promise<Consumed> {
    try {
      await this.attempts.consume(key);
      return { ok: true };
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      // The increment is atomic, so exactly one attempt sees the count step just past the
      // limit: that one escalates and sets the wait; the others are simply refused.
      if (err.consumedPoints !== this.opts.points + 1) return { ok: false, msBeforeNext: Math.max(1000, err.msBeforeNext) };
      const times = (await this.escalations.penalty(key)).consumedPoints;
      const delay = Math.min(this.opts.firstDelaySeconds * 2 ** Math.min(times - 1, 20), this.opts.maxDelaySeconds);
      await this.attempts.block(key, delay);
      return { ok: false, msBeforeNext: delay * 1000 };
    }
  }

  /** Gives back one attempt that turned out not to count (it succeeded, or was never carried out). */
  async reward(key: string): Promise<void> {
    await this.attempts.reward(key);
  }

  /** Forgets the key's attempts and escalations (e.g. the client proved it knows the password). */
  async reset(key: string): Promise<void> {
    await Promise.all([this.attempts.delete(key), this.escalations.delete(key)]);
  }
}
