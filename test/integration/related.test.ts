/**
 * "与我相关": an organisation named in a registered contract another organisation filed sees it,
 * read-only, with its certificate; nobody else does, and never before registration.
 */
import request from 'supertest';
import { Types } from 'mongoose';
import { Contract } from '../../src/modules/contracts/contract.model';
import { Organization } from '../../src/modules/organizations/organization.model';
import { startTestApp, type TestApp } from '../support/harness';
import { bearer, binary, inReviewContract, makeBureauUser, readyDraft, reviewerToken, signedInAgent, signUpOrg, tokenFor, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
let reviewer: string;
let admin: string;
type Applicant = Awaited<ReturnType<typeof verifiedApplicant>>;
let seller: Applicant;
let buyer: Applicant;
let third: Applicant;
let sellerName: string;
let buyerName: string;
let registeredId: string;
let registrationNumber: string;
let draftId: string;
let inReviewId: string;

/** The buyer party naming `who` by its credit code, with contact details the filer recorded. */
const buyerParty = (uscc: string, name: string) => ({
  name,
  uscc,
  nature: '150',
  regionCode: '630100',
  legalRepresentative: '赵总',
  contactPerson: '钱工',
  phone: '0971-5550123',
  email: 'qian@buyer.test',
  address: '西宁市城西区五四大街 1 号',
});

beforeAll(async () => {
  t = await startTestApp();
  reviewer = await reviewerToken(t.app);
  admin = await tokenFor(t.app, (await makeBureauUser('admin')).email);
  [seller, buyer, third] = await Promise.all([verifiedApplicant(t.app), verifiedApplicant(t.app), verifiedApplicant(t.app)]);
  sellerName = (await Organization.findById(seller.orgId).lean())!.name;
  buyerName = (await Organization.findById(buyer.orgId).lean())!.name;
  const naming = () => ({ buyers: [buyerParty(buyer.uscc, buyerName)] });
  registeredId = await inReviewContract(t.app, seller.token, naming());
  const approved = await request(t.app).post(`/api/v1/contracts/${registeredId}/approve`).set(bearer(reviewer)).send({ note: '材料齐全' }).expect(200);
  registrationNumber = approved.body.registrationNumber;
  draftId = await readyDraft(t.app, seller.token, naming());
  inReviewId = await inReviewContract(t.app, seller.token, naming());
});
afterAll(async () => {
  await t.close();
});

const ids = (body: { items: { id: string }[] }) => body.items.map((i) => i.id);

describe('the buyer named in a registered contract', () => {
  it('lists it, and only it: never the draft or the filing in review that name it too', async () => {
    const res = await request(t.app).get('/api/v1/related-contracts').set(bearer(buyer.token)).expect(200);
    expect(ids(res.body)).toEqual([registeredId]);
    expect(res.body.total).toBe(1);
    const item = res.body.items[0];
    expect(item).toMatchObject({
      id: registeredId,
      status: 'registered',
      registrationNumber,
      yourRoles: ['buyer'],
      seller: { role: 'seller', name: sellerName, uscc: seller.uscc, isYou: false },
      certificate: `/api/v1/related-contracts/${registeredId}/certificate.pdf`,
    });
    expect(item.registeredAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
  });

  it('reads it without the filer’s working data or the other party’s contact details', async () => {
    const res = await request(t.app).get(`/api/v1/related-contracts/${registeredId}`).set(bearer(buyer.token)).expect(200);
    for (const key of ['findings', 'history', 'attachments', 'decision', 'invalidDraftValues', 'organizationId']) expect(res.body).not.toHaveProperty(key);
    // The seller's contact (fixtures' sellerContact) stays with the seller.
    expect(res.body.seller).not.toHaveProperty('contact');
    expect(JSON.stringify(res.body)).not.toContain('0971-7654321');
    expect(JSON.stringify(res.body)).not.toContain('liu@institute.test');
    // Its own entry, as the filer recorded it, so it can check it.
    expect(res.body.buyers).toEqual([
      expect.objectContaining({ role: 'buyer', name: buyerName, uscc: buyer.uscc, isYou: true, contact: expect.objectContaining({ phone: '0971-5550123', email: 'qian@buyer.test' }) }),
    ]);
    expect(res.body).toMatchObject({ contractAmount: expect.stringMatching(/^\d+\.\d{2}$/), technicalAmount: expect.stringMatching(/^\d+\.\d{2}$/), type: 'transfer' });
  });

  it('downloads its certificate as a PDF', async () => {
    const res = await request(t.app)
      .get(`/api/v1/related-contracts/${registeredId}/certificate.pdf`)
      .set(bearer(buyer.token))
      .buffer(true)
      .parse(binary)
      .expect(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers['content-disposition']).toContain(`certificate-${registrationNumber}.pdf`);
    expect((res.body as Buffer).subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('answers 404 for the draft and the filing in review, by id, and for their certificates', async () => {
    for (const id of [draftId, inReviewId, new Types.ObjectId().toHexString(), 'not-an-id']) {
      const res = await request(t.app).get(`/api/v1/related-contracts/${id}`).set(bearer(buyer.token)).expect(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
      await request(t.app).get(`/api/v1/related-contracts/${id}/certificate.pdf`).set(bearer(buyer.token)).expect(404);
    }
    // The filer's own route stays the filer's.
    await request(t.app).get(`/api/v1/contracts/${registeredId}`).set(bearer(buyer.token)).expect(404);
  });
});

describe('everyone else', () => {
  it('a third organisation neither lists nor reads it, nor gets its certificate', async () => {
    const list = await request(t.app).get('/api/v1/related-contracts').set(bearer(third.token)).expect(200);
    expect(list.body).toMatchObject({ items: [], total: 0 });
    const one = await request(t.app).get(`/api/v1/related-contracts/${registeredId}`).set(bearer(third.token)).expect(404);
    expect(one.body.error.code).toBe('NOT_FOUND');
    await request(t.app).get(`/api/v1/related-contracts/${registeredId}/certificate.pdf`).set(bearer(third.token)).expect(404);
  });

  it('the filer does not see its own filing there (it has /contracts)', async () => {
    const list = await request(t.app).get('/api/v1/related-contracts').set(bearer(seller.token)).expect(200);
    expect(ids(list.body)).not.toContain(registeredId);
    await request(t.app).get(`/api/v1/related-contracts/${registeredId}`).set(bearer(seller.token)).expect(404);
  });

  it('an organisation not yet verified gets 403 for the list and 404 for the contract, though the code matches', async () => {
    const pending = await signUpOrg(t.app);
    const token = await tokenFor(t.app, pending.email);
    const id = await inReviewContract(t.app, seller.token, { buyers: [buyerParty(pending.uscc, '待核验公司')] });
    await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(bearer(reviewer)).send({}).expect(200);
    const list = await request(t.app).get('/api/v1/related-contracts').set(bearer(token)).expect(403);
    expect(list.body.error).toMatchObject({ code: 'FORBIDDEN', reason: 'ORGANIZATION_NOT_VERIFIED' });
    await request(t.app).get(`/api/v1/related-contracts/${id}`).set(bearer(token)).expect(404);
    await request(t.app).get(`/api/v1/related-contracts/${id}/certificate.pdf`).set(bearer(token)).expect(404);
    // Once verified, it is there.
    await Organization.updateOne({ _id: pending.orgId }, { $set: { status: 'verified' } });
    const after = await request(t.app).get('/api/v1/related-contracts').set(bearer(token)).expect(200);
    expect(ids(after.body)).toEqual([id]);
  });

  it('the bureau gets 403 and anonymous callers 401, on the API and the pages', async () => {
    for (const path of ['/api/v1/related-contracts', `/api/v1/related-contracts/${registeredId}`, `/api/v1/related-contracts/${registeredId}/certificate.pdf`]) {
      expect((await request(t.app).get(path).set(bearer(reviewer)).expect(403)).body.error.code).toBe('FORBIDDEN');
      expect((await request(t.app).get(path).set(bearer(admin)).expect(403)).body.error.code).toBe('FORBIDDEN');
      await request(t.app).get(path).expect(401);
    }
    const bureau = await signedInAgent(t.app, (await makeBureauUser('reviewer')).email);
    await bureau.get('/related').expect(403);
    await bureau.get(`/related/${registeredId}`).expect(403);
    const anonymous = await request(t.app).get('/related').expect(303);
    expect(anonymous.headers.location).toBe('/login?next=%2Frelated');
  });
});

describe('what became of a registration', () => {
  it('shows a revoked or cancelled registration plainly as such, without a certificate', async () => {
    const revokedId = await inReviewContract(t.app, seller.token, { buyers: [buyerParty(buyer.uscc, buyerName)] });
    await request(t.app).post(`/api/v1/contracts/${revokedId}/approve`).set(bearer(reviewer)).send({}).expect(200);
    await request(t.app).post(`/api/v1/contracts/${revokedId}/revoke`).set(bearer(admin)).send({ reason: '经查为重复登记（内部说明）' }).expect(200);
    const revoked = await request(t.app).get(`/api/v1/related-contracts/${revokedId}`).set(bearer(buyer.token)).expect(200);
    expect(revoked.body).toMatchObject({ status: 'revoked', certificate: null, revokedAt: expect.stringMatching(/\+08:00$/) });
    expect(JSON.stringify(revoked.body)).not.toContain('内部说明');
    const cert = await request(t.app).get(`/api/v1/related-contracts/${revokedId}/certificate.pdf`).set(bearer(buyer.token)).expect(409);
    expect(cert.body.error.current).toEqual({ status: 'revoked' });

    // A cancellation (注销登记) leaves the contract `cancelled`.
    const cancelledId = await inReviewContract(t.app, seller.token, { buyers: [buyerParty(buyer.uscc, buyerName)] });
    await request(t.app).post(`/api/v1/contracts/${cancelledId}/approve`).set(bearer(reviewer)).send({}).expect(200);
    await Contract.collection.updateOne({ _id: new Types.ObjectId(cancelledId) }, { $set: { status: 'cancelled', cancelledAt: new Date() } });
    const cancelled = await request(t.app).get(`/api/v1/related-contracts/${cancelledId}`).set(bearer(buyer.token)).expect(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', certificate: null });

    const onlyRevoked = await request(t.app).get('/api/v1/related-contracts?status=revoked').set(bearer(buyer.token)).expect(200);
    expect(ids(onlyRevoked.body)).toEqual([revokedId]);
    await request(t.app).get('/api/v1/related-contracts?status=draft').set(bearer(buyer.token)).expect(422);

    const agent = await signedInAgent(t.app, buyer.email);
    const page = (await agent.get(`/related/${revokedId}`).expect(200)).text;
    expect(page).toContain('已撤销');
    expect(page).toContain('登记证明不再有效');
    expect(page).not.toContain('certificate.pdf');
    expect((await agent.get(`/related/${cancelledId}`).expect(200)).text).toContain('已注销');
  });
});

describe('the seller and co-seller roles', () => {
  it('matches the credit code as seller (an imported registration) and as co-seller', async () => {
    const filer = new Types.ObjectId();
    const base = {
      organizationId: filer,
      createdBy: filer,
      status: 'registered' as const,
      title: '高原牧草种质资源技术开发合同',
      type: 'development',
      subtype: 'commissioned',
      contractAmountFen: 12_345_600,
      technicalAmountFen: 12_345_600,
      registeredAt: new Date(),
      registrationNumber: `2026630100${String(Date.now()).slice(-6)}`,
      buyers: [{ name: '某县农牧局', uscc: third.uscc }],
    };
    const asSeller = await Contract.create({ ...base, seller: { name: buyerName, uscc: buyer.uscc } });
    // Written past the schema: co-sellers arrive with another change to the model.
    const coSellerId = new Types.ObjectId();
    await Contract.collection.insertOne({
      ...base,
      _id: coSellerId,
      registrationNumber: `2027630100${String(Date.now()).slice(-6)}`,
      seller: { name: '青海某研究所', uscc: '91630100MA0000001X' },
      coSellers: [{ name: buyerName, uscc: buyer.uscc, phone: '0971-9990000' }],
    });
    const list = await request(t.app).get('/api/v1/related-contracts?pageSize=100').set(bearer(buyer.token)).expect(200);
    const byId = Object.fromEntries(list.body.items.map((i: { id: string; yourRoles: string[] }) => [i.id, i.yourRoles]));
    expect(byId[String(asSeller._id)]).toEqual(['seller']);
    expect(byId[String(coSellerId)]).toEqual(['coSeller']);
    const co = await request(t.app).get(`/api/v1/related-contracts/${coSellerId}`).set(bearer(buyer.token)).expect(200);
    expect(co.body.coSellers).toEqual([expect.objectContaining({ role: 'coSeller', isYou: true, contact: expect.objectContaining({ phone: '0971-9990000' }) })]);
    // The third organisation, a buyer of both, sees them as buyer; nobody else sees either.
    const thirds = await request(t.app).get('/api/v1/related-contracts').set(bearer(third.token)).expect(200);
    expect(ids(thirds.body).sort()).toEqual([String(asSeller._id), String(coSellerId)].sort());
    const other = await verifiedApplicant(t.app);
    expect((await request(t.app).get('/api/v1/related-contracts').set(bearer(other.token)).expect(200)).body.total).toBe(0);
  });
});

describe('the pages', () => {
  it('lists and shows the contract read-only, with the certificate link and a nav entry', async () => {
    const agent = await signedInAgent(t.app, buyer.email);
    const list = (await agent.get('/related').expect(200)).text;
    expect(list).toContain('与我相关');
    expect(list).toContain(`href="/related/${registeredId}"`);
    expect(list).toContain(sellerName);
    expect(list).not.toContain(`href="/related/${draftId}"`);
    expect(list).not.toContain(`href="/related/${inReviewId}"`);

    const page = (await agent.get(`/related/${registeredId}`).expect(200)).text;
    expect(page).toContain(registrationNumber);
    expect(page).toContain(`/api/v1/related-contracts/${registeredId}/certificate.pdf`);
    expect(page).toContain('0971-5550123'); // what was recorded for the buyer itself
    expect(page).not.toContain('0971-7654321'); // the seller's phone
    expect(page).not.toContain('材料齐全'); // the reviewer's note
    expect(page).not.toMatch(/action="\/(contracts|related)\//); // nothing to change
    expect(page).not.toContain(`/contracts/${registeredId}/attachments`);

    const search = (await agent.get(`/related?q=${encodeURIComponent(registrationNumber)}`).expect(200)).text;
    expect(search).toContain(`href="/related/${registeredId}"`);
    await agent.get(`/related/${draftId}`).expect(404);
    // A bad filter shows the whole list with a note, not an error page.
    expect((await agent.get('/related?status=draft').expect(200)).text).toContain('筛选条件有误');

    const thirdAgent = await signedInAgent(t.app, third.email);
    await thirdAgent.get(`/related/${registeredId}`).expect(404);
  });

  it('tells an organisation not yet verified why the list is empty', async () => {
    const pending = await signUpOrg(t.app);
    const agent = await signedInAgent(t.app, pending.email);
    const page = (await agent.get('/related').expect(200)).text;
    expect(page).toContain('机构通过科技局核验后');
  });
});
