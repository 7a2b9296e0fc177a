/** Redis connections: web-side ones fail fast, worker-side ones wait (BullMQ's advice). */
import { Redis, type RedisOptions } from 'ioredis';
import { withTimeout } from './db';
import type { Logger } from './logger';

/** For request handlers and producers: a command fails at once while Redis is away. */
export function createFailFastRedis(url: string, logger: Logger, name = 'web'): Redis {
  const client = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Keep trying to come back; a dead Redis must not need a restart of the app.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: true,
  } satisfies RedisOptions);
  client.on('error', (err) => logger.debug({ err: err.message, name }, 'redis error'));
  return client;
}

/** For BullMQ workers and blocking consumers: commands wait for the connection to return. */
export function createWorkerRedis(url: string, logger: Logger, name = 'worker'): Redis {
  const client = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  } satisfies RedisOptions);
  client.on('error', (err) => logger.debug({ err: err.message, name }, 'redis error'));
  return client;
}

/** Connects a lazy client, waiting until it is ready. */
export async function connectRedis(client: Redis): Promise<void> {
  if (client.status === 'wait') await client.connect();
  if (client.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve);
      client.once('end', () => reject(new Error('redis connection ended')));
    });
  }
}

export async function pingRedis(client: Redis, timeoutMs: number): Promise<void> {
  await withTimeout(client.ping(), timeoutMs, 'redis ping timed out');
}
