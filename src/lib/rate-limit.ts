/** A fixed-window limit per key (e.g. per client address), counted in Redis across processes. */
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from './errors';

export function rateLimited(code: string, msBeforeNext: number): AppError {
  return new AppError('RATE_LIMITED', { code, extra: { retryAfter: Math.max(1, Math.ceil(msBeforeNext / 1000)) } });
}

export class KeyLimiter {
  private readonly limiter: RateLimiterRedis;

  constructor(redis: Redis, keyPrefix: string, points: number, seconds: number, private readonly code: string) {
    this.limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration: seconds });
  }

  /** Counts one attempt; throws 429 once the key has used up its window. */
  async consume(key: string): Promise<void> {
    try {
      await this.limiter.consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw rateLimited(this.code, err.msBeforeNext);
      throw err;
    }
  }
}
