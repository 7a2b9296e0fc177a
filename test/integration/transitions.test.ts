/**
 * The state-change primitive against the real FerretDB, which does not isolate
 * read-modify-write: of many concurrent changes from one version, exactly one wins.
 */
import { Organization } from '../../src/modules/organizations/organization.model';
import { ABANDONED_AFTER_MS, completeAbandoned, transition, VersionClaim } from '../../src/lib/transitions';
import { startTestApp, type TestApp } from '../support/harness';
import { makeUscc } from '../support/fixtures';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

const newOrg = () => Organization.create({ name: '并发测试机构', uscc: makeUscc(), nature: '150', regionCode: '630100' });

it('lets exactly one of 20 concurrent transitions from the same version win', async () => {
  const org = await newOrg();
  const read = await Organization.findById(org._id).lean();
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => transition(Organization, read!, { status: 'verified', rejectionReason: `writer ${i}` })));
  const winners = results.map((r, i) => (r.ok ? i : -1)).filter((i) => i >= 0);
  expect(winners).toHaveLength(1);
  const after = await Organization.findById(org._id).lean();
  expect(after).toMatchObject({ status: 'verified', version: 1, rejectionReason: `writer ${winners[0]}` });
});

it('chains transitions: each needs the version the previous one wrote', async () => {
  const org = await newOrg();
  const v0 = await Organization.findById(org._id).lean();
  expect(await transition(Organization, v0!, { address: 'first' })).toEqual({ ok: true, version: 1 });
  expect(await transition(Organization, v0!, { address: 'stale' })).toEqual({ ok: false });
  const v1 = await Organization.findById(org._id).lean();
  expect(await transition(Organization, v1!, { address: 'second' })).toEqual({ ok: true, version: 2 });
  expect((await Organization.findById(org._id).lean())?.address).toBe('second');
});

it('completes a change whose winner stopped between claiming and writing', async () => {
  const org = await newOrg();
  const doc = await Organization.findById(org._id).lean();
  // The winner claimed version 0 and died before writing.
  await VersionClaim.create({ _id: `organizations:${org._id}:v0`, at: new Date(Date.now() - ABANDONED_AFTER_MS - 1000), set: { status: 'rejected', rejectionReason: 'crashed writer' } });
  expect(await completeAbandoned(Organization, doc!)).toBe(true);
  expect(await Organization.findById(org._id).lean()).toMatchObject({ status: 'rejected', rejectionReason: 'crashed writer', version: 1 });
  // Completing again changes nothing: the document has moved on.
  expect(await completeAbandoned(Organization, doc!)).toBe(false);
});

it('leaves a fresh claim alone: its winner may still be writing', async () => {
  const org = await newOrg();
  const doc = await Organization.findById(org._id).lean();
  await VersionClaim.create({ _id: `organizations:${org._id}:v0`, at: new Date(), set: { status: 'verified' } });
  expect(await completeAbandoned(Organization, doc!)).toBe(false);
  expect((await Organization.findById(org._id).lean())?.status).toBe('pending');
});
