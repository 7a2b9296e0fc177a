/** The shared rate-limit pieces against the real Redis: the growing wait and client address keys. */
import { connectRedis, createFailFastRedis } from '../../src/lib/redis';
import { EscalatingLimiter } from '../../src/lib/rate-limit';
import { testLogger, uniqueName } from '../support/harness';

const redis = createFailFastRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:1', testLogger, 'rate-limit-test');
beforeAll(async () => {
  await connectRedis(redis);
});
afterAll(() => {
  redis.disconnect();
});

function limiter() {
  const keyPrefix = uniqueName('esc');
  const l = new EscalatingLimiter(redis, { keyPrefix, points: 2, windowSeconds: 900, firstDelaySeconds: 60, maxDelaySeconds: 300, memorySeconds: 86400 });
  // The wait ending, without waiting: the counter's key expires.
  const waitEnds = (key: string) => redis.del(`${keyPrefix}:${key}`);
  return { l, waitEnds, escalations: (key: string) => redis.get(`${keyPrefix}-esc:${key}`) };
}

describe('EscalatingLimiter', () => {
  it('lets `points` attempts through, then waits 1, 2, 4 minutes… up to the longest wait', async () => {
    const { l, waitEnds } = limiter();
    const waits: number[] = [];
    for (let round = 0; round < 5; round++) {
      expect(await l.consume('k')).toEqual({ ok: true });
      expect(await l.consume('k')).toEqual({ ok: true });
      const refused = await l.consume('k');
      if (refused.ok) throw new Error('expected a refusal');
      waits.push(refused.msBeforeNext);
      // Further attempts during the wait are refused without making it longer.
      const again = await l.consume('k');
      expect(again.ok).toBe(false);
      expect(again.ok === false && again.msBeforeNext).toBeLessThanOrEqual(refused.msBeforeNext);
      await waitEnds('k');
    }
    expect(waits).toEqual([60_000, 120_000, 240_000, 300_000, 300_000]);
  });

  it('counts parallel attempts atomically: exactly `points` of them pass, and the wait grows once', async () => {
    const { l, escalations } = limiter();
    const results = await Promise.all(Array.from({ length: 30 }, () => l.consume('p')));
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    const waits = results.flatMap((r) => (r.ok ? [] : [r.msBeforeNext]));
    expect(waits).toHaveLength(28);
    expect(Math.max(...waits)).toBeLessThanOrEqual(900_000);
    expect(waits.filter((w) => w === 60_000).length).toBeGreaterThanOrEqual(1);
    expect(await escalations('p')).toBe('1');
  });

  it('gives an attempt back with reward, and forgets everything with reset', async () => {
    const { l, waitEnds } = limiter();
    await l.consume('r');
    await l.reward('r');
    expect(await l.consume('r')).toEqual({ ok: true });
    expect(await l.consume('r')).toEqual({ ok: true });
    expect((await l.consume('r')).ok).toBe(false);
    await waitEnds('r');
    await l.consume('r');
    await l.consume('r');
    expect(await l.consume('r')).toEqual({ ok: false, msBeforeNext: 120_000 });
    await l.reset('r');
    await l.consume('r');
    await l.consume('r');
    expect(await l.consume('r')).toEqual({ ok: false, msBeforeNext: 60_000 });
  });
});
