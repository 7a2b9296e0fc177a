/** A decision people can read: the official reason text, not its number, in the API, the page and the notification. */
import request from 'supertest';
import { Notification } from '../../src/modules/notifications/notification.model';
import { secondApp, startTestApp, type TestApp } from '../support/harness';
import { bearer, inReviewContract, makeBureauUser, reviewerToken, signedInAgent, tokenFor, verifiedApplicant } from '../support/fixtures';

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

it('gives a refusal its official wording and the note, in both languages, everywhere the applicant looks', async () => {
  const a = await verifiedApplicant(t.app);
  const id = await inReviewContract(t.app, a.token);
  await request(t.app).get(`/api/v1/contracts/${id}`).set(auth(a.token)).expect(200).expect((r) => expect(r.body.decision).toBeNull());
  await request(t.app).post(`/api/v1/contracts/${id}/refuse`).set(auth(reviewer)).send({ reasonCode: 3, note: '价款支付方式未约定' }).expect(200);

  const zh = await request(t.app).get(`/api/v1/contracts/${id}`).set(auth(a.token)).expect(200);
  expect(zh.body.decision).toEqual({
    kind: 'refused',
    reasonCode: 3,
    reasonText: '当事人、标的、价款或报酬等约定不明确',
    note: '价款支付方式未约定',
    decidedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/),
  });
  const en = await request(t.app).get(`/api/v1/contracts/${id}`).set(auth(a.token)).set('Accept-Language', 'en').expect(200);
  expect(en.body.decision.reasonText).toBe('Parties, subject, price or fees are unclear');

  const page = await (await signedInAgent(t.app, a.email)).get(`/contracts/${id}`).expect(200);
  expect(page.text).toContain('当事人、标的、价款或报酬等约定不明确');
  expect(page.text).toContain('价款支付方式未约定');

  const note = await Notification.findOne({ contractId: id, kind: 'refused' }).lean();
  expect(note!.body).toContain('不予登记理由：当事人、标的、价款或报酬等约定不明确');
  expect(note!.body).not.toContain('第 3 项');
  expect(note!.bodyEn).toContain('reason for refusal: Parties, subject, price or fees are unclear');
});

it('shows registrations, returns and revocations as decisions too', async () => {
  const a = await verifiedApplicant(t.app);
  const registered = await inReviewContract(t.app, a.token);
  await request(t.app).post(`/api/v1/contracts/${registered}/approve`).set(auth(reviewer)).send({ note: '材料齐全' }).expect(200);
  const r = await request(t.app).get(`/api/v1/contracts/${registered}`).set(auth(a.token)).expect(200);
  expect(r.body.decision).toMatchObject({ kind: 'registered', reasonCode: null, reasonText: null, note: '材料齐全' });

  const returned = await inReviewContract(t.app, a.token);
  await request(t.app).post(`/api/v1/contracts/${returned}/return`).set(auth(reviewer)).send({ reason: '请补充买方盖章页' }).expect(200);
  const ret = await request(t.app).get(`/api/v1/contracts/${returned}`).set(auth(a.token)).expect(200);
  expect(ret.body.decision).toMatchObject({ kind: 'returned', note: '请补充买方盖章页' });

  const admin = await tokenFor(t.app, (await makeBureauUser('admin')).email);
  await request(t.app).post(`/api/v1/contracts/${registered}/revoke`).set(auth(admin)).send({ reason: '经查为重复登记' }).expect(200);
  const rev = await request(t.app).get(`/api/v1/contracts/${registered}`).set(auth(a.token)).expect(200);
  expect(rev.body.decision).toMatchObject({ kind: 'revoked', note: '经查为重复登记' });
});

it('tells the applicant what they can do next, with the remedies the bureau configures', async () => {
  const a = await verifiedApplicant(t.app);
  const refused = await inReviewContract(t.app, a.token);
  await request(t.app).post(`/api/v1/contracts/${refused}/refuse`).set(auth(reviewer)).send({ reasonCode: 2 }).expect(200);
  const returned = await inReviewContract(t.app, a.token);
  await request(t.app).post(`/api/v1/contracts/${returned}/return`).set(auth(reviewer)).send({ reason: '请补充买方盖章页' }).expect(200);
  const agent = await signedInAgent(t.app, a.email);

  const refusedPage = (await agent.get(`/contracts/${refused}`).expect(200)).text;
  expect(refusedPage).toContain('修改合同内容后重新申请登记');
  expect(refusedPage).toContain('六十日内依法申请行政复议');
  expect(refusedPage).toContain('六个月内依法向人民法院提起行政诉讼');

  const returnedPage = (await agent.get(`/contracts/${returned}`).expect(200)).text;
  expect(returnedPage).toContain('按退回说明补正后重新提交');
  expect(returnedPage).toContain(`href="/contracts/${returned}/edit"`);
  expect(returnedPage).not.toContain('行政复议');

  // The bureau's own wording, from its configuration.
  const own = await secondApp(t, { remedies: { zh: '如有异议，请于六十日内向市人民政府申请行政复议。', en: 'Object within 60 days.' } });
  try {
    const page = (await (await signedInAgent(own.app, a.email)).get(`/contracts/${refused}`).expect(200)).text;
    expect(page).toContain('如有异议，请于六十日内向市人民政府申请行政复议。');
    expect(page).not.toContain('提起行政诉讼');
  } finally {
    await own.close();
  }
});
