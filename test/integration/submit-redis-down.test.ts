/** A submission while Redis is down is kept, and its verification job appears once Redis is back. */
import path from 'node:path';
import request from 'supertest';
import { freePort, startRedis, type ManagedService } from '../../scripts/local-services';
import { createWorkerRedis } from '../../src/lib/redis';
import { createQueues } from '../../src/lib/queues';
import { requeueSubmitted } from '../../src/modules/contracts/contracts.jobs';
import { Contract } from '../../src/modules/contracts/contract.model';
import { startTestApp, testLogger, uniqueName, waitFor, type TestApp } from '../support/harness';
import { readyDraft, verifiedApplicant } from '../support/fixtures';

let redis: ManagedService;
let t: TestApp;
let dir: string;

beforeAll(async () => {
  dir = path.join(process.env.TEST_TMP_DIR!, uniqueName('redis-down-'));
  redis = await startRedis({ dataDir: dir, port: await freePort(), persistent: false });
  t = await startTestApp({ REDIS_URL: redis.url });
});
afterAll(async () => {
  await t.close();
  await redis.stop();
});

it('saves the submission with Redis stopped and enqueues it when Redis returns', async () => {
  const a = await verifiedApplicant(t.app);
  const id = await readyDraft(t.app, a.token);
  await redis.stop();

  const res = await request(t.app).post(`/api/v1/contracts/${id}/submit`).set('Authorization', `Bearer ${a.token}`).expect(202);
  expect(res.body).toEqual({ status: 'submitted', queued: false });
  expect((await Contract.findById(id).lean())?.status).toBe('submitted');

  redis = await startRedis({ dataDir: dir, port: redis.port, persistent: false });
  // What the worker's sweeper does at start and every minute.
  const conn = createWorkerRedis(redis.url, testLogger, 'sweeper');
  const queues = createQueues(conn, t.config.queuePrefix);
  try {
    expect(await requeueSubmitted(queues)).toBe(1);
    expect(await requeueSubmitted(queues)).toBe(1);
    const job = await queues.verification.getJob(`verify-${id}-1`);
    expect(job?.data).toEqual({ contractId: id, submission: 1 });
    expect(await queues.verification.getWaitingCount()).toBe(1);
    // The web app's own connection comes back too.
    await waitFor(async () => (await request(t.app).get('/readyz')).status === 200, 10_000);
  } finally {
    await queues.close();
    await conn.quit();
  }
});
