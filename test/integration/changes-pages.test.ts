/** The pages of changes and cancellations: the applicant files one in the browser, the reviewer finds it in the queue and decides. */
import request from 'supertest';
import { RegistrationRequest } from '../../src/modules/contracts/request.model';
import { verifyRequest } from '../../src/modules/changes/request-decisions.service';
import { startTestApp, type TestApp } from '../support/harness';
import { bearer, csrfFrom, inReviewContract, makeBureauUser, makePdf, reviewerToken, signedInAgent, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
let reviewer: string;
beforeAll(async () => {
  t = await startTestApp();
  reviewer = await reviewerToken(t.app);
});
afterAll(async () => {
  await t.close();
});

async function registered(token: string): Promise<string> {
  const id = await inReviewContract(t.app, token, { contractAmount: '500000.00', technicalAmount: '350000.00' });
  await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(bearer(reviewer)).send({}).expect(200);
  return id;
}

it('files a change in the browser, keeps what was typed on an error, and the reviewer approves it from the queue', async () => {
  const a = await verifiedApplicant(t.app);
  const id = await registered(a.token);
  const agent = await signedInAgent(t.app, a.email);

  const page = await agent.get(`/contracts/${id}`).expect(200);
  expect(page.text).toContain(`/contracts/${id}/changes/new`);
  expect(page.text).toContain('现行版本：第 1 版');
  const form = await agent.get(`/contracts/${id}/changes/new`).expect(200);
  expect(form.text).toContain('value="500000.00"'); // prefilled with the registered values
  const csrf = csrfFrom(form.text);

  // A malformed amount: the form comes back with the message at the field and everything typed.
  const bad = await agent
    .post(`/contracts/${id}/changes/new`)
    .type('form')
    .send({ _csrf: csrf, reason: '补充协议增加金额', title: '', contractAmount: '12,5x', technicalAmount: '350000.00' })
    .expect(422);
  expect(bad.text).toContain('补充协议增加金额');
  expect(bad.text).toContain('value="12,5x"');
  expect(bad.text).toMatch(/id="f-contractAmount-error"/);
  expect(await RegistrationRequest.countDocuments({ contractId: id })).toBe(0);

  const created = await agent
    .post(`/contracts/${id}/changes/new`)
    .type('form')
    .send({ _csrf: csrf, reason: '补充协议增加金额', contractAmount: '600,000.00', technicalAmount: '450000.00', 'deductions[0][item]': 'equipment', 'deductions[0][amount]': '150000.00' })
    .expect(303);
  const rid = created.headers.location.split('/').pop()!;
  const show = await agent.get(`/requests/${rid}`).expect(200);
  expect(show.text).toContain('变更登记申请');
  expect(show.text).toContain('¥ 600,000.00');
  // Submitting without the agreement says what is missing; with it, it goes to review.
  await agent.post(`/requests/${rid}/submit`).type('form').send({ _csrf: csrfFrom(show.text) }).expect(303);
  expect((await agent.get(`/requests/${rid}`)).text).toContain('请上传已签署的合同文本（PDF）。');
  await agent.post(`/requests/${rid}/attachments?_csrf=${encodeURIComponent(csrfFrom(show.text))}`).attach('file', await makePdf('Supplementary agreement'), '补充协议.pdf').expect(303);
  await agent.post(`/requests/${rid}/submit`).type('form').send({ _csrf: csrfFrom(show.text) }).expect(303);
  expect(await verifyRequest(rid, 1, '630100')).toBe('verified');

  // Another organisation sees nothing of it.
  const other = await verifiedApplicant(t.app);
  await (await signedInAgent(t.app, other.email)).get(`/requests/${rid}`).expect(404);

  // The reviewer finds it in the queue among the changes, opens it, approves.
  const bureau = await signedInAgent(t.app, (await makeBureauUser('reviewer')).email);
  const queue = await bureau.get('/review?kind=change').expect(200);
  expect(queue.text).toContain(`/review/requests/${rid}`);
  const review = await bureau.get(`/review/requests/${rid}`).expect(200);
  expect(review.text).toContain('¥ 500,000.00'); // before
  expect(review.text).toContain('¥ 600,000.00'); // after
  expect(review.text).toContain(`/review/requests/${rid}/expert-review`);
  await bureau.post(`/review/requests/${rid}/approve`).type('form').send({ _csrf: csrfFrom(review.text), note: '补充协议已核' }).expect(303);
  const after = await agent.get(`/contracts/${id}`).expect(200);
  expect(after.text).toContain('现行版本：第 2 版');
  expect(after.text).toContain('¥ 600,000.00');
  expect((await agent.get(`/requests/${rid}`)).text).toContain('第 2 版');
});

it('files a cancellation; the contract page then says it is cancelled and offers no further requests', async () => {
  const a = await verifiedApplicant(t.app);
  const id = await registered(a.token);
  const agent = await signedInAgent(t.app, a.email);
  const form = await agent.get(`/contracts/${id}/cancellation/new`).expect(200);
  const missing = await agent.post(`/contracts/${id}/cancellation/new`).type('form').send({ _csrf: csrfFrom(form.text), reason: '' }).expect(422);
  expect(missing.text).toContain('error-summary');
  const created = await agent.post(`/contracts/${id}/cancellation/new`).type('form').send({ _csrf: csrfFrom(form.text), reason: '双方解除合同' }).expect(303);
  const rid = created.headers.location.split('/').pop()!;
  // While it is open, the contract page points to it instead of offering another.
  const open = await agent.get(`/contracts/${id}`).expect(200);
  expect(open.text).toContain(`/requests/${rid}`);
  expect(open.text).not.toContain(`/contracts/${id}/changes/new`);
  const show = await agent.get(`/requests/${rid}`).expect(200);
  await agent.post(`/requests/${rid}/attachments?_csrf=${encodeURIComponent(csrfFrom(show.text))}`).attach('file', await makePdf('Termination'), 'termination.pdf').expect(303);
  await agent.post(`/requests/${rid}/submit`).type('form').send({ _csrf: csrfFrom(show.text) }).expect(303);
  expect(await verifyRequest(rid, 1, '630100')).toBe('verified');
  await request(t.app).post(`/api/v1/requests/${rid}/approve`).set(bearer(reviewer)).send({}).expect(200);
  const page = await agent.get(`/contracts/${id}`).expect(200);
  expect(page.text).toContain('已注销');
  expect(page.text).not.toContain(`/contracts/${id}/changes/new`);
  const verify = await request(t.app).get(`/verify/${(await request(t.app).get(`/api/v1/contracts/${id}`).set(bearer(a.token))).body.registrationNumber}`).expect(200);
  expect(verify.text).toContain('已注销');
});
