/**
 * A process can die between the writes of one decision. What each remaining step protects
 * against, simulated by doing only the writes a dead process would have done:
 * - the decision won, nothing after it: the sweeper numbers it and carries out its effects;
 * - a serial taken, never written: the same serial goes to the same contract, no gap;
 * - a ledger number taken, never written: the applier fills it with a no-op after a while and
 *   the event is recorded under a fresh number, so the tally stays exact.
 */
import request from 'supertest';
import { Types } from 'mongoose';
import { takeNumber } from '../../src/lib/counters';
import { updateIf } from '../../src/lib/transitions';
import { cstYear } from '../../src/domain/time';
import { Contract, type ContractDoc } from '../../src/modules/contracts/contract.model';
import { Notification } from '../../src/modules/notifications/notification.model';
import { completeDecisions, type ReviewDeps } from '../../src/modules/review/decisions.service';
import { serialCounterId, serialsOf } from '../../src/modules/registrations/registration-numbers';
import { TallyEntry } from '../../src/modules/turnover/turnover.model';
import { applyPending, getTally, recordTallyEvent, refreshesSettled } from '../../src/modules/turnover/turnover.service';
import { inReviewContract, makeBureauUser, tokenFor, verifiedApplicant } from '../support/fixtures';
import { startTestApp, testLogger, type TestApp } from '../support/harness';

let t: TestApp;
let reviewer: string;
let applicant: string;
const year = cstYear(new Date());
const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

beforeAll(async () => {
  t = await startTestApp();
  reviewer = await tokenFor(t.app, (await makeBureauUser('reviewer')).email);
  applicant = (await verifiedApplicant(t.app)).token;
});
afterAll(async () => {
  await t.close();
});

const deps = (): ReviewDeps => ({ queues: t.queues, logger: testLogger, config: t.config, redis: t.redis });

/** The decision's own atomic update, and nothing after it: what a process leaves when it dies there. */
async function registeredThenDied(id: string): Promise<ContractDoc> {
  const at = new Date();
  return (await updateIf<ContractDoc>(
    Contract,
    { _id: new Types.ObjectId(id), status: 'in_review' },
    { $set: { status: 'registered', registeredAt: at, registrationYear: cstYear(at), pendingEffects: 'registered', decision: { action: 'registered', at, actorName: '审核员' } } },
  ))!;
}

const approve = (id: string) => request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}).expect(200);
const gapFree = (serials: number[]) => expect(serials).toEqual(Array.from({ length: serials.length }, (_, i) => i + 1));

it('finishes a registration whose process died right after winning: number, ledger, notification', async () => {
  const crashed = await inReviewContract(t.app, applicant, { contractAmount: '3000.00', technicalAmount: '3000.00', deductions: [] });
  await registeredThenDied(crashed);
  const other = await inReviewContract(t.app, applicant);
  await approve(other);
  await refreshesSettled(); // the approval's figure is refreshed beside its answer
  const before = (await getTally(year)).tally.totals;
  // Within the grace period the sweeper leaves it alone: its process may still be working.
  expect(await completeDecisions(deps())).toBe(0);
  expect(await completeDecisions(deps(), 0)).toBe(1);
  await refreshesSettled();
  const done = (await Contract.findById(crashed).lean())!;
  expect(done.registrationNumber).toMatch(new RegExp(`^${year}630100\\d{6}$`));
  expect(done.pendingEffects).toBeNull();
  expect(await Notification.countDocuments({ contractId: done._id, kind: 'registered' })).toBe(1);
  expect((await getTally(year)).tally.totals).toMatchObject({ count: before.count + 1, contractFen: before.contractFen + 300_000 });
  // Running it again changes nothing.
  expect(await completeDecisions(deps(), 0)).toBe(0);
  expect((await getTally(year)).tally.totals.count).toBe(before.count + 1);
  gapFree(await serialsOf(year));
});

it('gives a serial taken by a process that died before writing it to that same contract: no gap', async () => {
  const crashed = await inReviewContract(t.app, applicant);
  await registeredThenDied(crashed);
  const serial = await takeNumber(serialCounterId(year), crashed, async () => 0);
  const other = await inReviewContract(t.app, applicant);
  const res = await approve(other);
  expect(Number(res.body.registrationNumber.slice(-6))).toBe(serial + 1);
  await completeDecisions(deps(), 0);
  expect(Number((await Contract.findById(crashed).lean())!.registrationNumber!.slice(-6))).toBe(serial);
  gapFree(await serialsOf(year));
});

it('fills a ledger number whose taker died, then records that event afresh: the tally stays exact', async () => {
  const crashed = await inReviewContract(t.app, applicant, { contractAmount: '5000.00', technicalAmount: '5000.00', deductions: [] });
  const doc = await registeredThenDied(crashed);
  await takeNumber(`ledger:${year}`, `registered:${crashed}`, async () => 0); // taken, never written
  const before = (await getTally(year)).tally.totals;
  const other = await inReviewContract(t.app, applicant, { contractAmount: '700.00', technicalAmount: '700.00', deductions: [] });
  await approve(other);
  await refreshesSettled();
  // The entry after the hole waits: the hole may still be being written.
  expect((await getTally(year)).tally.totals.count).toBe(before.count);
  await applyPending(year, 0);
  expect((await getTally(year)).tally.totals).toMatchObject({ count: before.count + 1, contractFen: before.contractFen + 70_000 });
  expect(await TallyEntry.countDocuments({ s: 0 })).toBe(1);
  // The dead process's event is recorded under a fresh number when its decision is finished.
  await recordTallyEvent('registered', doc, '630100');
  await applyPending(year);
  expect((await getTally(year)).tally.totals).toMatchObject({ count: before.count + 2, contractFen: before.contractFen + 570_000 });
  expect(await TallyEntry.countDocuments({ e: `registered:${crashed}` })).toBe(1);
});
