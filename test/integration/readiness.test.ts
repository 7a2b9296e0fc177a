/**
 * Readiness follows the services: with their own Redis and FerretDB (on the suite's PostgreSQL), stopped and restarted
 * on the same ports, /readyz goes 503 within 2 seconds and back to 200.
 */
import path from 'node:path';
import request from 'supertest';
import { startFerretDB } from '../../scripts/embedded-database';
import { freePort, mongoUriFor, startRedis, type ManagedService } from '../../scripts/local-services';
import { enqueue } from '../../src/lib/queues';
import { isUnavailableError } from '../../src/lib/errors';
import { startTestApp, uniqueName, waitFor, type TestApp } from '../support/harness';

const tmp = () => path.join(process.env.TEST_TMP_DIR!, uniqueName('readiness-'));

describe('readiness when Redis goes away', () => {
  let redis: ManagedService;
  let t: TestApp;
  let redisDir: string;

  beforeAll(async () => {
    redisDir = tmp();
    redis = await startRedis({ dataDir: redisDir, port: await freePort(), persistent: false });
    t = await startTestApp({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await t.close();
    await redis.stop();
  });

  it('turns 503 within 2 s of Redis stopping, fails producers fast, and recovers', async () => {
    await request(t.app).get('/readyz').expect(200);
    await redis.stop();
    const stoppedAt = Date.now();
    const res = await request(t.app).get('/readyz');
    expect(Date.now() - stoppedAt).toBeLessThan(2_000);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ mongo: 'up', redis: 'down' });

    // A producer does not hang while Redis is away: it fails with an "unavailable" error.
    const err = await enqueue(t.queues, 'maintenance', 'heartbeat', { requestedAt: 'test' }, 'hb-redis-down').catch((e: unknown) => e);
    expect(isUnavailableError(err)).toBe(true);

    redis = await startRedis({ dataDir: redisDir, port: redis.port, persistent: false });
    await waitFor(async () => (await request(t.app).get('/readyz')).status === 200, 10_000);
  });
});

describe('readiness when the database goes away', () => {
  let ferret: ManagedService;
  let t: TestApp;
  let dir: string;

  beforeAll(async () => {
    dir = tmp();
    ferret = await startFerretDB({ stateDir: dir, port: await freePort(), postgresPort: Number(process.env.TEST_PG_PORT), postgresSocketDir: process.env.TEST_PG_SOCKET_DIR!, credentials: null });
    t = await startTestApp({ MONGODB_URI: mongoUriFor(ferret.url, 'readiness') });
  });
  afterAll(async () => {
    await t.close();
    await ferret.stop();
  });

  it('turns 503 within 2 s of the database stopping and recovers when it returns', async () => {
    await request(t.app).get('/readyz').expect(200);
    await ferret.stop();
    const stoppedAt = Date.now();
    const res = await request(t.app).get('/readyz');
    expect(Date.now() - stoppedAt).toBeLessThan(2_000);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ mongo: 'down', redis: 'up' });

    ferret = await startFerretDB({ stateDir: dir, port: ferret.port, postgresPort: Number(process.env.TEST_PG_PORT), postgresSocketDir: process.env.TEST_PG_SOCKET_DIR!, credentials: null });
    await waitFor(async () => (await request(t.app).get('/readyz')).status === 200, 20_000, 250);
  });
});
