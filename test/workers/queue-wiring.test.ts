/** BullMQ wiring against the real Redis: a job is enqueued, a worker runs it, its result is stored. */
import { QueueEvents } from 'bullmq';
import { Types } from 'mongoose';
import { ApiToken } from '../../src/modules/accounts/token.model';
import { createWorkerRedis } from '../../src/lib/redis';
import { WorkerHeartbeat } from '../../src/modules/system/heartbeat.model';
import { startWorkers, scheduleRepeatingJobs, type RunningWorkers } from '../../workers';
import { startTestApp, testLogger, type TestApp } from '../support/harness';

let t: TestApp;
let running: RunningWorkers;
let events: QueueEvents;
let connection: ReturnType<typeof createWorkerRedis>;

beforeAll(async () => {
  t = await startTestApp();
  connection = createWorkerRedis(t.config.redisUrl, testLogger, 'test-worker');
  running = startWorkers({ logger: testLogger, config: t.config, connection, prefix: t.config.queuePrefix, queues: t.queues });
  events = new QueueEvents('maintenance', { connection: { url: t.config.redisUrl }, prefix: t.config.queuePrefix });
  await events.waitUntilReady();
});
afterAll(async () => {
  await running.close();
  await events.close();
  await connection.quit();
  await t.close();
});

it('processes an enqueued heartbeat job and stores its result in the database', async () => {
  expect(await WorkerHeartbeat.countDocuments()).toBe(0);
  const job = await t.queues.maintenance.add('heartbeat', { requestedAt: new Date().toISOString() }, { jobId: 'hb-1' });
  const result = await job.waitUntilFinished(events, 10_000);
  expect(result).toEqual({ workerId: running.identity.id });
  const stored = await WorkerHeartbeat.findById(running.identity.id).lean();
  expect(stored).toMatchObject({ pid: process.pid, queues: ['maintenance', 'contract-verification', 'certificates', 'notifications', 'turnover', 'imports'] });
  expect(Date.now() - stored!.seenAt.getTime()).toBeLessThan(10_000);
});

it('sweeps expired tokens, safely twice', async () => {
  const userId = new Types.ObjectId();
  await ApiToken.create([
    { _id: 'expired', userId, createdAt: new Date(), expiresAt: new Date(Date.now() - 1000) },
    { _id: 'live', userId, createdAt: new Date(), expiresAt: new Date(Date.now() + 3600_000) },
  ]);
  const first = await (await t.queues.maintenance.add('housekeeping', {})).waitUntilFinished(events, 10_000);
  expect(first).toEqual({ tokens: 1 });
  const second = await (await t.queues.maintenance.add('housekeeping', {})).waitUntilFinished(events, 10_000);
  expect(second).toEqual({ tokens: 0 });
  expect((await ApiToken.find().lean()).map((d) => d._id)).toEqual(['live']);
});

it('enqueues a job with a business id only once', async () => {
  await t.queues.maintenance.add('heartbeat', { requestedAt: 'a' }, { jobId: 'hb-once', delay: 60_000 });
  await t.queues.maintenance.add('heartbeat', { requestedAt: 'b' }, { jobId: 'hb-once', delay: 60_000 });
  expect(await t.queues.maintenance.getDelayedCount()).toBe(1);
  expect((await t.queues.maintenance.getJob('hb-once'))?.data).toEqual({ requestedAt: 'a' });
});

it('declares the repeating jobs idempotently', async () => {
  await scheduleRepeatingJobs(t.queues);
  await scheduleRepeatingJobs(t.queues);
  expect(await t.queues.maintenance.getJobSchedulersCount()).toBe(5);
});

it('fails a job of unknown name without retrying it', async () => {
  const job = await t.queues.maintenance.add('no-such-job' as 'heartbeat', { requestedAt: 'x' });
  await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(/unknown maintenance job/);
  const after = await t.queues.maintenance.getJob(job.id!);
  expect(after?.attemptsMade).toBe(1);
});

it('lets an active job finish when the worker closes', async () => {
  const { Worker } = await import('bullmq');
  const conn = createWorkerRedis(t.config.redisUrl, testLogger, 'test-close');
  let finished = false;
  const worker = new Worker(
    'close-test',
    async () => {
      await new Promise((r) => setTimeout(r, 400));
      finished = true;
      return 'done';
    },
    { connection: conn, prefix: t.config.queuePrefix },
  );
  const { Queue } = await import('bullmq');
  const queue = new Queue('close-test', { connection: t.redis, prefix: t.config.queuePrefix });
  // Listen before adding: a quick worker can make the job active before `add` returns.
  const active = new Promise<void>((resolve) => worker.once('active', () => resolve()));
  await queue.add('slow', {});
  await active;
  await worker.close();
  expect(finished).toBe(true);
  expect(await queue.getCompletedCount()).toBe(1);
  await queue.close();
  await conn.quit();
});
