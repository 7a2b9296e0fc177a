/** The bureau's pages, the admin pages, the applicant's messages and public verification. */
import request from 'supertest';
import { Contract } from '../../src/modules/contracts/contract.model';
import { startTestApp, type TestApp } from '../support/harness';
import { csrfFrom, inReviewContract, makeBureauUser, signedInAgent, tokenFor, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

it('lets a reviewer work the queue and register a filing from its review page', async () => {
  const a = await verifiedApplicant(t.app);
  const id = await inReviewContract(t.app, a.token, { relatedParty: true });
  const reviewer = await makeBureauUser('reviewer');
  const agent = await signedInAgent(t.app, reviewer.email);
  const queue = await agent.get('/review').expect(200);
  expect(queue.text).toContain(`/review/${id}`);
  expect(queue.text).toContain('注意 1');
  const page = await agent.get(`/review/${id}`).expect(200);
  expect(page.text).toContain('申请人申报为关联交易');
  expect(page.text).toMatch(/<iframe title="[^"]+" src="\/contracts\/[0-9a-f]+\/attachments\/[0-9a-f]+\?inline=1"/);
  expect(page.text).toContain('合同名称与内容不符且未更正');
  // The embedded PDF is served inline to the bureau.
  const att = (await Contract.findById(id).lean())!.attachments[0];
  const pdf = await agent.get(`/contracts/${id}/attachments/${att.id}?inline=1`).expect(200);
  expect(pdf.headers['content-disposition']).toMatch(/^inline/);
  expect(pdf.headers['x-frame-options']).toBe('SAMEORIGIN');
  // Refusing reason 9 without a note is explained, and nothing changes.
  await agent.post(`/review/${id}/refuse`).type('form').send({ _csrf: csrfFrom(page.text), reasonCode: '9' }).expect(303);
  expect((await agent.get(`/review/${id}`)).text).toContain('选择“其他”理由时须说明具体原因');
  expect((await Contract.findById(id).lean())!.status).toBe('in_review');
  await agent.post(`/review/${id}/approve`).type('form').send({ _csrf: csrfFrom(page.text), note: '同意' }).expect(303);
  const after = await agent.get(`/review/${id}`).expect(200);
  expect(after.text).toContain('已准予登记');
  expect(after.text).toContain('下载登记证明');
  expect((await Contract.findById(id).lean())!.status).toBe('registered');
  // A second decision from the page is refused with the reason.
  await agent.post(`/review/${id}/return`).type('form').send({ _csrf: csrfFrom(after.text), reason: 'x' }).expect(303);
  expect((await agent.get(`/review/${id}`)).text).toContain('合同不在审核中');
});

it('filters the queue and survives bad filter values', async () => {
  const reviewer = await makeBureauUser('reviewer');
  const agent = await signedInAgent(t.app, reviewer.email);
  await agent.get('/review?status=all&findings=none&minAmount=1,000&type=transfer').expect(200);
  const bad = await agent.get('/review?minAmount=abc').expect(200);
  expect(bad.text).toContain('请输入金额');
  const api = await request(t.app).get('/api/v1/review?status=bogus').set('Authorization', `Bearer ${await tokenFor(t.app, reviewer.email)}`).expect(422);
  expect(api.body.error.details[0].path).toBe('status');
});

it('keeps applicants out of the review pages and reviewers out of admin pages', async () => {
  const a = await verifiedApplicant(t.app);
  const applicant = await signedInAgent(t.app, a.email);
  await applicant.get('/review').expect(403);
  const reviewer = await signedInAgent(t.app, (await makeBureauUser('reviewer')).email);
  for (const path of ['/admin/audit', '/admin/audit.csv', '/admin/outbox', '/admin/overdue', '/admin/queues']) {
    await reviewer.get(path).expect(403);
    await request(t.app).get(path).expect(303);
  }
});

it('shows admins the audit log, searchable and exportable as CSV with Chinese headers', async () => {
  const a = await verifiedApplicant(t.app);
  const id = await inReviewContract(t.app, a.token);
  const admin = await makeBureauUser('admin');
  const agent = await signedInAgent(t.app, admin.email);
  const page = await agent.get(`/review/${id}`);
  await agent.post(`/review/${id}/return`).type('form').send({ _csrf: csrfFrom(page.text), reason: '请补充合同附件，"逗号,引号"' }).expect(303);
  const audit = await agent.get('/admin/audit?action=contract.').expect(200);
  expect(audit.text).toContain('contract.returned');
  expect(audit.text).toContain(admin.email);
  const csv = await agent.get(`/admin/audit.csv?action=contract.returned&actor=${encodeURIComponent(admin.email)}`).expect(200);
  expect(csv.headers['content-type']).toMatch(/text\/csv/);
  const lines = csv.text.replace(/^\uFEFF/, '').trim().split('\n');
  expect(lines[0]).toBe('时间,操作人,角色,操作,对象类型,对象,IP,详情');
  expect(lines).toHaveLength(2);
  expect(lines[1]).toContain('contract.returned');
  // The comma inside the details stays inside one quoted field.
  expect(lines[1]).toMatch(/,"\{.*逗号,引号.*\}"$/);
  const badCsv = await agent.get('/admin/audit.csv?from=yesterday').expect(422);
  expect(badCsv.text).toContain('提交的内容有误');
  expect((await agent.get('/admin/audit?from=yesterday').expect(200)).text).toContain('筛选条件有误');
  // Sign-ins of bureau accounts are there too.
  expect((await agent.get('/admin/audit?action=auth.sign_in').expect(200)).text).toContain(admin.email);
});

it('gives admins the queue dashboard and the outbox', async () => {
  const admin = await signedInAgent(t.app, (await makeBureauUser('admin')).email);
  const board = await admin.get('/admin/queues').expect(200);
  expect(board.text).toMatch(/<div id="root"/);
  const api = await admin.get('/admin/queues/api/queues').expect(200);
  expect(JSON.stringify(api.body)).toContain('contract-verification');
  await admin.get('/admin/outbox').expect(200);
  await admin.get('/admin/overdue').expect(200);
});

it("shows the applicant the decision among their messages and marks them read", async () => {
  const a = await verifiedApplicant(t.app);
  const id = await inReviewContract(t.app, a.token);
  const reviewer = await tokenFor(t.app, (await makeBureauUser('reviewer')).email);
  await request(t.app).post(`/api/v1/contracts/${id}/refuse`).set('Authorization', `Bearer ${reviewer}`).send({ reasonCode: 4 }).expect(200);
  const agent = await signedInAgent(t.app, a.email);
  const list = await agent.get('/notifications').expect(200);
  expect(list.text).toContain('技术合同登记：不予登记');
  expect(list.text).toContain('不予登记理由：应经有关部门审批而未审批');
  expect(list.text).toContain('badge-submitted');
  await agent.post('/notifications/read').type('form').send({ _csrf: csrfFrom(list.text) }).expect(303);
  expect((await agent.get('/notifications')).text).not.toContain('badge-submitted');
});

it('verifies a certificate publicly, valid and then revoked', async () => {
  const a = await verifiedApplicant(t.app);
  const id = await inReviewContract(t.app, a.token);
  const reviewer = await tokenFor(t.app, (await makeBureauUser('reviewer')).email);
  const admin = await tokenFor(t.app, (await makeBureauUser('admin')).email);
  const { registrationNumber } = (await request(t.app).post(`/api/v1/contracts/${id}/approve`).set('Authorization', `Bearer ${reviewer}`).send({}).expect(200)).body;
  const api = await request(t.app).get(`/api/v1/public/certificates/${registrationNumber}`).expect(200);
  expect(api.body).toMatchObject({ registrationNumber, status: 'registered', sellerName: expect.any(String), contractAmount: expect.stringMatching(/^\d+\.\d{2}$/) });
  expect(JSON.stringify(api.body)).not.toMatch(/phone|email|contactPerson/);
  expect((await request(t.app).get(`/verify/${registrationNumber}`).expect(200)).text).toContain('有效：该技术合同已登记');
  await request(t.app).post(`/api/v1/contracts/${id}/revoke`).set('Authorization', `Bearer ${admin}`).send({ reason: '重复登记' }).expect(200);
  expect((await request(t.app).get(`/api/v1/public/certificates/${registrationNumber}`).expect(200)).body.status).toBe('revoked');
  expect((await request(t.app).get(`/verify/${registrationNumber}`).expect(200)).text).toContain('已撤销');
  await request(t.app).get('/api/v1/public/certificates/2026630100999999').expect(404);
  await request(t.app).get('/api/v1/public/certificates/not-a-number').expect(404);
  expect((await request(t.app).get('/verify/2026630100999999').expect(404)).text).toContain('未找到登记编号');
});
