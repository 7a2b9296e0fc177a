/**
 * Parties beyond one organisation selling to another: natural persons (resident ID numbers,
 * masked to all but the bureau), technology imports registered by the buyer, several sellers,
 * and the contact details a new filing starts with.
 */
import request from 'supertest';
import { isTechnologyImport } from '../../src/domain/contract-input';
import { residentIdCheckCharacter } from '../../src/domain/resident-id';
import { Contract } from '../../src/modules/contracts/contract.model';
import { Organization } from '../../src/modules/organizations/organization.model';
import { verifySubmission } from '../../src/modules/review/verification.service';
import { startTestApp, type TestApp } from '../support/harness';
import {
  bearer,
  completeContract,
  csrfFrom,
  makeBureauUser,
  makePdf,
  makeUscc,
  readyDraft,
  reviewerToken,
  sellerContact,
  signedInAgent,
  verifiedApplicant,
} from '../support/fixtures';

let t: TestApp;
let reviewer: string;
beforeAll(async () => {
  t = await startTestApp();
  reviewer = await reviewerToken(t.app);
});
afterAll(async () => {
  await t.close();
});

const ID = '11010519491231002X';
const MASKED = '110105********002X';
const person = (over: Record<string, unknown> = {}) => ({
  name: '赵明',
  nature: '400',
  idNumber: ID,
  regionCode: '630102',
  contactPerson: '赵明',
  phone: '13909710000',
  email: 'zhao@person.test',
  address: '西宁市城东区八一路 1 号',
  ...over,
});
const foreignSeller = (over: Record<string, unknown> = {}) => ({
  name: 'Alpine Battery Technologies GmbH',
  nature: '180',
  country: 'DE',
  contactPerson: 'Anna Berger',
  phone: '+49 89 1234567',
  email: 'anna@alpine-battery.test',
  address: 'Leopoldstraße 1, München',
  ...over,
});
const coSeller = (over: Record<string, unknown> = {}) => ({
  name: '青海高原材料研究所',
  uscc: makeUscc(),
  nature: '021',
  regionCode: '630104',
  legalRepresentative: '马所长',
  contactPerson: '韩工',
  phone: '0971-5550000',
  email: 'han@plateau.test',
  address: '西宁市城西区五四大街 2 号',
  ...over,
});
const paths = (res: request.Response) => (res.body.error?.details ?? []).map((d: { path: string }) => d.path) as string[];

function submit(token: string, id: string) {
  return request(t.app).post(`/api/v1/contracts/${id}/submit`).set(bearer(token));
}

describe('natural persons as parties', () => {
  it('files a buyer who is a natural person with an ID number and no credit code; only the bureau sees the number in full', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token, { buyers: [person()] });
    expect((await Contract.findById(id).lean())!.buyers![0].idNumber).toBe(ID);

    const mine = await request(t.app).get(`/api/v1/contracts/${id}`).set(bearer(a.token)).expect(200);
    expect(mine.body.buyers[0]).toMatchObject({ name: '赵明', nature: '400', idNumber: MASKED });
    expect(mine.body.buyers[0].uscc).toBeUndefined();
    expect(JSON.stringify(mine.body)).not.toContain(ID);
    const listed = await request(t.app).get('/api/v1/contracts').set(bearer(a.token)).expect(200);
    expect(JSON.stringify(listed.body)).toContain(MASKED);
    expect(JSON.stringify(listed.body)).not.toContain(ID);
    const bureau = await request(t.app).get(`/api/v1/contracts/${id}`).set(bearer(reviewer)).expect(200);
    expect(bureau.body.buyers[0].idNumber).toBe(ID);

    await submit(a.token, id).expect(202);
    expect(await verifySubmission(id, 1, '630100')).toBe('verified');

    const applicantPage = await (await signedInAgent(t.app, a.email)).get(`/contracts/${id}`).expect(200);
    expect(applicantPage.text).toContain(MASKED);
    expect(applicantPage.text).not.toContain(ID);
    const reviewerAgent = await signedInAgent(t.app, (await makeBureauUser('reviewer')).email);
    const reviewPage = await reviewerAgent.get(`/review/${id}`).expect(200);
    expect(reviewPage.text).toContain(ID);
    const bureauShow = await reviewerAgent.get(`/contracts/${id}`).expect(200);
    expect(bureauShow.text).toContain(ID);

    // Registered: the public register and certificate name the person but never print the number.
    await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(bearer(reviewer)).send({}).expect(200);
    const number = (await Contract.findById(id).lean())!.registrationNumber!;
    const register = await request(t.app).get('/api/v1/public/register').query({ q: '赵明' }).expect(200);
    expect(register.body.items.map((i: { registrationNumber: string }) => i.registrationNumber)).toContain(number);
    expect(JSON.stringify(register.body)).not.toContain('110105');
    const cert = await request(t.app).get(`/api/v1/public/certificates/${number}`).expect(200);
    expect(cert.body.buyerNames).toEqual(['赵明']);
    expect(JSON.stringify(cert.body)).not.toContain('110105');
  });

  it('refuses a wrong check character with 422 at buyers.0.idNumber, naming the right one, and saves nothing', async () => {
    const a = await verifiedApplicant(t.app);
    const res = await request(t.app).post('/api/v1/contracts').set(bearer(a.token)).send(completeContract({ buyers: [person({ idNumber: '110105194912310021' })] })).expect(422);
    expect(res.body.error.details).toContainEqual({ path: 'buyers.0.idNumber', message: expect.stringContaining('“X”') });
    expect(await Contract.countDocuments({ organizationId: a.orgId })).toBe(0);

    const draft = await request(t.app).post('/api/v1/contracts').set(bearer(a.token)).send({}).expect(201);
    for (const bad of ['11010519491231002', '110105194902300029', '1101051949123100AX', 12345]) {
      const patched = await request(t.app).patch(`/api/v1/contracts/${draft.body.id}`).set(bearer(a.token)).send({ buyers: [person({ idNumber: bad })] }).expect(422);
      expect(paths(patched)).toEqual(['buyers.0.idNumber']);
    }
  });

  it('requires the ID number of a natural person at submission, and no credit code; organisations need their code and no ID number', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token, { buyers: [person({ idNumber: null }), { ...completeContract().buyers[0], uscc: null, idNumber: ID }] });
    const res = await submit(a.token, id).expect(422);
    expect(paths(res)).toEqual(expect.arrayContaining(['buyers.0.idNumber', 'buyers.1.uscc', 'buyers.1.idNumber']));
    expect(paths(res)).not.toContain('buyers.0.uscc');
    expect(paths(res)).not.toContain('buyers.0.legalRepresentative');
  });

  it('keeps the stored number when the masked value comes back unchanged (API and form), and takes a new one', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token, { buyers: [person(), person({ name: '钱红', idNumber: '440524188001010014', email: 'qian@person.test' })] });
    const shown = await request(t.app).get(`/api/v1/contracts/${id}`).set(bearer(a.token)).expect(200);
    expect(shown.body.buyers.map((b: { idNumber: string }) => b.idNumber)).toEqual([MASKED, '440524********0014']);
    // A client echoing the answer back, with the rows in another order, changes nothing.
    await request(t.app).patch(`/api/v1/contracts/${id}`).set(bearer(a.token)).send({ buyers: [shown.body.buyers[1], shown.body.buyers[0]] }).expect(200);
    expect((await Contract.findById(id).lean())!.buyers!.map((b) => b.idNumber)).toEqual(['440524188001010014', ID]);
    // A mask matching no stored number is not a number.
    const bad = await request(t.app).patch(`/api/v1/contracts/${id}`).set(bearer(a.token)).send({ buyers: [person({ idNumber: '220105********002X' })] }).expect(422);
    expect(paths(bad)).toEqual(['buyers.0.idNumber']);

    // The form shows the mask and a re-save without retyping keeps the number.
    const agent = await signedInAgent(t.app, a.email);
    const page = await agent.get(`/contracts/${id}/edit`).expect(200);
    expect(page.text).toContain(`value="${MASKED}"`);
    expect(page.text).not.toContain(ID);
    const saved = await agent.post(`/contracts/${id}/edit`).type('form').send(formFromPage(page.text, { action: 'save' }));
    expect(saved.status).toBe(303);
    const after = (await Contract.findById(id).lean())!;
    expect(after.buyers!.map((b) => b.idNumber)).toEqual(['440524188001010014', ID]);
    expect(after.draftRaw).toEqual([]);
    // Typing a new number replaces it (lower-case x and spaces are normalised).
    const fresh = '63010219900101123' + residentIdCheckCharacter('63010219900101123');
    const again = await agent.get(`/contracts/${id}/edit`).expect(200);
    await agent.post(`/contracts/${id}/edit`).type('form').send(formFromPage(again.text, { action: 'save', 'buyers[1][idNumber]': ` ${fresh.toLowerCase()} ` })).expect(303);
    expect((await Contract.findById(id).lean())!.buyers!.map((b) => b.idNumber)).toEqual(['440524188001010014', fresh]);
  });
});

describe('technology imports (技术引进)', () => {
  it('files an import: the applicant is forced in as the first buyer, the seller is abroad with a country and no code or region', async () => {
    const a = await verifiedApplicant(t.app);
    const orgName = (await Organization.findById(a.orgId).lean())!.name;
    const created = await request(t.app)
      .post('/api/v1/contracts')
      .set(bearer(a.token))
      // The buyer's identity is whatever the organisation's is: a forged one is written over.
      .send(completeContract({ direction: 'import', seller: foreignSeller(), buyers: [{ name: '冒名公司', uscc: a.uscc, nature: '150', regionCode: '110101', ...sellerContact, address: '西宁市城东区' }] }))
      .expect(201);
    expect(created.body.direction).toBe('import');
    expect(created.body.seller).toMatchObject({ name: 'Alpine Battery Technologies GmbH', country: 'DE' });
    expect(created.body.seller.uscc).toBeUndefined();
    expect(created.body.buyers).toHaveLength(1);
    expect(created.body.buyers[0]).toMatchObject({ name: orgName, uscc: a.uscc, nature: '021', regionCode: '630102', contactPerson: sellerContact.contactPerson });
    const id = created.body.id as string;
    await request(t.app).post(`/api/v1/contracts/${id}/attachments`).set(bearer(a.token)).attach('file', await makePdf(), 'c.pdf').expect(201);
    await submit(a.token, id).expect(202);
    expect(await verifySubmission(id, 1, '630100')).toBe('verified');
    const stored = (await Contract.findById(id).lean())!;
    expect(isTechnologyImport(stored)).toBe(true);
    expect(stored.findings.map((f) => f.code)).not.toContain('SELLER_OUTSIDE_AREA');
    const domestic = await readyDraft(t.app, a.token);
    expect(isTechnologyImport((await Contract.findById(domestic).lean())!)).toBe(false);
  });

  it('requires the seller abroad to have a country other than China', async () => {
    const a = await verifiedApplicant(t.app);
    const cn = await request(t.app).post('/api/v1/contracts').set(bearer(a.token)).send({ direction: 'import', seller: foreignSeller({ country: 'CN' }) }).expect(422);
    expect(cn.body.error.details).toContainEqual({ path: 'seller.country', message: expect.stringContaining('不能是中国') });
    const odd = await request(t.app).post('/api/v1/contracts').set(bearer(a.token)).send({ direction: 'abroad' }).expect(422);
    expect(paths(odd)).toEqual(['direction']);

    const created = await request(t.app).post('/api/v1/contracts').set(bearer(a.token)).send(completeContract({ direction: 'import', seller: foreignSeller({ country: null }), buyers: [sellerContact] })).expect(201);
    await request(t.app).post(`/api/v1/contracts/${created.body.id}/attachments`).set(bearer(a.token)).attach('file', await makePdf(), 'c.pdf').expect(201);
    const res = await submit(a.token, created.body.id).expect(422);
    expect(paths(res)).toContain('seller.country');
    expect(paths(res)).not.toContain('seller.uscc');
    expect(paths(res)).not.toContain('seller.regionCode');
    expect(paths(res)).not.toContain('seller.legalRepresentative');
  });

  it('moves the applicant from seller to first buyer when a draft turns into an import, keeping the other buyers, and back', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token);
    const before = (await Contract.findById(id).lean())!;
    const turned = await request(t.app).patch(`/api/v1/contracts/${id}`).set(bearer(a.token)).send({ direction: 'import' }).expect(200);
    expect(turned.body.seller).toBeNull();
    expect(turned.body.buyers).toHaveLength(2);
    expect(turned.body.buyers[0]).toMatchObject({ uscc: a.uscc, contactPerson: sellerContact.contactPerson, email: sellerContact.email });
    expect(turned.body.buyers[1]).toMatchObject({ name: before.buyers![0].name, uscc: before.buyers![0].uscc });
    await request(t.app).patch(`/api/v1/contracts/${id}`).set(bearer(a.token)).send({ seller: foreignSeller() }).expect(200);
    await submit(a.token, id).expect(202);

    const back = await readyDraft(t.app, a.token, { direction: 'import', seller: foreignSeller(), buyers: [sellerContact, completeContract().buyers[0]] });
    const domestic = await request(t.app).patch(`/api/v1/contracts/${back}`).set(bearer(a.token)).send({ direction: 'domestic' }).expect(200);
    expect(domestic.body.seller).toMatchObject({ uscc: a.uscc, contactPerson: sellerContact.contactPerson });
    expect(domestic.body.seller.country).toBeUndefined();
    expect(domestic.body.buyers).toHaveLength(1);
    expect(domestic.body.buyers[0].uscc).not.toBe(a.uscc);
  });
});

describe('several sellers', () => {
  it('round-trips co-sellers, validates them like the seller, and finds the contract by their names', async () => {
    const a = await verifiedApplicant(t.app);
    const partner = coSeller({ name: `昆仑${Date.now()}联合研究中心` });
    const id = await readyDraft(t.app, a.token, { coSellers: [partner, person({ name: '孙发明人', email: 'sun@person.test' })] });
    const got = await request(t.app).get(`/api/v1/contracts/${id}`).set(bearer(a.token)).expect(200);
    expect(got.body.coSellers).toHaveLength(2);
    expect(got.body.coSellers[0]).toMatchObject({ name: partner.name, uscc: partner.uscc, regionCode: '630104' });
    expect(got.body.coSellers[1]).toMatchObject({ name: '孙发明人', idNumber: MASKED });
    expect((await request(t.app).get(`/api/v1/contracts/${id}`).set(bearer(reviewer))).body.coSellers[1].idNumber).toBe(ID);

    const found = await request(t.app).get('/api/v1/contracts').query({ q: partner.name.slice(0, 12) }).set(bearer(a.token)).expect(200);
    expect(found.body.items.map((i: { id: string }) => i.id)).toEqual([id]);
    const bureauFound = await request(t.app).get('/api/v1/contracts').query({ q: '孙发明人' }).set(bearer(reviewer)).expect(200);
    expect(bureauFound.body.items.map((i: { id: string }) => i.id)).toContain(id);

    await submit(a.token, id).expect(202);
    expect(await verifySubmission(id, 1, '630100')).toBe('verified');
    const reviewerAgent = await signedInAgent(t.app, (await makeBureauUser('reviewer')).email);
    const reviewPage = await reviewerAgent.get(`/review/${id}`).expect(200);
    expect(reviewPage.text).toContain(partner.name);
    expect(reviewPage.text).toContain('共同卖方 2: 孙发明人');
    const applicantPage = await (await signedInAgent(t.app, a.email)).get(`/contracts/${id}`).expect(200);
    expect(applicantPage.text).toContain(partner.name);
    expect(applicantPage.text).toContain(MASKED);
    expect(applicantPage.text).not.toContain(ID);
  });

  it('refuses incomplete co-sellers at submission, a co-seller who is the seller, a buyer who is a co-seller, and more than 10', async () => {
    const a = await verifiedApplicant(t.app);
    const partner = coSeller();
    const buyerTwin = { ...completeContract().buyers[0], uscc: partner.uscc };
    const id = await readyDraft(t.app, a.token, { coSellers: [coSeller({ phone: null, regionCode: null }), { ...coSeller(), uscc: a.uscc }, partner], buyers: [buyerTwin] });
    const res = await submit(a.token, id).expect(422);
    expect(paths(res)).toEqual(expect.arrayContaining(['coSellers.0.phone', 'coSellers.0.regionCode', 'coSellers.1.uscc', 'buyers.0.uscc']));
    const many = await request(t.app).post('/api/v1/contracts').set(bearer(a.token)).send({ coSellers: Array.from({ length: 11 }, () => coSeller()) }).expect(422);
    expect(paths(many)).toEqual(['coSellers']);
  });
});

describe('contact defaults of a new filing', () => {
  it("starts from the organisation's profile contact, for the seller or, in an import, the first buyer", async () => {
    const a = await verifiedApplicant(t.app);
    const contact = { legalRepresentative: '李院长', contactPerson: '周老师', phone: '0971-8880000', email: 'zhou@institute.test' };
    // Through Mongoose (so the request cache forgets the organisation), whether or not the schema has the field yet.
    await Organization.updateOne({ _id: a.orgId }, { $set: { contact } }, { strict: false });
    const domestic = await request(t.app).post('/api/v1/contracts').set(bearer(a.token)).send({}).expect(201);
    expect(domestic.body.seller).toMatchObject({ uscc: a.uscc, ...contact });
    const imported = await request(t.app).post('/api/v1/contracts').set(bearer(a.token)).send({ direction: 'import' }).expect(201);
    expect(imported.body.buyers[0]).toMatchObject({ uscc: a.uscc, ...contact });
    // What the filing sends wins over the default.
    const own = await request(t.app).post('/api/v1/contracts').set(bearer(a.token)).send({ seller: { phone: '0971-1111111' } }).expect(201);
    expect(own.body.seller).toMatchObject({ phone: '0971-1111111', contactPerson: '周老师' });
  });

  it("else from the organisation's most recent filing, also on the new-filing form", async () => {
    const a = await verifiedApplicant(t.app);
    const first = await request(t.app).post('/api/v1/contracts').set(bearer(a.token)).send({}).expect(201);
    expect(first.body.seller.contactPerson).toBeUndefined();
    await readyDraft(t.app, a.token); // sets the seller's contact (sellerContact)
    const latest = { legalRepresentative: '新院长', contactPerson: '新联系人', phone: '0971-2220000', email: 'new@institute.test' };
    await request(t.app).post('/api/v1/contracts').set(bearer(a.token)).send({ seller: latest }).expect(201);

    const agent = await signedInAgent(t.app, a.email);
    const list = await agent.get('/contracts').expect(200);
    const created = await agent.post('/contracts/new').type('form').send({ _csrf: csrfFrom(list.text) }).expect(303);
    const page = await agent.get(created.headers.location).expect(200);
    expect(page.text).toContain('value="新联系人"');
    expect(page.text).toContain('value="new@institute.test"');
    const id = /\/contracts\/([0-9a-f]{24})\/edit/.exec(created.headers.location)![1];
    expect((await Contract.findById(id).lean())!.seller).toMatchObject({ uscc: a.uscc, ...latest });
  });

  it('starts empty when the organisation has neither', async () => {
    const a = await verifiedApplicant(t.app);
    const created = await request(t.app).post('/api/v1/contracts').set(bearer(a.token)).send({}).expect(201);
    for (const k of ['legalRepresentative', 'contactPerson', 'phone', 'email']) expect(created.body.seller[k]).toBeUndefined();
  });
});

describe('the filing form', () => {
  it('offers the kind of filing, the ID number, co-seller rows and, for an import, the seller abroad', async () => {
    const a = await verifiedApplicant(t.app);
    const agent = await signedInAgent(t.app, a.email);
    const list = await agent.get('/contracts').expect(200);
    const created = await agent.post('/contracts/new').type('form').send({ _csrf: csrfFrom(list.text) }).expect(303);
    const id = /\/contracts\/([0-9a-f]{24})\/edit/.exec(created.headers.location)![1];
    const page = await agent.get(`/contracts/${id}/edit`).expect(200);
    expect(page.text).toMatch(/<input type="radio" id="f-direction" name="direction" value="domestic"[^>]* checked>/);
    expect(page.text).toContain('<label for="f-buyers[0][idNumber]">居民身份证号码</label>');
    expect(page.text).toContain('<summary>添加共同卖方</summary>');
    expect(page.text).not.toContain('name="seller[country]"');

    // A co-seller typed into the blank row, a natural-person buyer with a mistyped number, and a switch to import.
    const body = formFromPage(page.text, {
      action: 'refresh',
      direction: 'import',
      'coSellers[0][name]': '合作方研究所',
      'coSellers[0][nature]': '021',
      'buyers[0][name]': '赵明',
      'buyers[0][nature]': '400',
      'buyers[0][idNumber]': '110105194912310021',
    });
    const shown = await agent.post(`/contracts/${id}/edit`).type('form').send(body).expect(200);
    expect(shown.text).toContain('卖方（境外）');
    expect(shown.text).toContain('买方 1（本机构）');
    expect(shown.text).toContain('name="seller[country]"');
    expect(shown.text).toContain('合作方研究所');
    expect(shown.text).toContain('value="110105194912310021"'); // kept as typed, with its error
    expect(shown.text).toContain('href="#f-buyers[1][idNumber]"');
    const doc = (await Contract.findById(id).lean())!;
    expect(doc.direction).toBe('import');
    expect(doc.buyers![0].uscc).toBe(a.uscc);
    expect(doc.coSellers!.map((c) => c.name)).toEqual(['合作方研究所']);
    expect(doc.draftRaw.map((r) => r.path)).toEqual(['buyers.1.idNumber']);

    // Removing the co-seller row without JavaScript.
    const removed = await agent.post(`/contracts/${id}/edit`).type('form').send(formFromPage(shown.text, { action: 'removeCoSeller-0' })).expect(200);
    expect(removed.text).not.toContain('合作方研究所');
    expect((await Contract.findById(id).lean())!.coSellers).toEqual([]);
  });
});

/** The form's fields as the page shows them (inputs, checked boxes and radios, selected options), with `over` on top. */
function formFromPage(html: string, over: Record<string, string>): Record<string, string> {
  const form = html.slice(html.indexOf('<form method="post" action="/contracts/'), html.indexOf('</form>', html.indexOf('id="contract-form"')));
  const out: Record<string, string> = { _csrf: csrfFrom(html) };
  for (const m of form.matchAll(/<input([^>]*)>/g)) {
    const attrs = m[1];
    const name = /name="([^"]+)"/.exec(attrs)?.[1];
    if (!name || name === '_csrf') continue;
    const type = /type="([^"]+)"/.exec(attrs)?.[1] ?? 'text';
    const value = /value="([^"]*)"/.exec(attrs)?.[1] ?? '';
    if ((type === 'radio' || type === 'checkbox') && !/\schecked/.test(attrs)) continue;
    out[name] = decode(value);
  }
  for (const m of form.matchAll(/<select[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    out[m[1]] = decode(/<option value="([^"]*)" selected>/.exec(m[2])?.[1] ?? '');
  }
  return { ...out, ...over };
}

const decode = (s: string) => s.replace(/&#34;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
