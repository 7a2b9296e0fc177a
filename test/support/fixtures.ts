/** Named fixtures: organisations, bureau accounts, signed-in agents and tokens. */
import { randomInt } from 'node:crypto';
import request from 'supertest';
import type { Express } from 'express';
import { formatYuan } from '../../src/domain/money';
import { USCC_ALPHABET, usccCheckCharacter } from '../../src/domain/uscc';
import { createUser } from '../../src/modules/accounts/accounts.service';
import { Organization } from '../../src/modules/organizations/organization.model';
import { verifySubmission } from '../../src/modules/review/verification.service';
import { uniqueName } from './harness';

export const PASSWORD = 'Correct-Horse-Battery-9';

/** A random credit code with a correct check character (region part: Xining). */
export function makeUscc(): string {
  let body = '91630100';
  while (body.length < 17) body += USCC_ALPHABET[randomInt(USCC_ALPHABET.length)];
  return body + usccCheckCharacter(body);
}

/** The same code with a wrong check character, and the character it should have. */
export function withWrongCheck(uscc: string): { code: string; expected: string } {
  const expected = uscc[17];
  const wrong = USCC_ALPHABET[(USCC_ALPHABET.indexOf(expected) + 1) % USCC_ALPHABET.length];
  return { code: uscc.slice(0, 17) + wrong, expected };
}

export function signUpBody(over: { uscc?: string; email?: string; password?: string; name?: string } = {}) {
  return {
    organization: { name: over.name ?? `青海${uniqueName('')}研究院`, uscc: over.uscc ?? makeUscc(), nature: '021', regionCode: '630102', address: '西宁市城东区' },
    admin: { name: '王研究员', email: over.email ?? `${uniqueName('m')}@institute.test`, password: over.password ?? PASSWORD },
  };
}

/** Signs an organisation up through the API; returns its ids and first member's email. */
export async function signUpOrg(app: Express, opts: { verified?: boolean } = {}) {
  const body = signUpBody();
  const res = await request(app).post('/api/v1/organizations').send(body).expect(201);
  if (opts.verified) await Organization.updateOne({ _id: res.body.organization.id }, { $set: { status: 'verified' } });
  return { orgId: res.body.organization.id as string, userId: res.body.user.id as string, email: body.admin.email, uscc: body.organization.uscc };
}

export async function makeBureauUser(role: 'reviewer' | 'admin', opts: { mustChangePassword?: boolean } = {}) {
  const email = `${uniqueName(role)}@bureau.test`;
  const id = await createUser({ email, name: role === 'admin' ? '管理员' : '审核员', password: PASSWORD, role, organizationId: null, mustChangePassword: opts.mustChangePassword ?? false });
  return { id, email };
}

export async function tokenFor(app: Express, email: string, password = PASSWORD): Promise<string> {
  const res = await request(app).post('/api/v1/tokens').send({ email, password }).expect(201);
  return res.body.token;
}

/** Reads the CSRF token out of a page's form. */
export function csrfFrom(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF token in the page');
  return m[1];
}

/** A browser-like agent signed in through the sign-in form. */
export async function signedInAgent(app: Express, email: string, password = PASSWORD) {
  const agent = request.agent(app);
  const page = await agent.get('/login').expect(200);
  const res = await agent.post('/login').type('form').send({ _csrf: csrfFrom(page.text), email, password });
  if (res.status !== 303) throw new Error(`sign-in failed with ${res.status}`);
  return agent;
}

/** A real one-page PDF (with Chinese-free text so no font is needed). */
export async function makePdf(text = 'Technology contract'): Promise<Buffer> {
  const { PDFDocument, StandardFonts } = await import('pdf-lib');
  const doc = await PDFDocument.create();
  const page = doc.addPage([595, 842]);
  page.drawText(text, { x: 50, y: 780, size: 14, font: await doc.embedFont(StandardFonts.Helvetica) });
  return Buffer.from(await doc.save());
}

/** Every field a complete transfer filing needs (the seller is filled from the organisation). */
const TITLE_WORDS = ['盐湖', '提锂', '牦牛', '枸杞', '光伏', '储能', '高原', '生态', '藏药', '冷链', '青稞', '风电', '石墨', '镁合金', '遥感', '草原', '水文', '沙棘', '中藏药', '数据'];
/** A title unlike any other filing's, so the duplicate check stays quiet unless a test wants it. */
export function uniqueTitle(): string {
  const pick = () => TITLE_WORDS[randomInt(TITLE_WORDS.length)];
  return `${pick()}${pick()}${pick()}项目${uniqueName('').slice(0, 8)}专利权转让合同`;
}

export function completeContract(over: Record<string, unknown> = {}) {
  // A distinct amount too, for the same reason (same parties and amount is a duplicate).
  const contractFen = 200_000_00 + randomInt(1_000_000) * 100;
  return {
    title: uniqueTitle(),
    contractNumber: 'QH-2026-' + uniqueName('').slice(0, 6),
    type: 'transfer',
    subtype: 'patent',
    signedOn: '2026-03-01',
    validFrom: '2026-03-01',
    validTo: '2027-02-28',
    contractAmount: formatYuan(contractFen),
    technicalAmount: formatYuan(contractFen - 150_000_00),
    deductions: [{ item: 'equipment', amount: '150000.00' }],
    paymentMethod: 'instalments',
    relatedParty: false,
    planSource: 'none',
    ipType: 'invention_patent',
    technicalField: 'new_materials',
    socioEconomicObjective: 'industry',
    priorityArea: 'lithium_battery',
    buyers: [
      {
        name: '青海锂业新材料有限公司',
        uscc: makeUscc(),
        nature: '150',
        regionCode: '630100',
        legalRepresentative: '张总',
        contactPerson: '李工',
        phone: '0971-1234567',
        email: 'li@lithium.test',
        address: '西宁市城北区生物园区 8 号',
      },
    ],
    declaration: true,
    ...over,
  };
}

export const sellerContact = { legalRepresentative: '王院长', contactPerson: '刘老师', phone: '0971-7654321', email: 'liu@institute.test' };

/** A verified organisation with a token, ready to file. */
export async function verifiedApplicant(app: Express) {
  const org = await signUpOrg(app, { verified: true });
  return { ...org, token: await tokenFor(app, org.email) };
}

/** Creates a complete draft with a PDF through the API; returns its id. */
export async function readyDraft(app: Express, token: string, over: Record<string, unknown> = {}): Promise<string> {
  const created = await request(app)
    .post('/api/v1/contracts')
    .set('Authorization', `Bearer ${token}`)
    .send(completeContract(over))
    .expect(201);
  const id = created.body.id as string;
  await request(app)
    .patch(`/api/v1/contracts/${id}`)
    .set('Authorization', `Bearer ${token}`)
    .send({ seller: { ...created.body.seller, ...sellerContact } })
    .expect(200);
  await request(app)
    .post(`/api/v1/contracts/${id}/attachments`)
    .set('Authorization', `Bearer ${token}`)
    .attach('file', await makePdf(), { filename: 'contract.pdf', contentType: 'application/pdf' })
    .expect(201);
  return id;
}

/** A contract submitted and verified (in review), through the API and the real verification. */
export async function inReviewContract(app: Express, token: string, over: Record<string, unknown> = {}): Promise<string> {
  const id = await readyDraft(app, token, over);
  await request(app).post(`/api/v1/contracts/${id}/submit`).set('Authorization', `Bearer ${token}`).expect(202);
  expect(await verifySubmission(id, 1, '630100')).toBe('verified');
  return id;
}

/** The Authorization header for an API token. */
export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A new reviewer's API token. */
export async function reviewerToken(app: Express): Promise<string> {
  return tokenFor(app, (await makeBureauUser('reviewer')).email);
}

/** A supertest body parser that keeps the response as bytes (PDFs, spreadsheets): `.buffer(true).parse(binary)`. */
export function binary(res: request.Response, cb: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
}

/** A complete filing as a clerk types it into the filing form (every field a person fills in; amounts grouped). */
export function filingForm(over: Record<string, string> = {}): Record<string, string> {
  const c = completeContract();
  const b = c.buyers[0];
  return {
    title: c.title,
    contractNumber: c.contractNumber,
    type: 'transfer',
    subtype: 'transfer:patent',
    signedOn: c.signedOn,
    validFrom: c.validFrom,
    validTo: c.validTo,
    direction: 'domestic',
    contractAmount: '1,250,000.00',
    technicalAmount: '1,100,000',
    'deductions[0][item]': 'equipment',
    'deductions[0][amount]': '150,000.00',
    paymentMethod: 'instalments',
    planSource: 'none',
    ipType: 'invention_patent',
    technicalField: 'new_materials',
    socioEconomicObjective: 'industry',
    priorityArea: 'lithium_battery',
    'seller[legalRepresentative]': sellerContact.legalRepresentative,
    'seller[contactPerson]': sellerContact.contactPerson,
    'seller[phone]': sellerContact.phone,
    'seller[email]': sellerContact.email,
    'seller[address]': '西宁市城东区',
    'buyers[0][name]': b.name,
    'buyers[0][uscc]': b.uscc,
    'buyers[0][nature]': b.nature,
    'buyers[0][legalRepresentative]': b.legalRepresentative,
    'buyers[0][contactPerson]': b.contactPerson,
    'buyers[0][phone]': b.phone,
    'buyers[0][email]': b.email,
    'buyers[0][address]': b.address,
    'buyers[0][regionProvince]': '630000',
    'buyers[0][regionCity]': '630100',
    declaration: 'on',
    ...over,
  };
}
