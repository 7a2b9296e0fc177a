/**
 * One organisation's data never reaches another's view: a duplicate finding names the other
 * filing only for the bureau, and the public register's search matches public fields only.
 */
import request from 'supertest';
import { Types } from 'mongoose';
import { Migration, runOnce } from '../../src/lib/migrations';
import { Contract } from '../../src/modules/contracts/contract.model';
import { rebuildSearchTexts } from '../../src/modules/contracts/contracts.service';
import { startTestApp, testLogger, type TestApp } from '../support/harness';
import { bearer, completeContract, inReviewContract, makeBureauUser, reviewerToken, signedInAgent, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
let reviewer: string;
beforeAll(async () => {
  t = await startTestApp();
  reviewer = await reviewerToken(t.app);
});
afterAll(async () => {
  await t.close();
});

const auth = bearer;

describe('a filing similar to another organisation’s', () => {
  it('shows the applicant a generic finding and the bureau the other filing', async () => {
    const a = await verifiedApplicant(t.app);
    const b = await verifiedApplicant(t.app);
    const stem = `高原锂电池正极材料${Date.now()}号技术转让合同`;
    const secretTitle = `${stem}（甲方保密版）`;
    const base = completeContract({ title: secretTitle });
    const aId = await inReviewContract(t.app, a.token, { title: secretTitle, contractAmount: base.contractAmount, technicalAmount: base.technicalAmount });
    // B files the same amount under a nearly identical title: a possible duplicate of A's.
    const bId = await inReviewContract(t.app, b.token, { title: `${stem}（乙方）`, contractAmount: base.contractAmount, technicalAmount: base.technicalAmount });
    const stored = (await Contract.findById(bId).lean())!;
    expect(stored.findings.map((f) => f.code)).toContain('DUPLICATE_SUSPECTED');

    // B, through the API and the page, in both languages: no title, no id of A's filing.
    const api = await request(t.app).get(`/api/v1/contracts/${bId}`).set(auth(b.token)).expect(200);
    const dup = api.body.findings.find((f: { code: string }) => f.code === 'DUPLICATE_SUSPECTED');
    expect(dup.message).toBe('系统发现已有与本申请相似的登记申请，登记机构将予以核实。');
    const apiEn = await request(t.app).get(`/api/v1/contracts/${bId}`).set(auth(b.token)).set('Accept-Language', 'en').expect(200);
    expect(JSON.stringify(apiEn.body)).not.toContain('甲方保密版');
    const list = await request(t.app).get('/api/v1/contracts').set(auth(b.token)).expect(200);
    for (const body of [api.body, list.body]) {
      expect(JSON.stringify(body)).not.toContain('甲方保密版');
      expect(JSON.stringify(body)).not.toContain(aId);
    }
    const agent = await signedInAgent(t.app, b.email);
    for (const path of [`/contracts/${bId}`, '/contracts', '/notifications']) {
      const page = await agent.get(path).expect(200);
      expect(page.text).not.toContain('甲方保密版');
      expect(page.text).not.toContain(aId);
    }

    // The bureau sees which filing and can open it.
    const bureau = await request(t.app).get(`/api/v1/contracts/${bId}`).set(auth(reviewer)).expect(200);
    expect(JSON.stringify(bureau.body.findings)).toContain(secretTitle);
    const reviewerAgent = await signedInAgent(t.app, (await makeBureauUser('reviewer')).email);
    const reviewPage = await reviewerAgent.get(`/review/${bId}`).expect(200);
    expect(reviewPage.text).toContain(secretTitle);
    expect(reviewPage.text).toContain(`/review/${aId}`);
  });
});

describe('the public register search', () => {
  it('matches title, registration number and party names, never the parties’ own contract number', async () => {
    const a = await verifiedApplicant(t.app);
    const contractNumber = `PRIV-${Date.now()}`;
    const id = await inReviewContract(t.app, a.token, { contractNumber });
    const approved = await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}).expect(200);
    const stored = (await Contract.findById(id).lean())!;
    const search = async (q: string) => (await request(t.app).get('/api/v1/public/register').query({ q }).expect(200)).body.items as { registrationNumber: string }[];
    expect(await search(contractNumber)).toEqual([]);
    expect((await search(stored.title!)).map((i) => i.registrationNumber)).toEqual([approved.body.registrationNumber]);
    expect((await search(approved.body.registrationNumber)).map((i) => i.registrationNumber)).toEqual([approved.body.registrationNumber]);
    expect((await search(stored.seller!.name!)).map((i) => i.registrationNumber)).toContain(approved.body.registrationNumber);
    // The parties and the bureau still find it by their contract number.
    const own = await request(t.app).get('/api/v1/contracts').query({ q: contractNumber.toLowerCase() }).set(auth(a.token)).expect(200);
    expect(own.body.items.map((c: { id: string }) => c.id)).toEqual([id]);
  });
});

describe('search texts written before', () => {
  it('lose the contract number once, in a migration that runs once', async () => {
    const old = await Contract.create({
      organizationId: new Types.ObjectId(), createdBy: new Types.ObjectId(), status: 'registered', title: '旧数据合同', contractNumber: 'OLD-77',
      registrationNumber: '2026630100000999', seller: { name: '旧卖方' }, buyers: [{ name: '旧买方' }], searchText: '旧数据合同 old-77 2026630100000999 旧卖方 旧买方',
    });
    await runOnce('test-search-text', rebuildSearchTexts, testLogger);
    expect((await Contract.findById(old._id).lean())!.searchText).toBe('旧数据合同 2026630100000999 旧卖方 旧买方');
    expect(await Migration.exists({ _id: 'test-search-text' })).toBeTruthy();
    await Contract.updateOne({ _id: old._id }, { $set: { searchText: 'changed since' } });
    await runOnce('test-search-text', rebuildSearchTexts, testLogger); // done already: not run again
    expect((await Contract.findById(old._id).lean())!.searchText).toBe('changed since');
    expect(await rebuildSearchTexts()).toBeGreaterThanOrEqual(1); // idempotent when run by hand
    expect(await rebuildSearchTexts()).toBe(0);
  });
});
