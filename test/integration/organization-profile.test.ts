/**
 * An organisation's own life: its profile and contact details, a change of name verified by the
 * bureau (pending meanwhile, decided once, kept in the history), and re-applying after a rejection.
 */
import request from 'supertest';
import { usccCheckCharacter } from '../../src/domain/uscc';
import { AuditEntry } from '../../src/modules/audit/audit.model';
import { Notification } from '../../src/modules/notifications/notification.model';
import { Organization } from '../../src/modules/organizations/organization.model';
import { startTestApp, type TestApp } from '../support/harness';
import { bearer, completeContract, csrfFrom, makeBureauUser, PASSWORD, signedInAgent, signUpOrg, tokenFor, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
let admin: string;
let admin2: string;
let reviewer: string;
let adminEmail: string;
beforeAll(async () => {
  t = await startTestApp();
  adminEmail = (await makeBureauUser('admin')).email;
  admin = await tokenFor(t.app, adminEmail);
  admin2 = await tokenFor(t.app, (await makeBureauUser('admin')).email);
  reviewer = await tokenFor(t.app, (await makeBureauUser('reviewer')).email);
});
afterAll(async () => {
  await t.close();
});

const mine = (token: string) => request(t.app).get('/api/v1/organizations/mine').set(bearer(token)).expect(200);
const patch = (token: string, body: object) => request(t.app).patch('/api/v1/organizations/mine').set(bearer(token)).send(body);
const draftSellerName = async (token: string) => (await request(t.app).post('/api/v1/contracts').set(bearer(token)).send(completeContract()).expect(201)).body.seller.name;

describe('the profile', () => {
  it('shows the organisation and saves address and contact details, which the filing form then offers', async () => {
    const a = await verifiedApplicant(t.app);
    const before = await mine(a.token);
    expect(before.body).toMatchObject({ id: a.orgId, uscc: a.uscc, status: 'verified', contact: null, pendingChange: null, nameHistory: [] });
    const contact = { legalRepresentative: '王院长', contactPerson: '刘老师', phone: '0971-7654321', email: 'Liu@Institute.test' };
    const res = await patch(a.token, { address: '西宁市城中区南大街 2 号', contact }).expect(200);
    expect(res.body).toMatchObject({ address: '西宁市城中区南大街 2 号', contact: { ...contact, email: 'liu@institute.test' } });
    expect((await Organization.findById(a.orgId).lean())!.contact).toMatchObject({ phone: '0971-7654321', email: 'liu@institute.test' });
    // One field at a time; an empty one clears it.
    const cleared = await patch(a.token, { contact: { phone: '' } }).expect(200);
    expect(cleared.body.contact).toEqual({ ...contact, email: 'liu@institute.test', phone: null });
    expect(await AuditEntry.countDocuments({ action: 'organization.profile_updated', targetId: a.orgId })).toBe(2);
  });

  it('refuses bad input with 422 in the API error shape, changing nothing', async () => {
    const a = await verifiedApplicant(t.app);
    const bad = await patch(a.token, { name: 'x'.repeat(201), address: 'y'.repeat(301), contact: { phone: 'call me', email: 'not-an-email', fax: '1' }, uscc: '91350100M000100Y43' }).expect(422);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    const paths = bad.body.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(['address', 'contact.email', 'contact.fax', 'contact.phone', 'name', 'uscc']);
    const byPath = Object.fromEntries(bad.body.error.details.map((d: { path: string; message: string }) => [d.path, d.message]));
    expect(byPath['contact.phone']).toBe('请输入有效的电话号码。');
    expect(byPath.name).toBe('最多 200 个字符。');
    expect(byPath.uscc).toBe('统一社会信用代码不能修改。');
    await patch(a.token, { contact: 'a string' }).expect(422);
    await patch(a.token, ['not', 'an', 'object']).expect(422);
    const org = (await Organization.findById(a.orgId).lean())!;
    expect(org).toMatchObject({ contact: null, pendingChange: null, uscc: a.uscc });
  });

  it('is the manager’s to edit: a colleague and the bureau are refused', async () => {
    const a = await verifiedApplicant(t.app);
    const colleagueEmail = `${Date.now()}c@institute.test`;
    await request(t.app).post('/api/v1/organization/members').set(bearer(a.token)).send({ name: '同事', email: colleagueEmail, password: PASSWORD }).expect(201);
    await Organization.db.collection('users').updateOne({ email: colleagueEmail }, { $set: { mustChangePassword: false } });
    const colleague = await tokenFor(t.app, colleagueEmail);
    await mine(colleague);
    expect((await patch(colleague, { address: '别处' }).expect(403)).body.error.reason).toBe('NOT_ORGANIZATION_MANAGER');
    await patch(reviewer, { address: '别处' }).expect(403);
    await request(t.app).patch('/api/v1/organizations/mine').send({ address: '别处' }).expect(401);
  });

  it('shows errors beside the fields of the page, and saves a correct form', async () => {
    const a = await verifiedApplicant(t.app);
    const agent = await signedInAgent(t.app, a.email);
    const form = await agent.get('/organization/profile').expect(200);
    const name = (await Organization.findById(a.orgId).lean())!.name;
    const bad = await agent
      .post('/organization/profile')
      .type('form')
      .send({ _csrf: csrfFrom(form.text), name: '名'.repeat(201), address: '', legalRepresentative: '', contactPerson: '刘老师', phone: 'abc', email: '' })
      .expect(422);
    expect(bad.text).toContain('请输入有效的电话号码。');
    expect(bad.text).toContain('最多 200 个字符。');
    expect(bad.text).toContain('href="#f-phone"');
    expect(bad.text).toContain('value="刘老师"'); // what was typed stays
    const ok = await agent
      .post('/organization/profile')
      .type('form')
      .send({ _csrf: csrfFrom(bad.text), name, address: '西宁市', legalRepresentative: '王院长', contactPerson: '刘老师', phone: '13800000000', email: 'liu@institute.test' })
      .expect(303);
    expect(ok.headers.location).toBe('/organization');
    const page = (await agent.get('/organization').expect(200)).text;
    expect(page).toContain('13800000000');
    expect(page).toContain('机构信息已保存。');
  });
});

describe('a change of name', () => {
  it('stays pending until the bureau approves it; filings keep the old name meanwhile; approval keeps the history', async () => {
    const a = await verifiedApplicant(t.app);
    const oldName = (await Organization.findById(a.orgId).lean())!.name;
    const newName = `${oldName}（更名）`;
    const requested = await patch(a.token, { name: newName }).expect(200);
    expect(requested.body).toMatchObject({ name: oldName, pendingChange: { name: newName, requestedAt: expect.stringMatching(/\+08:00$/) } });
    expect(await draftSellerName(a.token)).toBe(oldName);
    const page = (await (await signedInAgent(t.app, a.email)).get('/organization').expect(200)).text;
    expect(page).toContain('名称变更申请待科技局核验');
    expect(page).toContain(newName);

    const queue = await request(t.app).get('/api/v1/organizations?nameChange=pending').set(bearer(reviewer)).expect(200);
    expect(queue.body.items).toContainEqual(expect.objectContaining({ id: a.orgId, name: oldName, pendingChange: expect.objectContaining({ name: newName }) }));
    await request(t.app).post(`/api/v1/organizations/${a.orgId}/name-change/approve`).set(bearer(reviewer)).send({}).expect(403);
    await request(t.app).post(`/api/v1/organizations/${a.orgId}/name-change/approve`).set(bearer(a.token)).send({}).expect(403);

    const approved = await request(t.app).post(`/api/v1/organizations/${a.orgId}/name-change/approve`).set(bearer(admin)).send({ name: newName }).expect(200);
    expect(approved.body).toEqual({ status: 'approved', name: newName });
    const after = await mine(a.token);
    expect(after.body).toMatchObject({ name: newName, pendingChange: null, nameChangeDecision: { name: newName, action: 'approved' } });
    expect(after.body.nameHistory).toEqual([{ name: oldName, from: expect.any(String), to: expect.any(String), approvedBy: { id: expect.any(String), name: '管理员' } }]);
    expect(await draftSellerName(a.token)).toBe(newName);
    expect(await AuditEntry.countDocuments({ targetId: a.orgId, action: { $in: ['organization.name_change_requested', 'organization.name_change_approved'] } })).toBe(2);
    const note = await Notification.findOne({ organizationId: a.orgId, kind: 'organization_name_change_approved' }).lean();
    expect(note!.body).toContain(newName);
    expect(note!.bodyEn).toContain(newName);
    // Decided: a second approval finds nothing pending.
    const again = await request(t.app).post(`/api/v1/organizations/${a.orgId}/name-change/approve`).set(bearer(admin)).send({}).expect(409);
    expect(again.body.error).toMatchObject({ code: 'CONFLICT', reason: 'NAME_CHANGE_NOT_PENDING' });
  });

  it('lets exactly one of two admins deciding at once win', async () => {
    const decide = (orgId: string, action: 'approve' | 'reject', token: string) =>
      request(t.app).post(`/api/v1/organizations/${orgId}/name-change/${action}`).set(bearer(token)).send({ reason: '证照名称不符' });
    for (const second of ['approve', 'reject'] as const) {
      const a = await verifiedApplicant(t.app);
      const newName = `新名称${Date.now()}${second}`;
      await patch(a.token, { name: newName }).expect(200);
      const results = await Promise.all([decide(a.orgId, 'approve', admin), decide(a.orgId, second, admin2)]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
      expect(results.find((r) => r.status === 409)!.body.error).toMatchObject({ code: 'CONFLICT', reason: 'NAME_CHANGE_NOT_PENDING' });
      const org = (await Organization.findById(a.orgId).lean())!;
      expect(org.pendingChange).toBeNull();
      expect(org.nameHistory.length).toBe(org.name === newName ? 1 : 0);
      expect(org.history.filter((h) => h.action === 'name_change_approved' || h.action === 'name_change_rejected')).toHaveLength(1);
    }
    // Many at once, so that reads and writes really interleave: still exactly one decision.
    const b = await verifiedApplicant(t.app);
    await patch(b.token, { name: `新名称${Date.now()}many` }).expect(200);
    const many = await Promise.all(Array.from({ length: 8 }, (_, i) => decide(b.orgId, i % 2 ? 'reject' : 'approve', i % 3 ? admin : admin2)));
    expect(many.map((r) => r.status).sort()).toEqual([200, ...Array(7).fill(409)]);
    const org = (await Organization.findById(b.orgId).lean())!;
    expect(org.history.filter((h) => h.action === 'name_change_approved' || h.action === 'name_change_rejected')).toHaveLength(1);
    expect(await AuditEntry.countDocuments({ targetId: b.orgId, action: { $in: ['organization.name_change_approved', 'organization.name_change_rejected'] } })).toBe(1);
  });

  it('shows the reason of a rejection to the applicant; a rejection needs a reason', async () => {
    const a = await verifiedApplicant(t.app);
    const oldName = (await Organization.findById(a.orgId).lean())!.name;
    await patch(a.token, { name: '青海某某有限公司' }).expect(200);
    const missing = await request(t.app).post(`/api/v1/organizations/${a.orgId}/name-change/reject`).set(bearer(admin)).send({}).expect(422);
    expect(missing.body.error.details[0].path).toBe('reason');
    await request(t.app).post(`/api/v1/organizations/${a.orgId}/name-change/reject`).set(bearer(admin)).send({ reason: '未提供更名核准通知书' }).expect(200);
    const after = await mine(a.token);
    expect(after.body).toMatchObject({ name: oldName, pendingChange: null, nameHistory: [], nameChangeDecision: { action: 'rejected', reason: '未提供更名核准通知书' } });
    const page = (await (await signedInAgent(t.app, a.email)).get('/organization').expect(200)).text;
    expect(page).toContain('未提供更名核准通知书');
    expect(await Notification.countDocuments({ organizationId: a.orgId, kind: 'organization_name_change_rejected' })).toBe(1);
    expect(await AuditEntry.countDocuments({ targetId: a.orgId, action: 'organization.name_change_rejected' })).toBe(1);
  });

  it('a new request replaces a waiting one, which an approval of the old name then cannot approve unseen', async () => {
    const a = await verifiedApplicant(t.app);
    const oldName = (await Organization.findById(a.orgId).lean())!.name;
    await patch(a.token, { name: '第一次申请的名称' }).expect(200);
    await patch(a.token, { name: '第二次申请的名称' }).expect(200);
    await request(t.app).post(`/api/v1/organizations/${a.orgId}/name-change/approve`).set(bearer(admin)).send({ name: '第一次申请的名称' }).expect(409);
    // Putting the current name back withdraws the request.
    const withdrawn = await patch(a.token, { name: oldName }).expect(200);
    expect(withdrawn.body.pendingChange).toBeNull();
    expect(await AuditEntry.countDocuments({ targetId: a.orgId, action: 'organization.name_change_withdrawn' })).toBe(1);
  });

  it('is only for verified organisations', async () => {
    const pending = await signUpOrg(t.app);
    const token = await tokenFor(t.app, pending.email);
    const res = await patch(token, { name: '另一个名称' }).expect(409);
    expect(res.body.error.reason).toBe('NAME_CHANGE_NOT_ALLOWED');
    await patch(token, { contact: { phone: '0971-1112222' } }).expect(200);
  });

  it('is decided on the admin page', async () => {
    const a = await verifiedApplicant(t.app);
    await patch(a.token, { name: '页面核准的新名称' }).expect(200);
    const agent = await signedInAgent(t.app, adminEmail);
    const list = await agent.get('/admin/organizations?status=name_change').expect(200);
    expect(list.text).toContain('页面核准的新名称');
    expect(list.text).toContain(`/admin/organizations/${a.orgId}/name-change/approve`);
    const res = await agent.post(`/admin/organizations/${a.orgId}/name-change/approve`).type('form').send({ _csrf: csrfFrom(list.text), name: '页面核准的新名称' }).expect(303);
    expect(res.headers.location).toBe('/admin/organizations?status=name_change');
    expect((await Organization.findById(a.orgId).lean())!.name).toBe('页面核准的新名称');
  });
});

describe('re-applying after a rejected sign-up', () => {
  it('shows the reason, takes corrected details back to pending, and keeps every rejection', async () => {
    const org = await signUpOrg(t.app);
    const token = await tokenFor(t.app, org.email);
    await request(t.app).post(`/api/v1/organizations/${org.orgId}/reject`).set(bearer(admin)).send({ reason: '名称与营业执照不符' }).expect(200);
    expect(await Notification.countDocuments({ organizationId: org.orgId, kind: 'organization_rejected' })).toBe(1);
    const agent = await signedInAgent(t.app, org.email);
    const page = (await agent.get('/organization').expect(200)).text;
    expect(page).toContain('名称与营业执照不符');
    expect(page).toContain('href="/organization/reapply"');

    const bad = await request(t.app).post('/api/v1/organizations/mine/reapply').set(bearer(token)).send({ name: 'x'.repeat(201), regionCode: '999999' }).expect(422);
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['name', 'regionCode']);
    const ok = await request(t.app).post('/api/v1/organizations/mine/reapply').set(bearer(token)).send({ name: '青海更正后研究院', address: '西宁市城北区' }).expect(200);
    expect(ok.body).toEqual({ status: 'pending' });
    const after = await mine(token);
    expect(after.body).toMatchObject({ status: 'pending', name: '青海更正后研究院', address: '西宁市城北区', rejectionReason: null });
    expect(after.body.verificationHistory.map((v: { action: string }) => v.action)).toEqual(['signed_up', 'rejected', 'reapplied']);
    expect(after.body.verificationHistory[1].reason).toBe('名称与营业执照不符');
    await request(t.app).post('/api/v1/organizations/mine/reapply').set(bearer(token)).send({}).expect(409);

    // Rejected again, re-applied through the page, then verified: the whole story stays.
    await request(t.app).post(`/api/v1/organizations/${org.orgId}/reject`).set(bearer(admin)).send({ reason: '地址不详' }).expect(200);
    const form = await agent.get('/organization/reapply').expect(200);
    expect(form.text).toContain('地址不详');
    expect(form.text).toContain('value="青海更正后研究院"');
    const badForm = await agent
      .post('/organization/reapply')
      .type('form')
      .send({ _csrf: csrfFrom(form.text), name: '', uscc: org.uscc, nature: '021', regionProvince: '630000', regionCity: '630100', regionDistrict: '630102', address: '' })
      .expect(422);
    expect(badForm.text).toContain('此项为必填项。');
    await agent
      .post('/organization/reapply')
      .type('form')
      .send({ _csrf: csrfFrom(badForm.text), name: '青海更正后研究院', uscc: org.uscc, nature: '021', regionProvince: '630000', regionCity: '630100', regionDistrict: '630102', address: '西宁市城北区祁连路 9 号' })
      .expect(303);
    await request(t.app).post(`/api/v1/organizations/${org.orgId}/verify`).set(bearer(admin)).expect(200);
    const final = await mine(token);
    expect(final.body.status).toBe('verified');
    expect(final.body.verificationHistory.map((v: { action: string; reason: string | null }) => [v.action, v.reason])).toEqual([
      ['signed_up', null],
      ['rejected', '名称与营业执照不符'],
      ['reapplied', null],
      ['rejected', '地址不详'],
      ['reapplied', null],
      ['verified', null],
    ]);
    expect(await AuditEntry.countDocuments({ targetId: org.orgId, action: 'organization.reapplied' })).toBe(2);
    expect(await Notification.countDocuments({ organizationId: org.orgId, kind: 'organization_rejected' })).toBe(2);
    expect(await Notification.countDocuments({ organizationId: org.orgId, kind: 'organization_verified' })).toBe(1);
    // The bureau saw the earlier rejections while deciding (the page of pending organisations).
  });

  it('lets a never-verified organisation correct its credit code, but not take another’s', async () => {
    const taken = await signUpOrg(t.app);
    const org = await signUpOrg(t.app);
    const token = await tokenFor(t.app, org.email);
    await request(t.app).post(`/api/v1/organizations/${org.orgId}/reject`).set(bearer(admin)).send({ reason: '信用代码与证照不符' }).expect(200);
    const clash = await request(t.app).post('/api/v1/organizations/mine/reapply').set(bearer(token)).send({ uscc: taken.uscc }).expect(409);
    expect(clash.body.error.reason).toBe('USCC_TAKEN');
    expect(JSON.stringify(clash.body)).not.toContain(taken.orgId);
    const fixed = `${org.uscc.slice(0, 10)}${taken.uscc.slice(10, 17)}`;
    const corrected = fixed + usccCheckCharacter(fixed);
    await request(t.app).post('/api/v1/organizations/mine/reapply').set(bearer(token)).send({ uscc: corrected }).expect(200);
    expect((await mine(token)).body).toMatchObject({ uscc: corrected, status: 'pending' });
  });

  it('shows the bureau the earlier rejections of a re-applied organisation', async () => {
    const org = await signUpOrg(t.app);
    const token = await tokenFor(t.app, org.email);
    await request(t.app).post(`/api/v1/organizations/${org.orgId}/reject`).set(bearer(admin)).send({ reason: '缺少法人证书' }).expect(200);
    await request(t.app).post('/api/v1/organizations/mine/reapply').set(bearer(token)).send({}).expect(200);
    const agent = await signedInAgent(t.app, adminEmail);
    const page = (await agent.get('/admin/organizations?status=pending').expect(200)).text;
    expect(page).toContain('缺少法人证书');
  });

  it('is refused for an organisation that was not rejected', async () => {
    const a = await verifiedApplicant(t.app);
    const res = await request(t.app).post('/api/v1/organizations/mine/reapply').set(bearer(a.token)).send({}).expect(409);
    expect(res.body.error).toMatchObject({ reason: 'ORGANIZATION_NOT_REJECTED', current: { status: 'verified' } });
    await request(t.app).post('/api/v1/organizations/mine/reapply').set(bearer(reviewer)).send({}).expect(403);
  });
});
