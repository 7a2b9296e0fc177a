/**
 * The guide to registration (/guide), the verification form (/verify), the certificate's QR
 * address, and the English interface: the main pages, walked as the public, an applicant, a
 * reviewer and an admin, show no Chinese outside the data people typed (titles, names).
 */
import request from 'supertest';
import type { Express } from 'express';
import { loadConfig } from '../../src/config';
import { REFUSAL_REASON_TEXTS } from '../../src/domain/codes';
import { formatYuan } from '../../src/domain/money';
import { Contract } from '../../src/modules/contracts/contract.model';
import { Organization } from '../../src/modules/organizations/organization.model';
import { RegistrationRequest } from '../../src/modules/contracts/request.model';
import { verifyRequest } from '../../src/modules/changes/request-decisions.service';
import { certificateData } from '../../src/modules/review/certificate';
import type { ContractDoc } from '../../src/modules/contracts/contract.model';
import { secondApp, startTestApp, testConfig, type TestApp } from '../support/harness';
import { bearer, completeContract, inReviewContract, makeBureauUser, makePdf, readyDraft, sellerContact, signedInAgent, signUpBody, tokenFor, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
let applicant: Awaited<ReturnType<typeof verifiedApplicant>>;
let reviewerEmail: string;
let adminEmail: string;
let registered: { id: string; number: string };
let inReviewId: string;
let draftId: string;
let refusedId: string;
let returnedId: string;
let changeId: string;


beforeAll(async () => {
  t = await startTestApp();
  applicant = await verifiedApplicant(t.app);
  reviewerEmail = (await makeBureauUser('reviewer')).email;
  adminEmail = (await makeBureauUser('admin')).email;
  const reviewerToken = await tokenFor(t.app, reviewerEmail);
  const id = await inReviewContract(t.app, applicant.token);
  const res = await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(bearer(reviewerToken)).send({}).expect(200);
  registered = { id, number: res.body.registrationNumber };
  inReviewId = await inReviewContract(t.app, applicant.token);
  draftId = await readyDraft(t.app, applicant.token);
  refusedId = await inReviewContract(t.app, applicant.token);
  await request(t.app).post(`/api/v1/contracts/${refusedId}/refuse`).set(bearer(reviewerToken)).send({ reasonCode: 3, note: 'The price is not stated.' }).expect(200);
  returnedId = await inReviewContract(t.app, applicant.token);
  await request(t.app).post(`/api/v1/contracts/${returnedId}/return`).set(bearer(reviewerToken)).send({ reason: 'Attach the annexes.' }).expect(200);
  // A change of the registered contract, in review.
  const doc = await Contract.findById(id).lean();
  const created = await request(t.app)
    .post(`/api/v1/contracts/${id}/changes`)
    .set(bearer(applicant.token))
    .send({ reason: 'Supplementary agreement widens the scope', fields: { contractAmount: formatYuan(doc!.contractAmountFen! + 100_000_00), technicalAmount: formatYuan(doc!.technicalAmountFen! + 100_000_00) } })
    .expect(201);
  changeId = created.body.id;
  await request(t.app).post(`/api/v1/requests/${changeId}/attachments`).set(bearer(applicant.token)).attach('file', await makePdf('Supplementary agreement'), { filename: 'agreement.pdf', contentType: 'application/pdf' }).expect(201);
  await request(t.app).post(`/api/v1/requests/${changeId}/submit`).set(bearer(applicant.token)).expect(202);
  const r = await RegistrationRequest.findById(changeId).lean();
  expect(await verifyRequest(changeId, r!.submissionCount, '630100')).toBe('verified');
});
afterAll(async () => {
  await t.close();
});

/** An agent that reads the pages in English (signed in as `email`, or not signed in). */
async function englishAgent(app: Express, email?: string) {
  const agent = email ? await signedInAgent(app, email) : request.agent(app);
  await agent.get('/lang/en?next=/').expect(303);
  return agent;
}

describe('the guide to registration', () => {
  it('is open to anyone, in Chinese by default: basis, who registers, documents, time limits, fees, all nine refusal reasons, the remedies and where to ask', async () => {
    const res = await request(t.app).get('/guide').expect(200);
    const html = res.text;
    for (const law of ['《技术合同认定登记管理办法》', '《技术合同认定规则》', '《中华人民共和国民法典》第三编第二十章']) expect(html).toContain(law);
    expect(html).toContain('卖方');
    expect(html).toContain('技术进口合同由境内的买方');
    expect(html).toContain('西宁市科学技术局登记卖方位于青海省 西宁市的技术合同');
    for (const doc of ['合同文本 PDF', '补充协议', '终止或者解除合同的协议']) expect(html).toContain(doc);
    expect(html).toContain('自受理之日起 15 个工作日内');
    expect(html).toContain('技术交易额达到 500 万元');
    expect(html).toContain('为 30 个工作日');
    expect(html).toContain('受理回执');
    expect(html).toContain('不收费。');
    // The nine reasons, numbered as the national list, from the one list the decisions use.
    for (const [code, text] of Object.entries(REFUSAL_REASON_TEXTS)) expect(html).toContain(`<li value="${code}">${text.zh}`);
    expect(html.match(/<li value="\d">/g)).toHaveLength(9);
    expect(html).toContain(t.config.remedies.zh);
    expect(html).toContain(t.config.guideContact.zh);
    expect(html).toContain('href="/verify"');
    expect(html).toContain('href="/signup"');
  });

  it('reads the same in English, with the English remedies and nothing left in Chinese', async () => {
    const agent = await englishAgent(t.app);
    const html = (await agent.get('/guide').expect(200)).text;
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('Measures for the Recognition and Registration of Technology Contracts');
    expect(html).toContain('Rules for the Recognition of Technology Contracts');
    expect(html).toContain('Xining Municipal Science and Technology Bureau registers the technology contracts of sellers located in Xining, Qinghai.');
    expect(html).toContain('within 15 working days of accepting');
    expect(html).toContain('5 million yuan or more');
    expect(html).toContain('it has 30 working days');
    expect(html).toContain('Registration is free of charge.');
    for (const [code, text] of Object.entries(REFUSAL_REASON_TEXTS)) expect(html).toContain(`<li value="${code}">${text.en}`);
    expect(html).toContain(t.config.remedies.en.replace(/’/g, '’'));
    expect(html).toContain(t.config.guideContact.en.replace(/'/g, '&#39;'));
    expect(cjkOutside(html, [])).toEqual([]);
  });

  it("shows the agency's own contact details from its settings, which are checked at start-up", async () => {
    const other = await secondApp(t, { guideContact: { zh: '电话 0971-8888888，城西区五四大街 1 号', en: 'Telephone 0971-8888888, 1 Wusi Street' } });
    try {
      expect((await request(other.app).get('/guide').expect(200)).text).toContain('电话 0971-8888888，城西区五四大街 1 号');
      const agent = await englishAgent(other.app);
      expect((await agent.get('/guide').expect(200)).text).toContain('Telephone 0971-8888888, 1 Wusi Street');
    } finally {
      await other.close();
    }
    const env = { MONGODB_URI: 'mongodb://127.0.0.1/x', REDIS_URL: 'redis://127.0.0.1', SESSION_SECRET: 'x'.repeat(32) };
    expect(loadConfig(env).guideContact.zh).toBe('请向本机构技术合同登记窗口咨询。');
    expect(() => loadConfig({ ...env, GUIDE_CONTACT_EN: 'x'.repeat(501) })).toThrow(/GUIDE_CONTACT_EN/);
  });

  it('is linked from the footer of every page and from the filing form', async () => {
    expect((await request(t.app).get('/register').expect(200)).text).toMatch(/<footer[\s\S]*href="\/guide"[\s\S]*href="\/verify"/);
    const agent = await signedInAgent(t.app, applicant.email);
    const form = (await agent.get(`/contracts/${draftId}/edit`).expect(200)).text;
    expect(form).toContain('<a href="/guide">办事指南：谁来登记、需要哪些材料、多久办结</a>');
  });
});

describe('the verification form', () => {
  it('asks for a registration number, and the public register links to it', async () => {
    const res = await request(t.app).get('/verify').expect(200);
    expect(res.text).toContain('<form method="get" action="/verify"');
    expect(res.text).toContain('name="number"');
    expect(res.text).not.toContain('aria-invalid');
    const register = (await request(t.app).get('/register').expect(200)).text;
    expect(register.indexOf('href="/verify"')).toBeLessThan(register.indexOf('<form'));
  });

  it('goes on to the certificate for a well-formed number, also typed with spaces or full-width digits', async () => {
    for (const typed of [registered.number, ` ${registered.number.slice(0, 4)} ${registered.number.slice(4, 10)} ${registered.number.slice(10)} `, registered.number.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)))]) {
      const res = await request(t.app).get('/verify').query({ number: typed }).expect(303);
      expect(res.headers.location).toBe(`/verify/${registered.number}`);
    }
    const page = await request(t.app).get(`/verify/${registered.number}`).expect(200);
    expect(page.text).toContain('有效：该技术合同已登记。');
    // The result first, then the form to check another number.
    expect(page.text.indexOf('有效：该技术合同已登记。')).toBeLessThan(page.text.indexOf('核验其他登记编号'));
    expect(page.text.indexOf('核验其他登记编号')).toBeLessThan(page.text.indexOf('<form method="get" action="/verify"'));
  });

  it('says what is wrong with anything else (422) and keeps what was typed', async () => {
    const bad = await request(t.app).get('/verify').query({ number: '2026-63A' }).expect(422);
    expect(bad.text).toContain('登记编号为 16 位数字（如 2026630100000123），请核对后重新输入。');
    expect(bad.text).toContain('value="2026-63A"');
    expect(bad.text).toContain('aria-invalid="true"');
    expect(bad.text).toMatch(/aria-describedby="f-number-hint f-number-error"/);
    const short = await request(t.app).get('/verify').query({ number: '202663010000012' }).expect(422);
    expect(short.text).toContain('value="202663010000012"');
    const empty = await request(t.app).get('/verify?number=').expect(422);
    expect(empty.text).toContain('请输入登记编号。');
    const script = await request(t.app).get('/verify').query({ number: '"><script>alert(1)</script>' }).expect(422);
    expect(script.text).toContain('value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    await request(t.app).get('/verify?number=1&number=2').expect(422);
    const agent = await englishAgent(t.app);
    const en = await agent.get('/verify').query({ number: '12345' }).expect(422);
    expect(en.text).toContain('A registration number has 16 digits (e.g. 2026630100000123). Check it and try again.');
  });

  it('answers an unknown number with a 404 page that offers the form again', async () => {
    const res = await request(t.app).get('/verify/2000630100999999').expect(404);
    expect(res.text).toContain('未找到登记编号为 2000630100999999 的技术合同登记。');
    expect(res.text).toContain('<form method="get" action="/verify"');
    expect(res.text).toContain('value="2000630100999999"');
  });

  it('is where the certificate QR code points: PUBLIC_URL/verify/<number>', async () => {
    const doc = (await Contract.findById(registered.id).lean()) as ContractDoc;
    const config = testConfig({ PUBLIC_URL: 'https://registry.example.cn/' });
    const { verifyUrl } = certificateData(doc, config.agency.nameZh, config.publicUrl);
    expect(verifyUrl).toBe(`https://registry.example.cn/verify/${registered.number}`);
    await request(t.app).get(new URL(verifyUrl).pathname).expect(200);
  });
});

/**
 * The Chinese characters in a page once the data people typed are taken out, each with some
 * context. Allowed: the data, the language switch ("中文", deliberately in Chinese) and the logo glyph.
 */
function cjkOutside(html: string, data: string[]): string[] {
  let text = html.replace(/<a class="lang-switch"[^>]*>中文<\/a>/, '').replace(/<span class="brand-mark" aria-hidden="true">技<\/span>/, '');
  for (const d of [...data].sort((a, b) => b.length - a.length)) if (d) text = text.split(d).join('∎');
  const found: string[] = [];
  for (const m of text.matchAll(/[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+/g)) found.push(text.slice(Math.max(0, m.index - 60), m.index + m[0].length + 20).replace(/\s+/g, ' '));
  return found;
}

describe('the English interface', () => {
  it('shows no Chinese outside the data on the main pages, for the public, an applicant, a reviewer and an admin', async () => {
    const docs = (await Contract.find({ _id: { $in: [registered.id, inReviewId, draftId, refusedId, returnedId] } }).lean()) as ContractDoc[];
    // What people typed (or the fixtures typed for them), and the agency's Chinese name (configuration).
    const data = [
      ...docs.flatMap((d) => [d.title ?? '', d.seller?.name ?? '', d.seller?.address ?? '', ...(d.buyers ?? []).flatMap((b) => [b.name ?? '', b.address ?? '', b.legalRepresentative ?? '', b.contactPerson ?? ''])]),
      ...Object.values(sellerContact),
      ...Object.values(completeContract().buyers[0]).map(String),
      signUpBody().admin.name,
      '审核员',
      '管理员',
      t.config.agency.nameZh,
      // The organisations' names and addresses as they signed up.
      ...(await Organization.find().select({ name: 1, address: 1 }).lean()).flatMap((o) => [o.name ?? '', o.address ?? '']),
    ];

    const walks: [string, string | undefined, string[]][] = [
      ['the public', undefined, ['/', '/register', '/register?status=all', '/verify', `/verify/${registered.number}`, '/guide', '/login', '/signup']],
      ['an applicant', applicant.email, ['/contracts', `/contracts/${registered.id}`, `/contracts/${inReviewId}`, `/contracts/${draftId}`, `/contracts/${draftId}/edit`, `/contracts/${refusedId}`, `/contracts/${returnedId}`, `/requests/${changeId}`, '/organization', '/related', '/notifications', '/account/password', '/guide']],
      ['a reviewer', reviewerEmail, ['/review', `/review/${registered.id}`, `/review/${inReviewId}`, `/review/${refusedId}`, `/review/requests/${changeId}`, '/stats', '/admin/organizations']],
      ['an admin', adminEmail, ['/admin/audit', '/admin/users', '/admin/outbox', '/admin/overdue', '/stats']],
    ];
    const problems: string[] = [];
    for (const [who, email, paths] of walks) {
      const agent = await englishAgent(t.app, email);
      for (const path of paths) {
        const res = await agent.get(path);
        expect([path, res.status]).toEqual([path, 200]);
        expect(res.text).toContain('<html lang="en">');
        for (const f of cjkOutside(res.text, data)) problems.push(`${who} ${path}: …${f}…`);
      }
    }
    expect(problems).toEqual([]);
    // The walk would see Chinese if there were some: the same page in Chinese has plenty.
    expect(cjkOutside((await request(t.app).get('/guide')).text, data).length).toBeGreaterThan(10);
  });

  it("shows the system's own history entries in the page's language", async () => {
    const zh = await signedInAgent(t.app, applicant.email);
    expect((await zh.get(`/contracts/${registered.id}`).expect(200)).text).toContain(' · 系统自动核查');
    const en = await englishAgent(t.app, applicant.email);
    const page = (await en.get(`/contracts/${registered.id}`).expect(200)).text;
    expect(page).toContain(' · System</li>');
    expect(page).not.toContain('系统自动核查');
    const timeline = /<ol class="timeline">[\s\S]*?<\/ol>/.exec(page)![0];
    expect(timeline).toContain('<strong>Automatic checks done</strong> · System');
    expect(cjkOutside(timeline, ['审核员', signUpBody().admin.name])).toEqual([]);
  });
});
