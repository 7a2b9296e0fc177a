/**
 * The state-change primitives against the real embedded database (FerretDB v2 on PostgreSQL
 * with DocumentDB): conditional updates win for exactly one caller, and counters hand out
 * gap-free numbers, one per key, however many callers race.
 */
import { Organization } from '../../src/modules/organizations/organization.model';
import { Counter, keyOf, takeNumber } from '../../src/lib/counters';
import { atVersion, changeIf, updateIf, updateLatest } from '../../src/lib/transitions';
import { startTestApp, uniqueName, type TestApp } from '../support/harness';
import { makeUscc } from '../support/fixtures';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

const newOrg = () => Organization.create({ name: '并发测试机构', uscc: makeUscc(), nature: '150', regionCode: '630100' });

it('lets exactly one of 20 concurrent conditional updates win, in 20 trials of 20', async () => {
  for (let trial = 0; trial < 20; trial++) {
    const org = await newOrg();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => updateIf(Organization, { _id: org._id, status: 'pending' }, { $set: { status: 'verified', rejectionReason: `writer ${i}` } })),
    );
    const winners = results.map((r, i) => (r ? i : -1)).filter((i) => i >= 0);
    expect(winners).toHaveLength(1);
    expect(await Organization.findById(org._id).lean()).toMatchObject({ status: 'verified', version: 1, rejectionReason: `writer ${winners[0]}` });
  }
});

it('tells exactly one of 20 concurrent plain conditional updates that it won, in 20 trials of 20', async () => {
  for (let trial = 0; trial < 20; trial++) {
    const org = await newOrg();
    const won = await Promise.all(
      Array.from({ length: 20 }, (_, i) => changeIf(Organization, { _id: org._id, status: 'pending' }, { $set: { status: 'verified', rejectionReason: `writer ${i}` } })),
    );
    const winners = won.map((w, i) => (w ? i : -1)).filter((i) => i >= 0);
    expect(winners).toHaveLength(1);
    expect(await Organization.findById(org._id).lean()).toMatchObject({ status: 'verified', version: 1, rejectionReason: `writer ${winners[0]}` });
  }
});

it('counts 50 concurrent $inc exactly', async () => {
  const org = await newOrg();
  await Promise.all(Array.from({ length: 50 }, () => Organization.updateOne({ _id: org._id }, { $inc: { version: 1 } })));
  expect((await Organization.findById(org._id).lean())?.version).toBe(50);
});

it('applies a change computed from a document only at the version it was read', async () => {
  const org = await newOrg();
  const v0 = (await Organization.findById(org._id).lean())!;
  expect(await updateIf(Organization, atVersion(v0), { $set: { address: 'first' } })).toMatchObject({ address: 'first', version: 1 });
  expect(await updateIf(Organization, atVersion(v0), { $set: { address: 'stale' } })).toBeNull();
  const v1 = (await Organization.findById(org._id).lean())!;
  expect(await updateIf(Organization, atVersion(v1), { $set: { address: 'second' } })).toMatchObject({ address: 'second', version: 2 });
});

it('re-reads and retries read-compute-write changes so none is lost', async () => {
  const org = await newOrg();
  await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      updateLatest<{ _id: unknown; version?: number; address?: string }>(Organization, org._id, (d) => ({ $set: { address: `${d.address ?? ''}${i}` } }), { attempts: 50 }),
    ),
  );
  const address = (await Organization.findById(org._id).lean())!.address!;
  expect(address.split('').sort().join('')).toBe('01234567');
});

describe('counters', () => {
  it('gives 40 keys, each asking twice at once, the numbers 1…40, one each', async () => {
    const id = uniqueName('counter-');
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    const got = await Promise.all([...keys, ...keys].map((k) => takeNumber(id, k, async () => 0)));
    const byKey = new Map<string, number>();
    [...keys, ...keys].forEach((k, i) => {
      if (byKey.has(k)) expect(got[i]).toBe(byKey.get(k));
      byKey.set(k, got[i]);
    });
    expect([...byKey.values()].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // The log tells which key each number was taken for (what a sweeper needs after a crash).
    expect((await keyOf(id, byKey.get('key-7')!))?.key).toBe('key-7');
  });

  it('starts a new counter after the numbers already in use', async () => {
    const id = uniqueName('counter-');
    expect(await takeNumber(id, 'a', async () => 41)).toBe(42);
    expect(await takeNumber(id, 'b', async () => 41)).toBe(43);
    expect(await Counter.findById(id).lean()).toMatchObject({ seq: 43 });
  });
});
