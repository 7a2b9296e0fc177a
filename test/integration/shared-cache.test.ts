/**
 * The request cache (users, tokens, organisations): a write in one process is seen at once in
 * every other, a read that raced a write is never kept, and with its Redis link down the cache
 * steps aside instead of serving what it can no longer hear about.
 */
import path from 'node:path';
import request from 'supertest';
import { freePort, startRedis, type ManagedService } from '../../scripts/local-services';
import { SharedCache } from '../../src/lib/shared-cache';
import { connectRedis, createFailFastRedis } from '../../src/lib/redis';
import { ApiToken } from '../../src/modules/accounts/token.model';
import { User } from '../../src/modules/accounts/user.model';
import { getOrganization } from '../../src/modules/organizations/organizations.service';
import { Organization } from '../../src/modules/organizations/organization.model';
import { startTestApp, testLogger, uniqueName, waitFor, type TestApp } from '../support/harness';
import { verifiedApplicant } from '../support/fixtures';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

/** Another process's cache: its own instance and its own Redis connection, on the same prefix. */
async function otherProcess(redisUrl: string, prefix: string) {
  const redis = createFailFastRedis(redisUrl, testLogger, 'other-process');
  await connectRedis(redis);
  const cache = new SharedCache();
  const unlink = await cache.link(redis, prefix, testLogger);
  return {
    cache,
    async close() {
      unlink();
      redis.disconnect();
    },
  };
}

it('drops an entry in every other process when one process invalidates it', async () => {
  const a = await otherProcess(t.config.redisUrl, t.config.queuePrefix);
  const b = await otherProcess(t.config.redisUrl, t.config.queuePrefix);
  try {
    b.cache.store('user', 'u1', { name: '甲' }, b.cache.mark);
    b.cache.store('token', 'd1', 'u1', b.cache.mark, { userId: 'u1' });
    b.cache.store('token', 'd2', 'u2', b.cache.mark, { userId: 'u2' });
    expect(b.cache.get('user', 'u1')).toEqual({ name: '甲' });
    a.cache.invalidate({ ns: 'user', key: 'u1' });
    await waitFor(() => b.cache.get('user', 'u1') === null, 2000, 5);
    // A user's tokens go together, and only theirs.
    a.cache.invalidate({ ns: 'token', userId: 'u1' });
    await waitFor(() => b.cache.get('token', 'd1') === null, 2000, 5);
    expect(b.cache.get('token', 'd2')).toBe('u2');
  } finally {
    await a.close();
    await b.close();
  }
});

it('does not keep a read that started before an invalidation', async () => {
  const p = await otherProcess(t.config.redisUrl, t.config.queuePrefix);
  try {
    const mark = p.cache.mark; // a read starts…
    p.cache.invalidate({ ns: 'organization', key: 'o1' }); // …a write lands meanwhile…
    p.cache.store('organization', 'o1', { status: 'pending' }, mark); // …the stale read comes back
    expect(p.cache.get('organization', 'o1')).toBeNull();
    p.cache.store('organization', 'o1', { status: 'verified' }, p.cache.mark);
    expect(p.cache.get('organization', 'o1')).toEqual({ status: 'verified' });
  } finally {
    await p.close();
  }
});

it('ends a token at its own expiry even while remembered', async () => {
  const p = await otherProcess(t.config.redisUrl, t.config.queuePrefix);
  try {
    p.cache.store('token', 'short', 'u1', p.cache.mark, { expiresAt: new Date(Date.now() + 50), userId: 'u1' });
    expect(p.cache.get('token', 'short')).toBe('u1');
    await new Promise((r) => setTimeout(r, 80));
    expect(p.cache.get('token', 'short')).toBeNull();
  } finally {
    await p.close();
  }
});

it('steps aside while its Redis link is down, and starts empty when it returns', async () => {
  const dir = path.join(process.env.TEST_TMP_DIR!, uniqueName('cache-redis-'));
  let redis: ManagedService = await startRedis({ dataDir: dir, port: await freePort(), persistent: false });
  const p = await otherProcess(redis.url, 'cache-test');
  try {
    p.cache.store('user', 'u1', { name: '甲' }, p.cache.mark);
    expect(p.cache.enabled).toBe(true);
    await redis.stop();
    // It can no longer hear invalidations: nothing is served from memory.
    await waitFor(() => !p.cache.enabled, 5000, 10);
    expect(p.cache.get('user', 'u1')).toBeNull();
    p.cache.store('user', 'u2', { name: '乙' }, p.cache.mark);
    redis = await startRedis({ dataDir: dir, port: redis.port, persistent: false });
    await waitFor(() => p.cache.enabled, 10_000, 20);
    expect(p.cache.get('user', 'u1')).toBeNull();
    expect(p.cache.get('user', 'u2')).toBeNull();
  } finally {
    await p.close();
    await redis.stop();
  }
});

it('stops a token at once in this process when its user is disabled or it is revoked by any path', async () => {
  const a = await verifiedApplicant(t.app);
  const me = () => request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${a.token}`);
  await me().expect(200);
  await me().expect(200); // now remembered
  await User.updateOne({ _id: a.userId }, { $set: { disabled: true } });
  await me().expect(401);
  await User.updateOne({ _id: a.userId }, { $set: { disabled: false } });
  await me().expect(200);
  await ApiToken.deleteMany({ userId: a.userId });
  await me().expect(401);
});

it('hands out organisations frozen, and a changed one at once', async () => {
  const a = await verifiedApplicant(t.app);
  const first = await getOrganization(a.orgId);
  const again = await getOrganization(a.orgId);
  expect(again).toBe(first); // the remembered record itself…
  expect(() => {
    (again as { name: string }).name = 'changed';
  }).toThrow(TypeError); // …which no caller can change for the others
  await Organization.updateOne({ _id: a.orgId }, { $set: { name: '新名称' } });
  expect((await getOrganization(a.orgId))!.name).toBe('新名称');
});
