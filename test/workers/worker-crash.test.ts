/**
 * A worker killed with SIGKILL in the middle of verification leaves no contract stuck: its
 * job is handed to another worker once the lock lapses, and the contract reaches review once.
 * The killed worker is the real worker entry (dist/workers/main.js), run as a child process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { projectRoot } from '../../src/lib/paths';
import { createWorkerRedis } from '../../src/lib/redis';
import { Contract } from '../../src/modules/contracts/contract.model';
import { startWorkers, type RunningWorkers } from '../../workers';
import { startTestApp, testLogger, waitFor, type TestApp } from '../support/harness';
import { readyDraft, verifiedApplicant } from '../support/fixtures';

const workerEntry = path.join(projectRoot(), 'dist', 'workers', 'main.js');

let t: TestApp;
beforeAll(async () => {
  if (!fs.existsSync(workerEntry)) throw new Error(`${workerEntry} is missing: the test command builds it (npm run build)`);
  t = await startTestApp({ WORKER_LOCK_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000' });
});
afterAll(async () => {
  await t.close();
});

it('retries a verification whose worker was SIGKILLed, and moves the contract to review once', async () => {
  const a = await verifiedApplicant(t.app);
  const id = await readyDraft(t.app, a.token);
  await request(t.app).post(`/api/v1/contracts/${id}/submit`).set('Authorization', `Bearer ${a.token}`).expect(202);

  const child = spawn(process.execPath, [workerEntry], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      MONGODB_URI: t.config.mongodbUri,
      REDIS_URL: t.config.redisUrl,
      QUEUE_PREFIX: t.config.queuePrefix,
      SESSION_SECRET: t.config.sessionSecret,
      LOG_LEVEL: 'error',
      WORKER_LOCK_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      FAULT_VERIFY_DELAY_MS: '60000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  await waitFor(async () => (await t.queues.verification.getActiveCount()) === 1, 20_000);
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  expect((await Contract.findById(id).lean())!.status).toBe('submitted');

  // Another worker takes over once the dead one's lock lapses.
  const connection = createWorkerRedis(t.config.redisUrl, testLogger, 'rescuer');
  let rescuer: RunningWorkers | undefined;
  try {
    rescuer = startWorkers({ logger: testLogger, config: t.config, connection, prefix: t.config.queuePrefix, queues: t.queues });
    await waitFor(async () => (await Contract.findById(id).lean())!.status === 'in_review', 20_000, 200);
    const doc = await Contract.findById(id).lean();
    expect(doc!.history.filter((h) => h.action === 'verified')).toHaveLength(1);
    await waitFor(async () => (await t.queues.verification.getCompletedCount()) === 1, 10_000);
    const job = await t.queues.verification.getJob(`verify-${id}-1`);
    expect(job?.stalledCounter ?? 0).toBeGreaterThanOrEqual(1);
  } finally {
    await rescuer?.close();
    await connection.quit();
  }
});
