/**
 * Builds the real app against the suite's real services, with a database and queue prefix
 * of its own for each test file.
 */
import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { createApp, createWebHandler } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { connectDatabase, disconnectDatabase, ensureIndexes } from '../../src/lib/db';
import { createLogger } from '../../src/lib/logger';
import { createQueues } from '../../src/lib/queues';
import { connectRedis, createFailFastRedis } from '../../src/lib/redis';
import { TurnoverHub } from '../../src/modules/turnover/live';
import { refreshesSettled } from '../../src/modules/turnover/turnover.service';
import { sharedCache } from '../../src/lib/shared-cache';
import { mongoUriFor } from '../../scripts/local-services';
import '../../src/models';

export const testLogger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', pretty: false });

export function uniqueName(prefix: string): string {
  return `${prefix}${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

export function testConfig(overrides: Record<string, string> = {}): Readonly<Config> {
  const mongo = process.env.TEST_MONGO_URL;
  const redis = process.env.TEST_REDIS_URL;
  if (!mongo || !redis) throw new Error('the test services are not running (global setup)');
  return loadConfig({
    NODE_ENV: 'test',
    MONGODB_URI: mongoUriFor(mongo, uniqueName('test_')),
    REDIS_URL: redis,
    QUEUE_PREFIX: uniqueName('t'),
    SESSION_SECRET: randomUUID() + randomUUID(),
    LOG_LEVEL: 'silent',
    BOOTSTRAP_ADMIN_EMAIL: 'admin@bureau.test',
    BOOTSTRAP_ADMIN_PASSWORD: 'bootstrap-admin-pass',
    // Test files sign up hundreds of organisations from one address.
    SIGNUP_MAX_PER_IP_PER_HOUR: '100000',
    ...overrides,
  });
}

export type TestApp = Awaited<ReturnType<typeof startTestApp>>;

export async function startTestApp(overrides: Record<string, string> = {}) {
  const config = testConfig(overrides);
  await connectDatabase(config.mongodbUri, testLogger);
  await ensureIndexes();
  const redis = createFailFastRedis(config.redisUrl, testLogger, 'test-web');
  await connectRedis(redis);
  const queues = createQueues(redis, config.queuePrefix);
  const turnover = TurnoverHub.fromConfig(redis, config, testLogger);
  await turnover.start();
  // As in a web process: the request cache is on, invalidated over Redis.
  const unlinkCache = await sharedCache.link(redis, config.queuePrefix, testLogger);
  // `app` is the Express app; `handler` is what a web process listens with (the front door before it).
  const { app, handler } = createWebHandler({ config, logger: testLogger, redis, queues, turnover });
  return {
    app,
    handler,
    config,
    redis,
    queues,
    turnover,
    async close() {
      unlinkCache();
      await refreshesSettled();
      await turnover.close();
      await queues.close();
      redis.disconnect();
      await mongoose.connection.dropDatabase().catch(() => undefined);
      await disconnectDatabase();
    },
  };
}

/** Polls until `check` returns true or the time is up; returns how long it took. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 100): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** A second app on the same services (another web process, or other settings), sharing `t`'s stream hub. */
export async function secondApp(t: TestApp, over: Partial<Config> = {}) {
  const redis = createFailFastRedis(t.config.redisUrl, testLogger, 'second-web');
  await connectRedis(redis);
  const config = { ...t.config, ...over };
  const queues = createQueues(redis, config.queuePrefix);
  const app = createApp({ config, logger: testLogger, redis, queues, turnover: t.turnover });
  return {
    app,
    async close() {
      await queues.close();
      redis.disconnect();
    },
  };
}
