/**
 * Sign-in throttling in Redis, so it holds across web processes: consecutive failures
 * per account and failures per client address, each blocking for a while once exceeded.
 */
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { rateLimited } from '../../lib/rate-limit';

export interface LoginLimits {
  perAccount: number;
  perIp: number;
  blockSeconds: number;
}

export class LoginLimiter {
  private readonly byAccount: RateLimiterRedis;
  private readonly byIp: RateLimiterRedis;

  constructor(redis: Redis, private readonly limits: LoginLimits, prefix: string) {
    const common = { storeClient: redis, duration: limits.blockSeconds, blockDuration: limits.blockSeconds };
    this.byAccount = new RateLimiterRedis({ ...common, keyPrefix: `${prefix}:login-account`, points: limits.perAccount });
    this.byIp = new RateLimiterRedis({ ...common, keyPrefix: `${prefix}:login-ip`, points: limits.perIp });
  }

  /** Throws 429 when the account or the address is blocked right now. */
  async check(account: string, ip: string): Promise<void> {
    const [acct, addr] = await Promise.all([this.byAccount.get(account), this.byIp.get(ip)]);
    const blocked = [acct && acct.consumedPoints >= this.limits.perAccount ? acct : null, addr && addr.consumedPoints >= this.limits.perIp ? addr : null]
      .filter((r): r is RateLimiterRes => r !== null);
    if (blocked.length) throw rateLimited('SIGN_IN_RATE_LIMITED', Math.max(...blocked.map((r) => r.msBeforeNext)));
  }

  async recordFailure(account: string, ip: string): Promise<void> {
    const results = await Promise.allSettled([this.byAccount.consume(account), this.byIp.consume(ip)]);
    for (const r of results) {
      // A RateLimiterRes rejection only means "limit reached": the next check answers 429.
      if (r.status === 'rejected' && !(r.reason instanceof RateLimiterRes)) throw r.reason;
    }
  }

  async recordSuccess(account: string): Promise<void> {
    await this.byAccount.delete(account);
  }
}
