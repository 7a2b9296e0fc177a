/** Changes (变更登记) and cancellations (注销登记) of registered contracts: the requests, their review, and exact tallies. */
import request from 'supertest';
import { Types } from 'mongoose';
import { Contract } from '../../src/modules/contracts/contract.model';
import { RegistrationRequest } from '../../src/modules/contracts/request.model';
import { Notification } from '../../src/modules/notifications/notification.model';
import { addWorkingDays } from '../../src/domain/calendar';
import { formatYuan } from '../../src/domain/money';
import { cstDate } from '../../src/domain/time';
import { completeRequestDecisions } from '../../src/modules/changes/request-decisions.service';
import { TallyEntry, YearTallyDoc } from '../../src/modules/turnover/turnover.model';
import { applyPending, getTally, reconcile, refreshesSettled, tallyId } from '../../src/modules/turnover/turnover.service';
import { registeredContract, registeredIn as registeredInYear, requestInReview as fileRequestInReview } from '../support/registrations';
import { startTestApp, testLogger, type TestApp } from '../support/harness';
import { bearer, binary, completeContract, inReviewContract, makeBureauUser, makePdf, readyDraft, reviewerToken, tokenFor, verifiedApplicant } from '../support/fixtures';
import { verifySubmission } from '../../src/modules/review/verification.service';

let t: TestApp;
let reviewer: string;
let admin: string;
const year = Number(new Intl.DateTimeFormat('en', { timeZone: 'Asia/Shanghai', year: 'numeric' }).format(new Date()));
const deps = () => ({ redis: t.redis, prefix: t.config.queuePrefix, targetFen: t.config.turnoverTargetFen, agencyCode: '630100' });

beforeAll(async () => {
  t = await startTestApp();
  reviewer = await reviewerToken(t.app);
  admin = await tokenFor(t.app, (await makeBureauUser('admin')).email);
});
afterAll(async () => {
  await t.close();
});

const auth = bearer;
const totals = async (y = year) => {
  await refreshesSettled();
  await applyPending(y);
  return (await getTally(y)).tally.totals;
};

const registered = (token: string, over: Record<string, unknown> = {}) => registeredContract(t.app, token, reviewer, over);
const requestInReview = (token: string, contractId: string, kind: 'change' | 'cancellation', body: Record<string, unknown>) =>
  fileRequestInReview(t.app, token, contractId, kind, body);
const registeredIn = (year: number, token: string, amount: string) => registeredInYear(t.app, year, token, amount);

async function expectReconciled() {
  const run = await reconcile(deps(), 'test');
  expect(run.corrected).toEqual([]);
  expect(run.unresolved).toEqual([]);
  expect(run.missingEntries).toBe(0);
}

describe('a change', () => {
  it('up and down moves the turnover by exactly the difference, versions the contract and its certificate, and reconciles', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await registered(a.token, { contractAmount: '1000000.00', technicalAmount: '900000.00', deductions: [{ item: 'equipment', amount: '100000.00' }] });
    const before = await totals();

    // Up by 200,000.01 yuan.
    const up = await requestInReview(a.token, id, 'change', { reason: '补充协议增加开发内容', fields: { contractAmount: '1200000.01', technicalAmount: '1100000.01' } });
    const approved = await request(t.app).post(`/api/v1/requests/${up}/approve`).set(auth(reviewer)).send({ note: '补充协议真实有效' }).expect(200);
    expect(approved.body).toMatchObject({ status: 'registered', kind: 'change', version: 2 });
    const afterUp = await totals();
    expect(afterUp.contractFen - before.contractFen).toBe(200_000_01);
    expect(afterUp.technicalFen - before.technicalFen).toBe(200_000_01);
    expect(afterUp.count).toBe(before.count); // the same contract, not another one

    const c = (await request(t.app).get(`/api/v1/contracts/${id}`).set(auth(a.token)).expect(200)).body;
    expect(c).toMatchObject({ status: 'registered', contractAmount: '1200000.01', technicalAmount: '1100000.01', version: 2 });
    expect(c.history.map((h: { action: string }) => h.action)).toContain('changed');
    const r = (await request(t.app).get(`/api/v1/requests/${up}`).set(auth(a.token)).expect(200)).body;
    expect(r).toMatchObject({ status: 'registered', kind: 'change', version: 2, fields: { contractAmount: '1200000.01' }, before: { contractAmount: '1000000.00' } });
    expect(r.decision).toMatchObject({ kind: 'registered', note: '补充协议真实有效' });

    // The new certificate: same number, "第 2 版".
    const pdf = await request(t.app).get(`/api/v1/contracts/${id}/certificate.pdf`).set(auth(a.token)).buffer(true).parse(binary).expect(200);
    expect((pdf.body as Buffer).subarray(0, 5).toString()).toBe('%PDF-');
    expect((await Contract.findById(id).lean())!.certificateFileId).toEqual(expect.any(String));

    // Down by 500,000 yuan, below the first registration's amounts.
    const down = await requestInReview(a.token, id, 'change', { reason: '补充协议缩减范围', fields: { contractAmount: '700000.01', technicalAmount: '600000.01' } });
    await request(t.app).post(`/api/v1/requests/${down}/approve`).set(auth(reviewer)).send({}).expect(200);
    const afterDown = await totals();
    expect(afterDown.contractFen - afterUp.contractFen).toBe(-500_000_00);
    expect(afterDown.technicalFen - afterUp.technicalFen).toBe(-500_000_00);
    expect((await Contract.findById(id).lean())!.registrationVersion).toBe(3);

    // The public register shows the current version and its history.
    const number = c.registrationNumber as string;
    const pub = (await request(t.app).get(`/api/v1/public/certificates/${number}`).expect(200)).body;
    expect(pub).toMatchObject({ status: 'registered', version: 3, contractAmount: '700000.01' });
    expect(pub.versions.map((v: { version: number; event: string }) => [v.version, v.event])).toEqual([[1, 'registered'], [2, 'changed'], [3, 'changed']]);
    expect(await Notification.countDocuments({ contractId: id, kind: 'change_registered' })).toBe(2);
    await expectReconciled();
  });

  it('refuses a change that changes nothing or is malformed, and one on a contract that is not registered', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await registered(a.token, { contractAmount: '50000.00', technicalAmount: '50000.00', deductions: [] });
    const same = await request(t.app).post(`/api/v1/contracts/${id}/changes`).set(auth(a.token)).send({ reason: '无', fields: { contractAmount: '50000.00' } }).expect(422);
    expect(same.body.error.reason).toBe('NOTHING_CHANGES');
    const bad = await request(t.app).post(`/api/v1/contracts/${id}/changes`).set(auth(a.token)).send({ reason: '金额', fields: { contractAmount: '1e5' } }).expect(422);
    expect(bad.body.error.details[0].path).toBe('fields.contractAmount');
    await request(t.app).post(`/api/v1/contracts/${id}/changes`).set(auth(a.token)).send({ fields: { title: '新名称' } }).expect(422); // no reason
    const draft = await readyDraft(t.app, a.token);
    const notReg = await request(t.app).post(`/api/v1/contracts/${draft}/cancellation`).set(auth(a.token)).send({ reason: '终止' }).expect(409);
    expect(notReg.body.error.reason).toBe('CONTRACT_NOT_REGISTERED');
    // Another organisation's contract does not exist for them.
    const other = await verifiedApplicant(t.app);
    await request(t.app).post(`/api/v1/contracts/${id}/changes`).set(auth(other.token)).send({ reason: '窥探', fields: { title: 'x' } }).expect(404);
    // The registrant's identity cannot be changed: it stays the verified organisation's.
    const rid = (await request(t.app).post(`/api/v1/contracts/${id}/changes`).set(auth(a.token)).send({ reason: '联系人变更', fields: { seller: { name: '冒名机构', contactPerson: '新联系人' } } }).expect(201)).body.id;
    const stored = await RegistrationRequest.findById(rid).lean();
    expect((stored!.changes as { seller: { name: string; contactPerson: string } }).seller).toMatchObject({ name: (await Contract.findById(id).lean())!.seller!.name, contactPerson: '新联系人' });
    // Submitting without the agreement lists what is missing.
    const incomplete = await request(t.app).post(`/api/v1/requests/${rid}/submit`).set(auth(a.token)).expect(422);
    expect(incomplete.body.error.details.map((d: { path: string }) => d.path)).toContain('attachments');
  });

  it('allows one open request per contract, even when two are filed at once', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await registered(a.token);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        request(t.app).post(`/api/v1/contracts/${id}/${i % 2 ? 'cancellation' : 'changes'}`).set(auth(a.token)).send(i % 2 ? { reason: '终止' } : { reason: '变更', fields: { title: `新名称 ${i}` } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    const open = results.find((r) => r.status === 201)!.body.id;
    expect(results.filter((r) => r.status === 409).every((r) => r.body.error.reason === 'REQUEST_ALREADY_OPEN' && r.body.error.current.requestId === open)).toBe(true);
    // Withdrawn, the slot is free again.
    await request(t.app).post(`/api/v1/requests/${open}/withdraw`).set(auth(a.token)).expect(200);
    await request(t.app).post(`/api/v1/contracts/${id}/cancellation`).set(auth(a.token)).send({ reason: '合同终止' }).expect(201);
  });

  it('gives one of two racing decisions 200 and the other 409, and counts once', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await registered(a.token, { contractAmount: '300000.00', technicalAmount: '300000.00', deductions: [] });
    const before = await totals();
    const rid = await requestInReview(a.token, id, 'change', { reason: '增加金额', fields: { contractAmount: '350000.00', technicalAmount: '350000.00' } });
    const reviewer2 = await reviewerToken(t.app);
    const [x, y] = await Promise.all([
      request(t.app).post(`/api/v1/requests/${rid}/approve`).set(auth(reviewer)).send({}),
      request(t.app).post(`/api/v1/requests/${rid}/refuse`).set(auth(reviewer2)).send({ reasonCode: 3, note: '价款约定不明' }),
    ]);
    expect([x.status, y.status].sort()).toEqual([200, 409]);
    const loser = x.status === 409 ? x : y;
    expect(loser.body.error.reason).toBe('REQUEST_NOT_IN_REVIEW');
    const after = await totals();
    const approvedWon = x.status === 200;
    expect(after.contractFen - before.contractFen).toBe(approvedWon ? 50_000_00 : 0);
    expect(await TallyEntry.countDocuments({ e: `changed:${rid}` })).toBe(approvedWon ? 1 : 0);
    await expectReconciled();
  });

  it('lets a revocation and an approval race: exactly one takes effect, and nothing is counted twice', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await registered(a.token, { contractAmount: '400000.00', technicalAmount: '400000.00', deductions: [] });
    const before = await totals();
    const rid = await requestInReview(a.token, id, 'change', { reason: '增加金额', fields: { contractAmount: '450000.00', technicalAmount: '450000.00' } });
    const [approve, revoke] = await Promise.all([
      request(t.app).post(`/api/v1/requests/${rid}/approve`).set(auth(reviewer)).send({}),
      request(t.app).post(`/api/v1/contracts/${id}/revoke`).set(auth(admin)).send({ reason: '经查为虚假合同' }),
    ]);
    expect(revoke.status).toBe(200); // a revocation is always possible on a registered contract
    const after = await totals();
    const contract = (await Contract.findById(id).lean())!;
    expect(contract.status).toBe('revoked');
    // Whichever came first, the revocation leaves nothing of this contract in the year.
    expect(after.contractFen - before.contractFen).toBe(-400_000_00);
    expect(after.count - before.count).toBe(-1);
    const r = (await RegistrationRequest.findById(rid).lean())!;
    if (approve.status === 200) expect(r.status).toBe('registered');
    else {
      expect(approve.status).toBe(409);
      expect(r.status).toBe('withdrawn');
    }
    expect(contract.openRequestId).toBeNull();
    await expectReconciled();
  });
});

describe('a cancellation', () => {
  it('takes the contract out of the turnover, marks it cancelled in the register, and notifies with the decision', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await registered(a.token, { contractAmount: '88888.88', technicalAmount: '80000.00', deductions: [{ item: 'equipment', amount: '8888.88' }] });
    const before = await totals();
    const rid = await requestInReview(a.token, id, 'cancellation', { reason: '双方协商解除合同' });
    const r = (await request(t.app).get(`/api/v1/requests/${rid}`).set(auth(a.token)).expect(200)).body;
    expect(r).toMatchObject({ kind: 'cancellation', status: 'in_review', findings: [] });
    await request(t.app).post(`/api/v1/requests/${rid}/approve`).set(auth(reviewer)).send({}).expect(200);
    const after = await totals();
    expect(after.contractFen - before.contractFen).toBe(-88_888_88);
    expect(after.technicalFen - before.technicalFen).toBe(-80_000_00);
    expect(after.count - before.count).toBe(-1);
    const c = (await request(t.app).get(`/api/v1/contracts/${id}`).set(auth(a.token)).expect(200)).body;
    expect(c.status).toBe('cancelled');
    expect(c.decision).toMatchObject({ kind: 'cancelled', note: '双方协商解除合同' });
    expect((await request(t.app).get(`/api/v1/requests/${rid}`).set(auth(a.token)).expect(200)).body.decision.kind).toBe('cancelled');
    const pub = (await request(t.app).get(`/api/v1/public/certificates/${c.registrationNumber}`).expect(200)).body;
    expect(pub.status).toBe('cancelled');
    expect(pub.versions.at(-1)).toMatchObject({ event: 'cancelled' });
    // No further requests, no revocation of a cancelled contract.
    await request(t.app).post(`/api/v1/contracts/${id}/changes`).set(auth(a.token)).send({ reason: '再变更', fields: { title: 'x' } }).expect(409);
    await request(t.app).post(`/api/v1/contracts/${id}/revoke`).set(auth(admin)).send({ reason: '重复' }).expect(409);
    const n = await Notification.findOne({ contractId: id, kind: 'cancellation_registered' }).lean();
    expect(n!.body).toContain('注销登记已准予');
    await expectReconciled();
  });

  it('refused with a reason: the reason text reaches the applicant, the slot is free again, nothing moves', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await registered(a.token);
    const before = await totals();
    const rid = await requestInReview(a.token, id, 'cancellation', { reason: '合同终止' });
    await request(t.app).post(`/api/v1/requests/${rid}/refuse`).set(auth(reviewer)).send({ reasonCode: 3, note: '终止协议未盖章' }).expect(200);
    const r = (await request(t.app).get(`/api/v1/requests/${rid}`).set(auth(a.token)).expect(200)).body;
    expect(r.decision).toMatchObject({ kind: 'refused', reasonCode: 3, reasonText: '当事人、标的、价款或报酬等约定不明确', note: '终止协议未盖章' });
    expect((await Notification.findOne({ contractId: id, kind: 'cancellation_refused' }).lean())!.body).toContain('当事人、标的、价款或报酬等约定不明确');
    expect((await totals()).contractFen).toBe(before.contractFen);
    expect((await Contract.findById(id).lean())!.openRequestId).toBeNull();
    await request(t.app).post(`/api/v1/contracts/${id}/changes`).set(auth(a.token)).send({ reason: '改名', fields: { title: '新合同名称' } }).expect(201);
  });
});

describe('which year moves', () => {
  const lastYear = year - 1;

  it('a cancellation moves the year it is registered in; a revocation the original registration year', async () => {
    const a = await verifiedApplicant(t.app);
    const cancelled = await registeredIn(lastYear, a.token, '10000.00');
    const revoked = await registeredIn(lastYear, a.token, '20000.00');
    const [last0, now0] = [await totals(lastYear), await totals()];

    const rid = await requestInReview(a.token, cancelled, 'cancellation', { reason: '合同解除' });
    await request(t.app).post(`/api/v1/requests/${rid}/approve`).set(auth(reviewer)).send({}).expect(200);
    await request(t.app).post(`/api/v1/contracts/${revoked}/revoke`).set(auth(admin)).send({ reason: '经查为虚假合同' }).expect(200);

    const [last1, now1] = [await totals(lastYear), await totals()];
    expect(now1.contractFen - now0.contractFen).toBe(-10_000_00); // the cancellation: this year
    expect(now1.count - now0.count).toBe(-1);
    expect(last1.contractFen - last0.contractFen).toBe(-20_000_00); // the revocation: last year
    expect(last1.count - last0.count).toBe(-1);
    await expectReconciled();
  });

  it('a change moves the year it is registered in, and revoking the contract takes each movement back where it counted', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await registeredIn(lastYear, a.token, '30000.00');
    const [last0, now0] = [await totals(lastYear), await totals()];
    const rid = await requestInReview(a.token, id, 'change', { reason: '补充协议', fields: { contractAmount: '45000.00', technicalAmount: '45000.00' } });
    await request(t.app).post(`/api/v1/requests/${rid}/approve`).set(auth(reviewer)).send({}).expect(200);
    const [last1, now1] = [await totals(lastYear), await totals()];
    expect(last1.contractFen).toBe(last0.contractFen); // a closed year's published figure does not move
    expect(now1.contractFen - now0.contractFen).toBe(15_000_00);
    expect(now1.count).toBe(now0.count);

    await request(t.app).post(`/api/v1/contracts/${id}/revoke`).set(auth(admin)).send({ reason: '登记无效' }).expect(200);
    const [last2, now2] = [await totals(lastYear), await totals()];
    expect(last2.contractFen - last1.contractFen).toBe(-30_000_00);
    expect(now2.contractFen - now1.contractFen).toBe(-15_000_00);
    await expectReconciled();
  });
});

describe('after a crash', () => {
  it('finishes an approval whose follow-up was interrupted, once', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await registered(a.token, { contractAmount: '60000.00', technicalAmount: '60000.00', deductions: [] });
    const before = await totals();
    const rid = await requestInReview(a.token, id, 'change', { reason: '增加', fields: { contractAmount: '61000.00', technicalAmount: '61000.00' } });
    await request(t.app).post(`/api/v1/requests/${rid}/approve`).set(auth(reviewer)).send({}).expect(200);
    // As if the process had died after the decision: mark it pending again and sweep twice.
    await RegistrationRequest.updateOne({ _id: rid }, { $set: { pendingEffects: 'registered', updatedAt: new Date(Date.now() - 60_000) } }, { timestamps: false });
    const rd = { queues: t.queues, logger: testLogger, config: t.config, redis: t.redis };
    expect(await completeRequestDecisions(rd, 0)).toBe(1);
    expect(await completeRequestDecisions(rd, 0)).toBe(0);
    expect((await totals()).contractFen - before.contractFen).toBe(1_000_00);
    expect(await TallyEntry.countDocuments({ e: `changed:${rid}` })).toBe(1);
    expect((await Contract.findById(id).lean())!.appliedRequests!.map(String)).toEqual([rid]);
    await expectReconciled();
  });

  it('adds a missing ledger entry for an approved change in the reconciliation', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await registered(a.token, { contractAmount: '70000.00', technicalAmount: '70000.00', deductions: [] });
    const rid = await requestInReview(a.token, id, 'change', { reason: '增加', fields: { contractAmount: '71000.00', technicalAmount: '71000.00' } });
    await request(t.app).post(`/api/v1/requests/${rid}/approve`).set(auth(reviewer)).send({}).expect(200);
    const before = await totals();
    // A ledger that lost the entry (written, then removed before being applied: the tally has not counted it).
    const entry = (await TallyEntry.findOne({ e: `changed:${rid}` }).lean())!;
    await TallyEntry.deleteOne({ _id: entry._id });
    await TallyEntry.create({ _id: entry._id, e: `lost:${entry._id}`, s: 0, f: '' });
    const run = await reconcile(deps(), 'test');
    expect(run.missingEntries).toBe(1);
    expect(await TallyEntry.countDocuments({ e: `changed:${rid}` })).toBe(1);
    // The tally had applied the entry that was replaced; reconciliation restores the sum of what is in the ledger.
    expect((await totals()).contractFen).toBe(before.contractFen);
  });

  it('reconciles two years at once to the fen: a lost registration entry, a lost reversal of a revoked change, a damaged tally', async () => {
    const lastYear = year - 1;
    await expectReconciled(); // a clean start: what follows is all there is to find
    const [last0, now0] = [await totals(lastYear), await totals()];
    const a = await verifiedApplicant(t.app);
    // Registered last year, changed this year (+150.01 yuan), then revoked: each movement taken back where it counted.
    const changed = await registeredIn(lastYear, a.token, '30000.00');
    const rid = await requestInReview(a.token, changed, 'change', { reason: '补充协议', fields: { contractAmount: '30150.01', technicalAmount: '30150.01' } });
    await request(t.app).post(`/api/v1/requests/${rid}/approve`).set(auth(reviewer)).send({}).expect(200);
    await request(t.app).post(`/api/v1/contracts/${changed}/revoke`).set(auth(admin)).send({ reason: '登记无效' }).expect(200);
    // Registered last year; registered this year.
    const lost = await registeredIn(lastYear, a.token, '12345.67');
    await registered(a.token, { contractAmount: '8765.43', technicalAmount: '8000.00', deductions: [{ item: 'equipment', amount: '765.43' }] });
    await totals(lastYear);
    await totals();
    // The crash damage: two entries lost after they were applied (their numbers filled), one tally corrupted.
    for (const key of [`registered:${lost}`, `revoked:${changed}:${rid}`]) {
      const entry = (await TallyEntry.findOne({ e: key }).lean())!;
      await TallyEntry.deleteOne({ _id: entry._id });
      await TallyEntry.create({ _id: entry._id, e: `lost:${entry._id}`, s: 0, f: '' });
    }
    await YearTallyDoc.updateOne({ _id: tallyId(year) }, { $inc: { 'tally.totals.contractFen': 99, 'tally.totals.count': 1 } });

    const run = await reconcile(deps(), 'test');
    expect(run.missingEntries).toBe(2);
    expect(run.unresolved).toEqual([]);
    expect(run.corrected.map((c) => c.year).sort()).toEqual([lastYear, year]);
    expect(await TallyEntry.countDocuments({ e: { $in: [`registered:${lost}`, `revoked:${changed}:${rid}`] } })).toBe(2);
    const [last1, now1] = [await totals(lastYear), await totals()];
    // Last year: the lost registration counts again; the revoked one nets to nothing.
    expect([last1.count - last0.count, last1.contractFen - last0.contractFen]).toEqual([1, 12_345_67]);
    // This year: the kept registration only (the change and its reversal net to nothing; the damage is gone).
    expect([now1.count - now0.count, now1.contractFen - now0.contractFen, now1.technicalFen - now0.technicalFen]).toEqual([1, 8_765_43, 8_000_00]);
    // The public figure says the same, and a second run finds nothing.
    expect((await getTally(year)).tally.totals).toEqual(now1);
    await expectReconciled();
  });
});

it('a reviewer sends a disputed filing to expert review: 30 working days from today, the applicant sees it, once', async () => {
  const a = await verifiedApplicant(t.app);
  const id = await inReviewContract(t.app, a.token);
  await request(t.app).post(`/api/v1/contracts/${id}/expert-review`).set(auth(reviewer)).send({}).expect(422); // a note is required
  await request(t.app).post(`/api/v1/contracts/${id}/expert-review`).set(auth(a.token)).send({ note: '自己送审' }).expect(403);
  const sent = await request(t.app).post(`/api/v1/contracts/${id}/expert-review`).set(auth(reviewer)).send({ note: '技术先进性存疑，请专家论证' }).expect(200);
  expect(sent.body).toEqual({ status: 'in_review', expertReview: true, decisionDeadline: addWorkingDays(cstDate(new Date()), 30) });
  const seen = (await request(t.app).get(`/api/v1/contracts/${id}`).set(auth(a.token)).expect(200)).body;
  expect(seen.decisionDeadline).toBe(sent.body.decisionDeadline);
  expect(seen.history.at(-1)).toMatchObject({ action: 'expert_review', note: '技术先进性存疑，请专家论证' });
  const again = await request(t.app).post(`/api/v1/contracts/${id}/expert-review`).set(auth(reviewer)).send({ note: '再次' }).expect(409);
  expect(again.body.error.reason).toBe('ALREADY_IN_EXPERT_REVIEW');
  await request(t.app).post(`/api/v1/contracts/${new Types.ObjectId()}/expert-review`).set(auth(reviewer)).send({ note: 'x' }).expect(404);
});

it('counts a technology import (技术引进) on the buyer side (吸纳) only, never in the city\'s output, and takes it back from there', async () => {
  const a = await verifiedApplicant(t.app);
  const seller = { name: 'Alpine Battery Technologies GmbH', nature: '180', country: 'DE', contactPerson: 'Anna Berger', phone: '+49 89 1234567', email: 'anna@alpine-battery.test', address: 'Leopoldstraße 1, München' };
  const created = await request(t.app)
    .post('/api/v1/contracts')
    .set(auth(a.token))
    .send(completeContract({ direction: 'import', seller, buyers: [{ contactPerson: '李工', phone: '0971-1234567', email: 'li@buyer.test', legalRepresentative: '张总', address: '西宁市城东区' }], contractAmount: '123456.78', technicalAmount: '123456.78', deductions: [] }))
    .expect(201);
  const id = created.body.id as string;
  await request(t.app).post(`/api/v1/contracts/${id}/attachments`).set(auth(a.token)).attach('file', await makePdf(), 'c.pdf').expect(201);
  await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(a.token)).expect(202);
  expect(await verifySubmission(id, 1, '630100')).toBe('verified');
  const tally = async () => {
    await refreshesSettled();
    await applyPending(year);
    return (await getTally(year)).tally;
  };
  const before = await tally();
  await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}).expect(200);
  const after = await tally();
  expect(after.totals).toEqual(before.totals); // not this city's output
  expect(after.by.type).toEqual(before.by.type);
  expect(after.buyerSide.contractFen - before.buyerSide.contractFen).toBe(123_456_78);
  expect(after.buyerSide.count - before.buyerSide.count).toBe(1);
  // The public figure (the output) does not move either.
  const pub = (await request(t.app).get('/api/v1/public/turnover').expect(200)).body;
  expect([pub.contractAmount, pub.buyerSide.contractAmount]).toEqual([formatYuan(after.totals.contractFen), formatYuan(after.buyerSide.contractFen)]);
  await request(t.app).post(`/api/v1/contracts/${id}/revoke`).set(auth(admin)).send({ reason: '重复登记' }).expect(200);
  const revoked = await tally();
  expect(revoked.buyerSide).toEqual(before.buyerSide);
  expect(revoked.totals).toEqual(before.totals);
  await expectReconciled();
});
