/**
 * Builds the BullMQ workers: one per queue, each a thin processor calling module services.
 * Used by the worker entry (main.ts) and by the tests.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { Worker, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../src/lib/logger';
import { QUEUES, type QueueName, type Queues } from '../src/lib/queues';
import type { WorkerIdentity } from '../src/modules/system/heartbeat.service';
import type { Config } from '../src/config';
import { createMailer } from '../src/modules/notifications/notifications.service';
import { certificateProcessor } from './processors/certificates';
import { maintenanceProcessor } from './processors/maintenance';
import { notificationProcessor } from './processors/notifications';
import { importProcessor } from './processors/imports';
import { stopRunningImports } from '../src/modules/imports/import-process';
import { turnoverProcessor } from './processors/turnover';
import { verificationProcessor } from './processors/verification';

export interface WorkerDeps {
  logger: Logger;
  config: Readonly<Config>;
  /** A connection with maxRetriesPerRequest: null; BullMQ duplicates it for blocking calls. */
  connection: Redis;
  prefix: string;
  /** Producers, for processors that enqueue follow-up jobs. */
  queues: Queues;
}

export interface RunningWorkers {
  identity: WorkerIdentity;
  workers: Worker[];
  /** Lets active jobs finish (or be retried elsewhere) and stops taking new ones. */
  close(): Promise<void>;
}

export function startWorkers(deps: WorkerDeps): RunningWorkers {
  const identity: WorkerIdentity = {
    id: `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    host: os.hostname(),
    pid: process.pid,
    queues: [],
    startedAt: new Date(),
  };
  const { config } = deps;
  const review = { queues: deps.queues, logger: deps.logger, config, redis: deps.connection };
  const notifyDeps = { queues: deps.queues, logger: deps.logger };
  const processors: Record<QueueName, Processor> = {
    [QUEUES.maintenance]: maintenanceProcessor(identity, deps.queues, review),
    [QUEUES.verification]: verificationProcessor(config.agency.code, config.worker.faultVerifyDelayMs),
    [QUEUES.certificates]: certificateProcessor(config.agency.nameZh, config.publicUrl, notifyDeps),
    [QUEUES.notifications]: notificationProcessor(createMailer(config)),
    [QUEUES.turnover]: turnoverProcessor(deps.connection, config),
    [QUEUES.imports]: importProcessor(config, deps.queues),
  };
  identity.queues = Object.keys(processors);
  const workers = (Object.keys(processors) as QueueName[]).map((name) => {
    const worker = new Worker(name, processors[name]!, {
      connection: deps.connection,
      prefix: deps.prefix,
      // An import is long and holds its file's strings: one at a time per worker process.
      concurrency: name === QUEUES.imports ? 1 : config.worker.concurrency,
      // A killed worker's job is handed to another once its lock lapses.
      lockDuration: config.worker.lockMs,
      stalledInterval: config.worker.stalledIntervalMs,
    });
    worker.on('failed', (job, err) =>
      deps.logger.warn({ queue: name, job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'job failed'),
    );
    worker.on('error', (err) => deps.logger.error({ queue: name, err: err.message }, 'worker error'));
    return worker;
  });
  return {
    identity,
    workers,
    async close() {
      // A running import stops after its current batch; its job resumes from there later.
      stopRunningImports();
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}

/** Repeating jobs, declared idempotently with BullMQ job schedulers. */
export async function scheduleRepeatingJobs(queues: Queues): Promise<void> {
  await queues.maintenance.upsertJobScheduler('heartbeat', { every: 30_000 }, { name: 'heartbeat', data: { requestedAt: 'scheduler' } });
  await queues.maintenance.upsertJobScheduler('housekeeping', { every: 3600_000 }, { name: 'housekeeping', data: {} });
  await queues.maintenance.upsertJobScheduler('requeue-submitted', { every: 60_000 }, { name: 'requeue-submitted', data: {} });
  await queues.maintenance.upsertJobScheduler('complete-decisions', { every: 60_000 }, { name: 'complete-decisions', data: {} });
  await queues.turnover.upsertJobScheduler('reconcile', { pattern: '0 30 2 * * *', tz: 'Asia/Shanghai' }, { name: 'reconcile', data: { trigger: 'schedule', actorEmail: null } });
  await queues.imports.upsertJobScheduler('resume-imports', { every: 60_000 }, { name: 'resume', data: {} });
  await queues.maintenance.upsertJobScheduler('deadline-watch', { pattern: '0 5 * * * *', tz: 'Asia/Shanghai' }, { name: 'deadline-watch', data: {} });
}
