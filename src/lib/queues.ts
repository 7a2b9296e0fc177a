/**
 * Every BullMQ queue of the registry, its job names and payload types, in one place.
 * Jobs carry ids only, never personal data. Producers use a fail-fast connection: when
 * Redis is away, `add` rejects at once and the request answers 503.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';

export const QUEUES = {
  maintenance: 'maintenance',
  verification: 'contract-verification',
  certificates: 'certificates',
  notifications: 'notifications',
  turnover: 'turnover',
  imports: 'imports',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Payload of each job, by queue and job name. */
export interface JobPayloads {
  turnover: {
    /** Applies a year's pending ledger entries and publishes the live figure. */
    apply: { year: number };
    /** Recomputes all tallies from the registered contracts and corrects differences. */
    reconcile: { trigger: string; actorEmail: string | null };
  };
  certificates: {
    /** Renders (or re-renders) a registered contract's certificate into GridFS. */
    render: { contractId: string };
  };
  notifications: {
    /** Mails a notification to its organisation's members, once. */
    send: { notificationId: string };
  };
  verification: {
    /** Runs the automatic checks on a submitted contract and moves it to review. */
    verify: { contractId: string; submission: number };
    /** The same for a change or cancellation request on a registered contract. */
    'verify-request': { requestId: string; submission: number };
  };
  imports: {
    /** Imports an uploaded file of earlier registrations, resuming after its last committed batch. */
    run: { importId: string };
    /** Re-queues imports whose job died (their progress stopped), so they resume. */
    resume: Record<string, never>;
  };
  maintenance: {
    /** Records that a worker process is alive, for the admins' overview. */
    heartbeat: { requestedAt: string };
    /** Removes expired API tokens. */
    housekeeping: Record<string, never>;
    /** Enqueues verification for submitted contracts whose job is missing (e.g. Redis was down). */
    'requeue-submitted': Record<string, never>;
    /** Finishes decisions a crash interrupted, and re-queues certificates and mails. */
    'complete-decisions': Record<string, never>;
    /** Marks contracts past their decision deadline. */
    'deadline-watch': Record<string, never>;
  };
}

export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export type Queues = { [K in keyof typeof QUEUES]: Queue } & { close(): Promise<void> };

export function createQueues(connection: Redis, prefix: string): Queues {
  const make = (name: QueueName) => new Queue(name, { connection, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS });
  const queues = {
    maintenance: make(QUEUES.maintenance),
    verification: make(QUEUES.verification),
    certificates: make(QUEUES.certificates),
    notifications: make(QUEUES.notifications),
    turnover: make(QUEUES.turnover),
    imports: make(QUEUES.imports),
  };
  return {
    ...queues,
    async close() {
      await Promise.all(Object.values(queues).map((q) => q.close()));
    },
  };
}

/** Adds a job whose id is a business id, so a retry or double click enqueues it once. */
export async function enqueue<Q extends keyof JobPayloads, N extends keyof JobPayloads[Q] & string>(
  queues: Queues,
  queue: Q,
  name: N,
  data: JobPayloads[Q][N],
  jobId: string,
  opts: JobsOptions = {},
): Promise<void> {
  await queues[queue].add(name, data, { ...opts, jobId });
}

/**
 * Like `enqueue`, for work that has just become possible: if a job with this id is already
 * waiting out a retry delay (it ran too early) or has failed, it runs again now rather than
 * when its back-off ends (adding a job whose id exists does nothing).
 */
export async function enqueueNow<Q extends keyof JobPayloads, N extends keyof JobPayloads[Q] & string>(
  queues: Queues,
  queue: Q,
  name: N,
  data: JobPayloads[Q][N],
  jobId: string,
): Promise<void> {
  await enqueue(queues, queue, name, data, jobId);
  const job = await queues[queue].getJob(jobId);
  const state = job ? await job.getState() : null;
  if (state === 'delayed') await job!.promote().catch(() => undefined); // it may have started meanwhile
  else if (state === 'failed') await job!.retry().catch(() => undefined);
}
