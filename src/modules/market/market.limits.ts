/**
 * The board's rate limits, per organisation, counted in Redis (lib/rate-limit: consume-first,
 * atomic, so 30 posts in parallel cannot pass a limit of 20). The API answers 429
 * RATE_LIMITED; the pages say which limit was reached and how long to wait.
 */
import type { Redis } from 'ioredis';
import { AppError } from '../../lib/errors';
import { KeyLimiter } from '../../lib/rate-limit';

/** Our choice: enough for any real organisation, too few for a flood. */
export const MARKET_LIMITS = {
  /** New listings per organisation per day. */
  listings: { points: 20, seconds: 86_400 },
  /** Edits of listings (each goes back to the bureau) per organisation per day. */
  edits: { points: 60, seconds: 86_400 },
  /** Interest messages per organisation per hour. */
  interests: { points: 30, seconds: 3_600 },
  /** Contract drafts started from listings per organisation per day. */
  drafts: { points: 20, seconds: 86_400 },
} as const;

export type MarketLimit = keyof typeof MARKET_LIMITS;

export class MarketLimiters {
  private readonly limiters: Record<MarketLimit, KeyLimiter>;

  constructor(redis: Redis, prefix: string) {
    const make = (name: MarketLimit) => new KeyLimiter(redis, `${prefix}:market-${name}`, MARKET_LIMITS[name].points, MARKET_LIMITS[name].seconds, `MARKET_${name.toUpperCase()}_RATE_LIMITED`);
    this.limiters = { listings: make('listings'), edits: make('edits'), interests: make('interests'), drafts: make('drafts') };
  }

  /** Counts one `what` for the organisation; a 429 naming the limit once it is used up. */
  async consume(what: MarketLimit, organizationId: string): Promise<void> {
    try {
      await this.limiters[what].consume(organizationId);
    } catch (err) {
      if (!(err instanceof AppError) || err.kind !== 'RATE_LIMITED') throw err;
      const retryAfter = Number(err.extra?.retryAfter ?? 60);
      const minutes = Math.max(1, Math.ceil(retryAfter / 60));
      const hours = Math.max(1, Math.ceil(retryAfter / 3600));
      throw new AppError('RATE_LIMITED', {
        code: err.code,
        messageKey: `market.rateLimited_${what}`,
        params: { max: MARKET_LIMITS[what].points, minutes, hours },
        extra: err.extra,
      });
    }
  }
}
