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
import { maintenanceProcessor } from './processors/maintenance';

export interface WorkerDeps {
  logger: Logger;
  /** A connection with maxRetriesPerRequest: null; BullMQ duplicates it for blocking calls. */
  connection: Redis;
  prefix: string;
  /** Producers, for processors that enqueue follow-up jobs. */
  queues: Queues;
  concurrency?: number;
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
  const processors: Partial<Record<QueueName, Processor>> = {
    [QUEUES.maintenance]: maintenanceProcessor(identity, deps.queues),
  };
  identity.queues = Object.keys(processors);
  const workers = (Object.keys(processors) as QueueName[]).map((name) => {
    const worker = new Worker(name, processors[name]!, {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: deps.concurrency ?? 4,
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
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}

/** Repeating jobs, declared idempotently with BullMQ job schedulers. */
export async function scheduleRepeatingJobs(queues: Queues): Promise<void> {
  await queues.maintenance.upsertJobScheduler('heartbeat', { every: 30_000 }, { name: 'heartbeat', data: { requestedAt: 'scheduler' } });
  await queues.maintenance.upsertJobScheduler('housekeeping', { every: 3600_000 }, { name: 'housekeeping', data: {} });
  await queues.maintenance.upsertJobScheduler('requeue-submitted', { every: 60_000 }, { name: 'requeue-submitted', data: {} });
}
