/**
 * The web entry: config → connect → createApp → listen → shutdown hooks.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebHandler } from './app';
import { ConfigError, loadConfig } from './config';
import { connectDatabase, disconnectDatabase, ensureIndexes } from './lib/db';
import { startDbCommandStats } from './lib/db-stats';
import { Lifecycle } from './lib/lifecycle';
import { closeServer } from './lib/http/close';
import { createLogger } from './lib/logger';
import { createQueues } from './lib/queues';
import { connectRedis, createFailFastRedis } from './lib/redis';
import { ensureBootstrapAdmin } from './modules/accounts/bootstrap';
import { TurnoverHub } from './modules/turnover/live';
import { refreshesSettled } from './modules/turnover/turnover.service';
import { sharedCache } from './lib/shared-cache';
import './models';

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
  const logger = createLogger({ level: config.logLevel, pretty: config.logPretty, name: 'web' });
  const lifecycle = new Lifecycle(logger);
  lifecycle.exitOnSignals();

  await connectDatabase(config.mongodbUri, logger, { monitorCommands: Boolean(config.dbCommandStatsFile) });
  lifecycle.onStop('database', disconnectDatabase);
  // Stopped before the database closes (clean-up runs in reverse): figures being refreshed finish.
  lifecycle.onStop('turnover refreshes', refreshesSettled);
  if (config.dbCommandStatsFile) lifecycle.onStop('command stats', startDbCommandStats(config.dbCommandStatsFile));
  await ensureIndexes(logger);

  const redis = createFailFastRedis(config.redisUrl, logger);
  await connectRedis(redis);
  lifecycle.onStop('redis', () => redis.quit());
  const queues = createQueues(redis, config.queuePrefix);
  lifecycle.onStop('queues', () => queues.close());

  const admin = await ensureBootstrapAdmin(config);
  if (admin.generatedPassword) {
    // Shown once on the terminal, never logged: the account must change it at first sign-in.
    process.stdout.write(
      `\n  First bureau admin created: ${admin.email}\n  Generated password (shown only now): ${admin.generatedPassword}\n\n`,
    );
  } else if (admin.created) {
    logger.info({ email: admin.email }, 'bootstrap admin created');
  }
  const turnover = TurnoverHub.fromConfig(redis, config, logger);
  await turnover.start();
  lifecycle.onStop('turnover streams', () => turnover.close());
  lifecycle.onStop('request cache', await sharedCache.link(redis, config.queuePrefix, logger));
  const { handler } = createWebHandler({ config, logger, redis, queues, turnover });
  const server = http.createServer(handler).listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  lifecycle.onStop('http', () => closeServer(server));

  const { port } = server.address() as AddressInfo;
  logger.info({ url: `http://${config.host}:${port}/` }, 'registry web listening');
}

main().catch((err) => {
  process.stderr.write(`registry web failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
