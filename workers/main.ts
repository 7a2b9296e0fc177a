/** The worker entry: config → connect → start the queue workers → close them on SIGTERM. */
import os from 'node:os';
import { ConfigError, loadConfig } from '../src/config';
import { connectDatabase, disconnectDatabase, ensureIndexes } from '../src/lib/db';
import { startDbCommandStats } from '../src/lib/db-stats';
import { Lifecycle } from '../src/lib/lifecycle';
import { createLogger } from '../src/lib/logger';
import { createQueues } from '../src/lib/queues';
import { createWorkerRedis } from '../src/lib/redis';
import '../src/models';
import { scheduleRepeatingJobs, startWorkers } from './index';
import { runOnce } from '../src/lib/migrations';
import { rebuildSearchTexts } from '../src/modules/contracts/contracts.service';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, pretty: config.logPretty, name: 'worker' });
  const lifecycle = new Lifecycle(logger);
  lifecycle.exitOnSignals();
  // Verifications, certificates and mail can wait a few milliseconds; people at the web pages should not.
  try {
    if (config.worker.nice > os.getPriority()) os.setPriority(config.worker.nice);
  } catch (err) {
    logger.debug({ err: (err as Error).message }, 'worker priority unchanged');
  }

  await connectDatabase(config.mongodbUri, logger, { monitorCommands: Boolean(config.dbCommandStatsFile) });
  lifecycle.onStop('database', disconnectDatabase);
  if (config.dbCommandStatsFile) lifecycle.onStop('command stats', startDbCommandStats(config.dbCommandStatsFile));
  await ensureIndexes(logger);

  const connection = createWorkerRedis(config.redisUrl, logger);
  lifecycle.onStop('redis', () => connection.quit());
  const queues = createQueues(connection, config.queuePrefix);
  lifecycle.onStop('queues', () => queues.close());

  const running = startWorkers({ logger, config, connection, prefix: config.queuePrefix, queues });
  lifecycle.onStop('workers', () => running.close());
  await scheduleRepeatingJobs(queues);
  // At start: anything left over from a crash or a Redis outage is picked up at once.
  await queues.maintenance.add('heartbeat', { requestedAt: new Date().toISOString() });
  await queues.maintenance.add('requeue-submitted', {});
  await queues.maintenance.add('complete-decisions', {});
  logger.info({ worker: running.identity.id, queues: running.identity.queues }, 'registry workers running');
  // In the background: a large register takes a while, and nothing waits for it.
  void runOnce('search-text-public-fields', rebuildSearchTexts, logger).catch((err: Error) => logger.error({ err: err.message }, 'data migration failed; it runs again at the next start'));
}

main().catch((err) => {
  process.stderr.write(`registry workers failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
