/** The filing form: drafts that keep what was typed, buyers without JavaScript, upload, submit. */
import request from 'supertest';
import { Contract } from '../../src/modules/contracts/contract.model';
import { startTestApp, type TestApp } from '../support/harness';
import { csrfFrom, filingForm, makePdf, signedInAgent, signUpOrg } from '../support/fixtures';
import { Organization } from '../../src/modules/organizations/organization.model';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

async function applicantAgent() {
  const org = await signUpOrg(t.app, { verified: true });
  const agent = await signedInAgent(t.app, org.email);
  const list = await agent.get('/contracts').expect(200);
  const created = await agent.post('/contracts/new').type('form').send({ _csrf: csrfFrom(list.text) }).expect(303);
  const id = /\/contracts\/([0-9a-f]{24})\/edit/.exec(created.headers.location)![1];
  const page = await agent.get(`/contracts/${id}/edit`).expect(200);
  return { org, agent, id, page };
}

/** The complete filing as the form posts it (with an empty second deduction row and district, as the page has). */
function formBody(csrf: string, over: Record<string, string> = {}) {
  return { _csrf: csrf, ...filingForm({ 'deductions[1][item]': '', 'deductions[1][amount]': '', 'buyers[0][regionDistrict]': '', action: 'save', ...over }) };
}

/** Posts the form with the seller's own fields (name, code, region) as the page shows them. */
async function post(agent: request.Agent, id: string, page: string, body: Record<string, string>) {
  const seller: Record<string, string> = {};
  for (const k of ['name', 'uscc', 'nature', 'regionProvince', 'regionCity', 'regionDistrict']) {
    const sel = new RegExp(`name="seller\\[${k}\\]"[^>]*value="([^"]*)"`).exec(page);
    const opt = new RegExp(`name="seller\\[${k}\\]"[\\s\\S]*?<option value="([^"]+)" selected>`).exec(page);
    if (sel) seller[`seller[${k}]`] = sel[1];
    else if (opt) seller[`seller[${k}]`] = opt[1];
  }
  return agent.post(`/contracts/${id}/edit`).type('form').send({ ...seller, ...body });
}

it('offers a new draft with the seller filled in from the organisation', async () => {
  const { page, org } = await applicantAgent();
  expect(page.text).toContain(`value="${org.uscc}"`);
  expect(page.text).toContain('填写合同登记表');
  expect(page.text).toMatch(/name="seller\[regionDistrict\]"[\s\S]*?<option value="630102" selected>/);
});

it('saves a draft with invalid values as typed, shows the errors, and keeps them across visits', async () => {
  const { agent, id, page } = await applicantAgent();
  const res = await post(agent, id, page.text, formBody(csrfFrom(page.text), { contractAmount: '12,34x', signedOn: '2026-02-30', 'buyers[0][phone]': 'call me', title: '<script>alert(1)</script>盐湖' }));
  expect(res.status).toBe(200);
  expect(res.text).toContain('草稿已保存。以下内容有误');
  expect(res.text).toContain('value="12,34x"');
  expect(res.text).toContain('value="2026-02-30"');
  expect(res.text).toContain('value="call me"');
  expect(res.text).toContain('请输入金额');
  expect(res.text).not.toContain('<script>alert(1)</script>');
  expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;盐湖');
  const doc = await Contract.findById(id).lean();
  expect(doc!.title).toBe('<script>alert(1)</script>盐湖');
  expect(doc!.technicalAmountFen).toBe(110_000_000);
  expect(doc!.contractAmountFen).toBeNull();
  expect(doc!.draftRaw.map((r) => r.path).sort()).toEqual(['buyers.0.phone', 'contractAmount', 'signedOn']);
  // Coming back later shows exactly what was typed.
  const again = await agent.get(`/contracts/${id}/edit`).expect(200);
  expect(again.text).toContain('value="12,34x"');
  expect(again.text).toContain('value="1,100,000.00"');
  // Correcting it clears the kept values.
  const fixed = await post(agent, id, again.text, formBody(csrfFrom(again.text)));
  expect(fixed.status).toBe(303);
  const after = await Contract.findById(id).lean();
  expect(after!.draftRaw).toEqual([]);
  expect(after!.contractAmountFen).toBe(125_000_000);
  expect((await agent.get(`/contracts/${id}/edit`)).text).toContain('value="1,250,000.00"');
});

it('adds and removes buyers without JavaScript, saving what was typed', async () => {
  const { agent, id, page } = await applicantAgent();
  const added = await post(agent, id, page.text, formBody(csrfFrom(page.text), { action: 'addBuyer' }));
  expect(added.status).toBe(200);
  expect(added.text).toContain('买方 2');
  const two = await post(agent, id, added.text, formBody(csrfFrom(added.text), { action: 'save', 'buyers[1][name]': '第二买方有限公司', 'buyers[1][nature]': '170' }));
  expect(two.status).toBe(303); // saved: a draft may have an incomplete buyer
  expect((await Contract.findById(id).lean())!.buyers).toHaveLength(2);
  const page2 = await agent.get(`/contracts/${id}/edit`).expect(200);
  expect(page2.text).toContain('第二买方有限公司');
  const removed = await post(agent, id, page2.text, formBody(csrfFrom(page2.text), { action: 'removeBuyer-1', 'buyers[1][name]': '第二买方有限公司' }));
  expect(removed.status).toBe(200);
  expect(removed.text).not.toContain('第二买方有限公司');
  expect((await Contract.findById(id).lean())!.buyers).toHaveLength(1);
});

it('refuses to submit without a PDF, then uploads one and submits', async () => {
  const { agent, id, page } = await applicantAgent();
  const refused = await post(agent, id, page.text, formBody(csrfFrom(page.text), { action: 'submit' }));
  expect(refused.status).toBe(422);
  expect(refused.text).toContain('请上传已签署的合同文本');
  expect((await Contract.findById(id).lean())!.status).toBe('draft');

  const csrf = csrfFrom(refused.text);
  const noToken = await agent.post(`/contracts/${id}/attachments`).attach('file', await makePdf(), '合同.pdf');
  expect(noToken.status).toBe(403);
  const bad = await agent.post(`/contracts/${id}/attachments?_csrf=${encodeURIComponent(csrf)}`).attach('file', Buffer.from('PK\u0003\u0004 zip'), 'fake.pdf').expect(303);
  expect(bad.headers.location).toBe(`/contracts/${id}/edit#attachments`);
  expect((await agent.get(`/contracts/${id}/edit`)).text).toContain('文件不是 PDF');
  await agent.post(`/contracts/${id}/attachments?_csrf=${encodeURIComponent(csrf)}`).attach('file', await makePdf(), '合同签字版.pdf').expect(303);
  const withFile = await agent.get(`/contracts/${id}/edit`).expect(200);
  expect(withFile.text).toContain('已上传 合同签字版.pdf');

  const submitted = await post(agent, id, withFile.text, formBody(csrfFrom(withFile.text), { action: 'submit' }));
  expect(submitted.status).toBe(303);
  expect(submitted.headers.location).toBe(`/contracts/${id}`);
  const shown = await agent.get(`/contracts/${id}`).expect(200);
  expect(shown.text).toContain('已提交，系统正在进行自动核查');
  expect(shown.text).toContain('1,250,000.00');
  expect((await Contract.findById(id).lean())!.status).toBe('submitted');
  expect(await t.queues.verification.getJob(`verify-${id}-1`)).toBeTruthy();
  // Once submitted, the form is closed.
  expect((await agent.get(`/contracts/${id}/edit`).expect(303)).headers.location).toBe(`/contracts/${id}`);
});

it('keeps a pending organisation from submitting, with a clear message', async () => {
  const { agent, id, page, org } = await applicantAgent();
  await Organization.updateOne({ _id: org.orgId }, { $set: { status: 'pending' } });
  const csrf = csrfFrom(page.text);
  await agent.post(`/contracts/${id}/attachments?_csrf=${encodeURIComponent(csrf)}`).attach('file', await makePdf(), 'c.pdf').expect(303);
  const res = await post(agent, id, page.text, formBody(csrf, { action: 'submit' }));
  expect(res.status).toBe(303);
  expect((await agent.get(`/contracts/${id}`)).text).toContain('机构尚未通过科技局核验');
  expect((await Contract.findById(id).lean())!.status).toBe('draft');
});

it('lists, searches and filters my contracts', async () => {
  const { agent, id, page } = await applicantAgent();
  await post(agent, id, page.text, formBody(csrfFrom(page.text), { title: '牦牛绒精深加工技术开发合同' }));
  const list = await agent.get('/contracts?q=牦牛').expect(200);
  expect(list.text).toContain('牦牛绒精深加工技术开发合同');
  expect(list.text).toContain('共 1 份');
  expect((await agent.get('/contracts?q=不存在的').expect(200)).text).toContain('共 0 份');
  expect((await agent.get('/contracts?status=submitted').expect(200)).text).toContain('共 0 份');
  // A bad filter value does not break the page.
  expect((await agent.get('/contracts?status=%24ne&pageSize=99999').expect(200)).text).toContain('我的合同');
});
