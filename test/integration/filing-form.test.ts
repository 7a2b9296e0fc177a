/**
 * The filing form a clerk uses all day: the PDF travels in the same post as the fields (so
 * nothing typed is lost), the error summary names its fields and counts them, each kind of
 * bad value has its own message (the same in the page and the API), required markers follow
 * the submission rules, sub-types follow the type, drafts are created on first save and can
 * be deleted, and a refused decision form keeps what the reviewer chose.
 */
import request from 'supertest';
import { Contract } from '../../src/modules/contracts/contract.model';
import { storedSize } from '../../src/modules/contracts/attachments.store';
import zh from '../../src/i18n/zh-CN';
import { startTestApp, type TestApp } from '../support/harness';
import { bearer, csrfFrom, filingForm, inReviewContract, makeBureauUser, makePdf, readyDraft, sellerContact, signedInAgent, tokenFor, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

type Agent = ReturnType<typeof request.agent>;

async function applicant() {
  const a = await verifiedApplicant(t.app);
  return { ...a, agent: await signedInAgent(t.app, a.email) };
}

const typed = filingForm;

const decode = (s: string) => s.replace(/&#34;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** Where the page's filing form posts (the CSRF token in the URL, as multipart needs). */
function formActionOf(html: string): string {
  const m = /<form method="post" action="([^"]+)" enctype="multipart\/form-data" id="contract-form"/.exec(html);
  if (!m) throw new Error('no multipart filing form in the page');
  return decode(m[1]);
}

/** Posts the form as a browser does: multipart, every field, and the chosen file if any. */
function postForm(agent: Agent, html: string, body: Record<string, string>, file?: { bytes: Buffer; name: string }) {
  let req = agent.post(formActionOf(html));
  for (const [k, v] of Object.entries(body)) req = req.field(k, v);
  if (file) req = req.attach('file', file.bytes, { filename: file.name, contentType: 'application/pdf' });
  return req;
}

const idOf = (location: string) => /\/contracts\/([0-9a-f]{24})/.exec(location)![1];

/** A draft made through the form; returns its edit page. */
async function formDraft(agent: Agent, body: Record<string, string> = typed()) {
  const empty = await agent.get('/contracts/new').expect(200);
  const saved = await postForm(agent, empty.text, { ...body, action: 'save' }).expect(303);
  const id = idOf(saved.headers.location);
  return { id, page: await agent.get(`/contracts/${id}/edit`).expect(200) };
}

const summaryEntries = (html: string) => [...html.matchAll(/<li><a href="#f-([^"]+)">([^<]*)<\/a><\/li>/g)].map((m) => ({ field: decode(m[1]), text: decode(m[2]) }));
const fieldError = (html: string, field: string) => {
  const esc = field.replace(/[[\]]/g, '\\$&');
  return decode(new RegExp(`id="f-${esc}-error">([^<]*)<`).exec(html)?.[1] ?? '');
};

describe('the PDF in the same post as the fields', () => {
  it('opens an empty form without storing anything; the first post creates the draft, keeps every field and stores the PDF', async () => {
    const a = await applicant();
    const empty = await a.agent.get('/contracts/new').expect(200);
    expect(empty.text).toContain(`value="${a.uscc}"`);
    expect(formActionOf(empty.text)).toMatch(/^\/contracts\/new\?_csrf=/);
    expect(await Contract.countDocuments({ organizationId: a.orgId })).toBe(0);
    // The list offers a link to the empty form, not a button that makes a draft.
    expect((await a.agent.get('/contracts').expect(200)).text).toContain('<a class="button" href="/contracts/new">');

    const body = typed({ 'buyers[0][legalRepresentative]': '赵法人', contractNumber: 'QH-FORM-0001' });
    const res = await postForm(a.agent, empty.text, { ...body, action: 'upload' }, { bytes: await makePdf(), name: '合同签字版.pdf' }).expect(303);
    const id = idOf(res.headers.location);
    expect(res.headers.location).toBe(`/contracts/${id}/edit#attachments`);
    const doc = (await Contract.findById(id).lean())!;
    expect(doc).toMatchObject({ status: 'draft', title: body.title, contractNumber: 'QH-FORM-0001', type: 'transfer', subtype: 'patent', contractAmountFen: 125_000_000 });
    expect(doc.seller).toMatchObject({ uscc: a.uscc, ...sellerContact, address: '西宁市城东区' });
    expect(doc.buyers![0]).toMatchObject({ name: body['buyers[0][name]'], legalRepresentative: '赵法人', regionCode: '630100' });
    expect(doc.declaration).toBe(true);
    expect(doc.attachments.map((x) => x.filename)).toEqual(['合同签字版.pdf']);
    const page = await a.agent.get(`/contracts/${id}/edit`).expect(200);
    expect(page.text).toContain('已上传 合同签字版.pdf');
    expect(page.text).toContain('value="QH-FORM-0001"');
    expect(page.text).toContain('value="赵法人"');
    expect(await Contract.countDocuments({ organizationId: a.orgId })).toBe(1);
  });

  it('uploads with an invalid value present: everything is saved, the bad value kept as typed with its message, the file stored', async () => {
    const a = await applicant();
    const { id, page } = await formDraft(a.agent);
    const res = await postForm(a.agent, page.text, { ...typed({ contractAmount: '12,5x', 'seller[legalRepresentative]': '钱法人', contractNumber: 'QH-KEEP-7' }), action: 'upload' }, { bytes: await makePdf(), name: 'signed.pdf' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('已上传 signed.pdf');
    expect(res.text).toContain('value="12,5x"');
    expect(fieldError(res.text, 'contractAmount')).toBe(zh.validation.money_format);
    const doc = (await Contract.findById(id).lean())!;
    expect(doc.attachments).toHaveLength(1);
    expect(doc.contractNumber).toBe('QH-KEEP-7');
    expect(doc.seller!.legalRepresentative).toBe('钱法人');
    expect(doc.draftRaw).toEqual([{ path: 'contractAmount', value: '12,5x' }]);
  });

  it('keeps what was typed when the file is refused: not a PDF, or over 20 MB, or none chosen', async () => {
    const a = await applicant();
    const { id, page } = await formDraft(a.agent);
    const notPdf = await postForm(a.agent, page.text, { ...typed({ contractNumber: 'QH-ZIP-1' }), action: 'upload' }, { bytes: Buffer.from('PK\u0003\u0004 zip'), name: 'fake.pdf' });
    expect(notPdf.status).toBe(422);
    expect(fieldError(notPdf.text, 'file')).toBe(zh.errors.notPdf);
    expect((await Contract.findById(id).lean())!.contractNumber).toBe('QH-ZIP-1');

    const big = await postForm(a.agent, page.text, { ...typed({ contractNumber: 'QH-BIG-2' }), action: 'upload' }, { bytes: Buffer.alloc(21 * 1024 * 1024, 0x20), name: 'big.pdf' });
    expect(big.status).toBe(422);
    expect(fieldError(big.text, 'file')).toBe(zh.errors.fileTooLarge);
    // The fields after the file in the post (the declaration, the button) arrived too.
    const doc = (await Contract.findById(id).lean())!;
    expect(doc.contractNumber).toBe('QH-BIG-2');
    expect(doc.declaration).toBe(true);
    expect(doc.attachments).toHaveLength(0);

    const none = await postForm(a.agent, page.text, { ...typed(), action: 'upload' });
    expect(none.status).toBe(422);
    expect(fieldError(none.text, 'file')).toBe(zh.validation.fileRequired);
  });

  it('removes a file through the same post, and submits with a PDF chosen in that post', async () => {
    const a = await applicant();
    const { id, page } = await formDraft(a.agent);
    await postForm(a.agent, page.text, { ...typed(), action: 'upload' }, { bytes: await makePdf(), name: 'first.pdf' }).expect(303);
    const withFile = await a.agent.get(`/contracts/${id}/edit`).expect(200);
    const attId = /name="action" value="removeFile-([0-9a-f]{24})"/.exec(withFile.text)![1];
    await postForm(a.agent, withFile.text, { ...typed({ contractNumber: 'QH-RM-3' }), action: `removeFile-${attId}` }).expect(303);
    let doc = (await Contract.findById(id).lean())!;
    expect(doc.attachments).toHaveLength(0);
    expect(doc.contractNumber).toBe('QH-RM-3');
    expect(await storedSize(attId)).toBeNull();
    const res = await postForm(a.agent, withFile.text, { ...typed(), action: 'submit' }, { bytes: await makePdf(), name: 'signed.pdf' }).expect(303);
    expect(res.headers.location).toBe(`/contracts/${id}`);
    doc = (await Contract.findById(id).lean())!;
    expect(doc.status).toBe('submitted');
    expect(doc.attachments.map((x) => x.filename)).toEqual(['signed.pdf']);
  });

  it('still takes the plain form post, and keeps hostile multipart bodies bounded', async () => {
    const a = await applicant();
    const { id, page } = await formDraft(a.agent);
    await a.agent.post(`/contracts/${id}/edit`).type('form').send({ ...typed({ contractNumber: 'QH-PLAIN' }), _csrf: csrfFrom(page.text), action: 'save' }).expect(303);
    expect((await Contract.findById(id).lean())!.contractNumber).toBe('QH-PLAIN');
    // Without the token in the URL a multipart post is refused.
    await a.agent.post(`/contracts/${id}/edit`).field('title', 'x').field('_csrf', csrfFrom(page.text)).expect(403);
    const deep = await postForm(a.agent, page.text, { 'a[b][c][d]': 'x' });
    expect(deep.status).toBe(400);
    const wide = await postForm(a.agent, page.text, { 'buyers[99][name]': 'x' });
    expect(wide.status).toBe(400);
  });
});

describe('the error summary', () => {
  it('names each field in words, links to it and says how many problems there are', async () => {
    const a = await applicant();
    const { page } = await formDraft(a.agent, typed({ 'seller[phone]': '', 'buyers[0][email]': '', contractAmount: '', 'buyers[0][phone]': '' }));
    const res = await postForm(a.agent, page.text, { ...typed({ 'seller[phone]': '', contractAmount: '', 'buyers[0][phone]': '', 'buyers[0][contactPerson]': '' }), action: 'submit' });
    expect(res.status).toBe(422);
    const entries = summaryEntries(res.text);
    expect(res.text).toContain(`请更正以下 ${entries.length} 个问题：`);
    expect(entries).toEqual(
      expect.arrayContaining([
        { field: 'seller[phone]', text: '卖方 · 联系电话：此项为必填项。' },
        { field: 'contractAmount', text: '合同成交额（元）：此项为必填项。' },
        { field: 'buyers[0][contactPerson]', text: '买方 1 · 联系人：此项为必填项。' },
        { field: 'buyers[0][phone]', text: '买方 1 · 联系电话：此项为必填项。' },
        { field: 'file', text: `附件（已签署的合同文本）：${zh.validation.pdfRequired}` },
      ]),
    );
    // No two entries alike, and every link has its target on the page.
    expect(new Set(entries.map((e) => e.text)).size).toBe(entries.length);
    for (const e of entries) expect(res.text).toContain(`id="f-${e.field}"`);
    // In the order of the form: the seller before the amounts, the PDF last.
    const order = entries.map((e) => e.field);
    expect(order.indexOf('seller[phone]')).toBeLessThan(order.indexOf('contractAmount'));
    expect(order[order.length - 1]).toBe('file');

    // The same in English.
    await a.agent.get('/lang/en');
    const en = await postForm(a.agent, page.text, { ...typed({ 'seller[phone]': '', 'buyers[0][phone]': '' }), action: 'submit' }).expect(422);
    const enEntries = summaryEntries(en.text);
    expect(en.text).toContain(`Please correct the following ${enEntries.length} problems:`);
    expect(enEntries).toEqual(expect.arrayContaining([{ field: 'seller[phone]', text: 'Seller · Phone: This field is required.' }, { field: 'buyers[0][phone]', text: 'Buyer 1 · Phone: This field is required.' }]));
  });
});

describe('each kind of bad value has its own message, the same in the page and the API', () => {
  const cases: [string, string, Record<string, unknown>, string, string][] = [
    ['an amount that is not a number', 'contractAmount', { contractAmount: '12,5x' }, 'contractAmount', zh.validation.money_format],
    ['an amount with three decimals', 'contractAmount', { contractAmount: '1.234' }, 'contractAmount', zh.validation.money_precision],
    ['a negative amount', 'technicalAmount', { technicalAmount: '-5' }, 'technicalAmount', zh.validation.money_negative],
    ['a phone that is not a phone number', 'buyers[0][phone]', { buyers: [{ phone: 'abc' }] }, 'buyers.0.phone', zh.validation.phone],
    ['an email that is not an email', 'seller[email]', { seller: { email: 'not-an-email' } }, 'seller.email', zh.validation.email],
    ['a day the calendar does not have', 'signedOn', { signedOn: '2026-02-30' }, 'signedOn', zh.validation.dateNotReal.replace('{{value}}', '2026-02-30')],
    ['text that is no date', 'validTo', { validTo: 'next year' }, 'validTo', zh.validation.date],
  ];
  const formValue = (input: Record<string, unknown>) => {
    const v = Object.values(input)[0];
    if (typeof v === 'string') return v;
    const inner = (Array.isArray(v) ? v[0] : v) as Record<string, string>;
    return Object.values(inner)[0];
  };

  it.each(cases)('%s', async (_name, field, apiInput, path, message) => {
    const a = await applicant();
    // The API refuses it with the message.
    const created = await request(t.app).post('/api/v1/contracts').set(bearer(a.token)).send({}).expect(201);
    const api = await request(t.app).patch(`/api/v1/contracts/${created.body.id}`).set(bearer(a.token)).send(apiInput).expect(422);
    expect(api.body.error.details).toContainEqual({ path, message });

    // The form saves it as typed and says the same, after saving, on coming back and on submitting.
    const { id, page } = await formDraft(a.agent);
    const value = formValue(apiInput);
    const saved = await postForm(a.agent, page.text, { ...typed({ [field]: value }), action: 'save' }).expect(200);
    expect(fieldError(saved.text, field)).toBe(message);
    expect((await Contract.findById(id).lean())!.draftRaw).toEqual([{ path, value }]);
    const again = await a.agent.get(`/contracts/${id}/edit`).expect(200);
    expect(fieldError(again.text, field)).toBe(message);
    const submit = await postForm(a.agent, again.text, { ...typed({ [field]: value }), action: 'submit' }, { bytes: await makePdf(), name: 'c.pdf' }).expect(422);
    expect(fieldError(submit.text, field)).toBe(message);
    const about = summaryEntries(submit.text).filter((e) => e.field === field);
    expect(about).toHaveLength(1);
    expect(about[0].text).toMatch(new RegExp(`：${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    expect(submit.text).not.toContain(zh.validation.invalid);
  });

  it('gives the API submission the kept values’ own messages too', async () => {
    const a = await applicant();
    const { id, page } = await formDraft(a.agent);
    await postForm(a.agent, page.text, { ...typed({ 'buyers[0][phone]': 'abc' }), action: 'upload' }, { bytes: await makePdf(), name: 'c.pdf' }).expect(200);
    const res = await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(bearer(a.token)).expect(422);
    expect(res.body.error.details).toEqual([{ path: 'buyers.0.phone', message: zh.validation.phone }]);
  });
});

/** The fields the page marks required (a red * in their label), by field name. */
const marked = (html: string) => new Set([...html.matchAll(/<label for="f-([^"]+)">[^<]*<span class="req"/g)].map((m) => decode(m[1])));

describe('required markers come from the submission rules', () => {
  it('marks the sub-type and the buyer’s credit code, as submission requires them', async () => {
    const a = await applicant();
    const empty = await a.agent.get('/contracts/new').expect(200);
    let req = marked(empty.text);
    for (const f of ['title', 'type', 'subtype', 'buyers[0][uscc]', 'buyers[0][name]', 'seller[email]', 'declaration', 'file']) expect(req).toContain(f);
    // Optional fields, and the blank "add a co-seller" row (it is no party until filled in).
    for (const f of ['priorityArea', 'buyers[0][email]', 'buyers[0][idNumber]', 'buyers[0][country]', 'deductions[0][item]', 'coSellers[0][name]']) expect(req).not.toContain(f);

    // A buyer who is a person: the ID number instead of the code; consulting: no sub-type.
    const { page } = await formDraft(a.agent, typed({ type: 'consulting', subtype: '', 'buyers[0][nature]': '400', 'buyers[0][uscc]': '' }));
    req = marked(page.text);
    expect(req).not.toContain('subtype');
    expect(req).not.toContain('buyers[0][uscc]');
    expect(req).toContain('buyers[0][idNumber]');
  });

  it('marks exactly the empty fields that submission then reports as required', async () => {
    const a = await applicant();
    const { page } = await formDraft(a.agent, { 'buyers[0][name]': '某公司', direction: 'domestic' });
    const req = marked(page.text);
    const res = await postForm(a.agent, page.text, { 'buyers[0][name]': '某公司', direction: 'domestic', action: 'submit' }).expect(422);
    const requiredIssues = new Set(summaryEntries(res.text).filter((e) => e.text.endsWith('此项为必填项。')).map((e) => e.field));
    // Every field reported required is marked…
    for (const f of requiredIssues) expect(req).toContain(f);
    // …and every marked text field or select left empty is reported.
    const emptyFields = [
      ...[...res.text.matchAll(/<input id="f-([^"]+)" name="[^"]+" type="(?:text|tel|email|date)" value=""/g)].map((m) => decode(m[1])),
      ...[...res.text.matchAll(/<select id="f-([^"]+)" name="[^"]+"[^>]*>\s*<option value="">[^<]*<\/option>(?:(?!<\/select>)[\s\S])*?<\/select>/g)].filter((m) => !/ selected>/.test(m[0])).map((m) => decode(m[1])),
    ].filter((f) => marked(res.text).has(f));
    expect(emptyFields.length).toBeGreaterThan(10);
    for (const f of emptyFields) expect(requiredIssues).toContain(f);
  });
});

describe('sub-types follow the type', () => {
  it('offers all of them grouped and unambiguous before a type is chosen, then only the type’s own', async () => {
    const a = await applicant();
    const empty = await a.agent.get('/contracts/new').expect(200);
    const select = /<select id="f-subtype"[\s\S]*?<\/select>/.exec(empty.text)![0];
    const groups = [...select.matchAll(/<optgroup label="([^"]+)">/g)].map((m) => m[1]);
    expect(groups).toEqual(['技术开发合同', '技术转让合同', '技术许可合同', '技术服务合同']);
    const labels = [...select.matchAll(/<option value="[^"]+"[^>]*>([^<]+)<\/option>/g)].map((m) => m[1]);
    expect(new Set(labels).size).toBe(labels.length);
    expect(labels).toEqual(expect.arrayContaining(['其他（技术转让）', '其他（技术许可）']));

    // Without JavaScript: choose the type and "update choices".
    const { id, page } = await formDraft(a.agent, typed({ subtype: '' }));
    const refreshed = await postForm(a.agent, page.text, { ...typed({ type: 'licensing', subtype: '' }), action: 'refresh' }).expect(200);
    const only = /<select id="f-subtype"[\s\S]*?<\/select>/.exec(refreshed.text)![0];
    expect([...only.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1])).toEqual(['licensing:patent', 'licensing:technical_secret', 'licensing:other']);
    // A sub-type of the type left behind is cleared, saying why.
    const changed = await postForm(a.agent, refreshed.text, { ...typed({ type: 'development', subtype: 'licensing:patent' }), action: 'save' }).expect(200);
    expect(fieldError(changed.text, 'subtype')).toBe(zh.validation.subtypeMismatch);
    expect((await Contract.findById(id).lean())!.subtype).toBeNull();
    expect([...(/<select id="f-subtype"[\s\S]*?<\/select>/.exec(changed.text)![0]).matchAll(/<option value="([^"]+)"/g)].map((m) => m[1])).toEqual(['development:commissioned', 'development:cooperative']);
    // Consulting has none, and says so.
    const consulting = await postForm(a.agent, changed.text, { ...typed({ type: 'consulting', subtype: '' }), action: 'refresh' }).expect(200);
    expect(/<select id="f-subtype"[\s\S]*?<\/select>/.exec(consulting.text)![0]).toContain('<option value="">无细分类别（技术咨询）</option>');
  });
});

describe('deleting drafts', () => {
  it('deletes a draft from its page with its PDFs; a submitted filing cannot be deleted', async () => {
    const a = await applicant();
    const { id, page } = await formDraft(a.agent);
    await postForm(a.agent, page.text, { ...typed(), action: 'upload' }, { bytes: await makePdf(), name: 'c.pdf' }).expect(303);
    const attId = (await Contract.findById(id).lean())!.attachments[0].id;
    const show = await a.agent.get(`/contracts/${id}`).expect(200);
    expect(show.text).toContain(`action="/contracts/${id}/delete"`);
    expect((await a.agent.get('/contracts').expect(200)).text).toContain(`action="/contracts/${id}/delete"`);
    const res = await a.agent.post(`/contracts/${id}/delete`).type('form').send({ _csrf: csrfFrom(show.text) }).expect(303);
    expect(res.headers.location).toBe('/contracts');
    expect((await a.agent.get('/contracts').expect(200)).text).toContain('草稿已删除');
    expect(await Contract.findById(id).lean()).toBeNull();
    expect(await storedSize(attId)).toBeNull();

    const submitted = await readyDraft(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${submitted}/submit`).set(bearer(a.token)).expect(202);
    expect((await a.agent.get(`/contracts/${submitted}`).expect(200)).text).not.toContain(`action="/contracts/${submitted}/delete"`);
    const refused = await a.agent.post(`/contracts/${submitted}/delete`).type('form').send({ _csrf: csrfFrom(show.text) }).expect(303);
    expect(refused.headers.location).toBe(`/contracts/${submitted}`);
    expect((await a.agent.get(`/contracts/${submitted}`)).text).toContain(zh.errors.contractNotDeletable);
    expect(await Contract.findById(submitted).lean()).not.toBeNull();
  });

  it('DELETE /api/v1/contracts/{id}: 204 for a draft, 409 once submitted, 404 for another organisation, 403 for the bureau', async () => {
    const a = await applicant();
    const other = await verifiedApplicant(t.app);
    const draft = await readyDraft(t.app, a.token);
    const attId = (await Contract.findById(draft).lean())!.attachments[0].id;
    await request(t.app).delete(`/api/v1/contracts/${draft}`).set(bearer(other.token)).expect(404);
    const reviewer = await makeBureauUser('reviewer');
    await request(t.app).delete(`/api/v1/contracts/${draft}`).set(bearer(await tokenFor(t.app, reviewer.email))).expect(403);
    await request(t.app).delete(`/api/v1/contracts/${draft}`).set(bearer(a.token)).expect(204);
    expect(await Contract.findById(draft).lean()).toBeNull();
    expect(await storedSize(attId)).toBeNull();
    await request(t.app).delete(`/api/v1/contracts/${draft}`).set(bearer(a.token)).expect(404);

    const submitted = await readyDraft(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${submitted}/submit`).set(bearer(a.token)).expect(202);
    const res = await request(t.app).delete(`/api/v1/contracts/${submitted}`).set(bearer(a.token)).expect(409);
    expect(res.body.error.reason).toBe('CONTRACT_NOT_DELETABLE');
  });

  it('lets exactly one of a delete and a submission racing each other win', async () => {
    const a = await applicant();
    const outcomes = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const id = await readyDraft(t.app, a.token);
      const [submit, del] = await Promise.all([
        request(t.app).post(`/api/v1/contracts/${id}/submit`).set(bearer(a.token)),
        request(t.app).delete(`/api/v1/contracts/${id}`).set(bearer(a.token)),
      ]);
      const doc = await Contract.findById(id).lean();
      if (submit.status === 202) {
        expect(del.status).toBe(409);
        expect(doc!.status).toBe('submitted');
        outcomes.add('submitted');
      } else {
        expect(del.status).toBe(204);
        expect([404, 409]).toContain(submit.status);
        expect(doc).toBeNull();
        outcomes.add('deleted');
      }
    }
    expect(outcomes.size).toBeGreaterThan(0);
  });
});

describe('the decision form after a refused decision', () => {
  it('keeps reason 9 chosen and the refusal panel open, with the message at the note', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    const agent = await signedInAgent(t.app, (await makeBureauUser('reviewer')).email);
    const page = await agent.get(`/review/${id}`).expect(200);
    expect(page.text).not.toMatch(/<details class="reject-box" open>/);
    await agent.post(`/review/${id}/refuse`).type('form').send({ _csrf: csrfFrom(page.text), reasonCode: '9' }).expect(303);
    const again = await agent.get(`/review/${id}`).expect(200);
    const refuse = /<details class="reject-box" open>[\s\S]*?<\/details>/.exec(again.text)![0];
    expect(refuse).toContain('action="/review/' + id + '/refuse"');
    expect(refuse).toMatch(/id="reason-9" name="reasonCode" value="9" required checked>/);
    expect(refuse).toContain(`<p class="field-error" id="refuse-note-error">${zh.validation.refuseNoteRequired}</p>`);
    expect(refuse).toMatch(/<textarea id="refuse-note" name="note"[^>]* aria-invalid="true" aria-describedby="refuse-note-error">/);
    expect((await Contract.findById(id).lean())!.status).toBe('in_review');
    // Shown once: a reload shows the form fresh.
    expect((await agent.get(`/review/${id}`).expect(200)).text).not.toMatch(/<details class="reject-box" open>/);
    // With the note it goes through.
    await agent.post(`/review/${id}/refuse`).type('form').send({ _csrf: csrfFrom(page.text), reasonCode: '9', note: '合同文本与申报内容不一致' }).expect(303);
    expect((await Contract.findById(id).lean())!.status).toBe('refused');
  });
});
