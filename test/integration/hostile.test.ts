/**
 * Hostile input: every API body and form fuzzed with wrong types, huge strings, deep nesting,
 * NoSQL operators, prototype-pollution keys, script payloads and file tricks. Each must get
 * a clear 4xx (never a 5xx or a stack trace), store nothing, and whatever is shown back must
 * be escaped.
 */
import mongoose from 'mongoose';
import request from 'supertest';
import { Contract } from '../../src/modules/contracts/contract.model';
import { startTestApp, type TestApp } from '../support/harness';
import {
  csrfFrom,
  inReviewContract,
  makeBureauUser,
  makePdf,
  readyDraft,
  signedInAgent,
  signUpBody,
  tokenFor,
  verifiedApplicant,
} from '../support/fixtures';

let t: TestApp;
let applicant: { token: string; email: string; orgId: string };
let reviewer: string;
let admin: string;
let draftId: string;
let reviewId: string;
let orgToVerify: string;

beforeAll(async () => {
  t = await startTestApp();
  applicant = await verifiedApplicant(t.app);
  reviewer = await tokenFor(t.app, (await makeBureauUser('reviewer')).email);
  admin = await tokenFor(t.app, (await makeBureauUser('admin')).email);
  draftId = await readyDraft(t.app, applicant.token);
  reviewId = await inReviewContract(t.app, applicant.token);
  orgToVerify = (await request(t.app).post('/api/v1/organizations').send(signUpBody()).expect(201)).body.organization.id;
});
afterAll(async () => {
  await t.close();
});

const SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>';
const deep = (n: number): unknown => (n === 0 ? 'leaf' : { a: deep(n - 1) });
const deepArray = (n: number): unknown => (n === 0 ? 1 : [deepArray(n - 1)]);

/** Payload families every JSON endpoint is fed. */
const PAYLOADS: [string, unknown][] = [
  ['a string', '"just a string"'],
  ['a number', 42],
  ['null', null],
  ['an array', [1, 2, 3]],
  ['NoSQL operators', { email: { $ne: null }, password: { $gt: '' }, title: { $where: 'sleep(1000)' }, reason: { $regex: '.*' }, reasonCode: { $in: [1] }, name: { $ne: 1 } }],
  ['prototype pollution', JSON.parse('{"__proto__": {"polluted": true, "role": "admin"}, "constructor": {"prototype": {"polluted": true}}, "title": {"__proto__": {"x": 1}}}')],
  ['wrong types everywhere', { email: 1, password: true, title: [], contractAmount: { value: 1 }, buyers: 'x', seller: 7, reason: 9, reasonCode: 'nine', organization: 'x', admin: [] }],
  ['huge strings', { email: 'a'.repeat(200_000) + '@x.test', password: 'p'.repeat(200_000), title: 't'.repeat(200_000), reason: 'r'.repeat(200_000) }],
  ['deep nesting', { title: deep(200), buyers: deepArray(200) }],
  ['script payloads in wrong places', { email: SCRIPT, reasonCode: SCRIPT, type: SCRIPT, signedOn: SCRIPT }],
];

interface Endpoint {
  name: string;
  method: 'post' | 'patch';
  path: () => string;
  token?: () => string;
}

const ENDPOINTS: Endpoint[] = [
  { name: 'sign-up', method: 'post', path: () => '/api/v1/organizations' },
  { name: 'token', method: 'post', path: () => '/api/v1/tokens' },
  { name: 'create bureau user', method: 'post', path: () => '/api/v1/users', token: () => admin },
  { name: 'reject organisation', method: 'post', path: () => `/api/v1/organizations/${orgToVerify}/reject`, token: () => admin },
  { name: 'add member', method: 'post', path: () => '/api/v1/organization/members', token: () => applicant.token },
  { name: 'change password', method: 'post', path: () => '/api/v1/me/password', token: () => applicant.token },
  { name: 'create contract', method: 'post', path: () => '/api/v1/contracts', token: () => applicant.token },
  { name: 'patch contract', method: 'patch', path: () => `/api/v1/contracts/${draftId}`, token: () => applicant.token },
  { name: 'return', method: 'post', path: () => `/api/v1/contracts/${reviewId}/return`, token: () => reviewer },
  { name: 'refuse', method: 'post', path: () => `/api/v1/contracts/${reviewId}/refuse`, token: () => reviewer },
  { name: 'revoke', method: 'post', path: () => `/api/v1/contracts/${reviewId}/revoke`, token: () => admin },
];

async function snapshot() {
  const db = mongoose.connection.db!;
  const names = ['organizations', 'users', 'contracts', 'apitokens'];
  const counts = await Promise.all(names.map((n) => db.collection(n).countDocuments()));
  const draft = await Contract.findById(draftId).lean();
  const review = await Contract.findById(reviewId).lean();
  return { counts, draft: JSON.stringify({ ...draft, updatedAt: null }), review: review?.status };
}

const cases = ENDPOINTS.flatMap((e) => PAYLOADS.map(([label, body]) => [`${e.name} with ${label}`, e, body] as const));

it.each(cases)('%s: a clear 4xx, nothing stored', async (_name, endpoint, body) => {
  const before = await snapshot();
  let req = request(t.app)[endpoint.method](endpoint.path()).set('Content-Type', 'application/json');
  if (endpoint.token) req = req.set('Authorization', `Bearer ${endpoint.token()}`);
  const res = await req.send(typeof body === 'string' ? body : JSON.stringify(body));
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.body.error?.code).toMatch(/^[A-Z_]+$/);
  expect(JSON.stringify(res.body)).not.toMatch(/\bat [\w.<>]+ \(|node_modules|\.ts:\d+/);
  expect(await snapshot()).toEqual(before);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect((Object.prototype as Record<string, unknown>).role).toBeUndefined();
});

it('answers malformed JSON, wrong content types and oversized bodies with 400, 415/422 and 413', async () => {
  const bad = await request(t.app).post('/api/v1/contracts').set('Authorization', `Bearer ${applicant.token}`).set('Content-Type', 'application/json').send('{"title": "x",');
  expect(bad.status).toBe(400);
  const text = await request(t.app).post('/api/v1/contracts').set('Authorization', `Bearer ${applicant.token}`).set('Content-Type', 'text/plain').send('title=x');
  // A body the API cannot read is no filing: the draft made from it is empty.
  expect([201, 415, 422]).toContain(text.status);
  const big = await request(t.app).post('/api/v1/tokens').set('Content-Type', 'application/json').send(JSON.stringify({ email: 'x'.repeat(400_000) }));
  expect(big.status).toBe(413);
  const charset = await request(t.app).post('/api/v1/tokens').set('Content-Type', 'application/json; charset=koi8-r').send('{}');
  expect(charset.status).toBe(415);
});

describe('uploads', () => {
  it.each([
    ['a zip named .pdf', Buffer.from('504b0304140000000800e8a1', 'hex'), 'contract.pdf', 415],
    ['an empty file', Buffer.alloc(0), 'empty.pdf', 415],
    ['an HTML file named .pdf', Buffer.from('<html><script>alert(1)</script></html>'), 'x.pdf', 415],
    ['an executable', Buffer.from('7f454c46020101', 'hex'), 'run.pdf', 415],
  ])('refuses %s', async (_label, bytes, name, status) => {
    const before = (await Contract.findById(draftId).lean())!.attachments.length;
    await request(t.app).post(`/api/v1/contracts/${draftId}/attachments`).set('Authorization', `Bearer ${applicant.token}`).attach('file', bytes, name).expect(status);
    expect((await Contract.findById(draftId).lean())!.attachments.length).toBe(before);
  });

  it.each([
    ['../../../etc/passwd.pdf', 'passwd.pdf'],
    ['..\\..\\windows\\system32\\evil.pdf', 'evil.pdf'],
    ['/absolute/path/合同.pdf', '合同.pdf'],
    ['name"with<quotes>|and*stars?.pdf', 'namewithquotesandstars.pdf'],
    ['tab\there.pdf', 'tabhere.pdf'],
    ['noextension', 'noextension.pdf'],
  ])('stores %p under a safe name', async (name, stored) => {
    const res = await request(t.app).post(`/api/v1/contracts/${draftId}/attachments`).set('Authorization', `Bearer ${applicant.token}`).attach('file', await makePdf(), name).expect(201);
    expect(res.body.filename).toBe(stored);
  });

  it('answers a broken multipart body (a NUL in the part header) with 400', async () => {
    const res = await request(t.app).post(`/api/v1/contracts/${draftId}/attachments`).set('Authorization', `Bearer ${applicant.token}`).attach('file', await makePdf(), '\u0000\u001fcontrol.pdf');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
  });

  it('refuses a second file field and other multipart tricks without a 5xx', async () => {
    const pdf = await makePdf();
    const two = await request(t.app).post(`/api/v1/contracts/${draftId}/attachments`).set('Authorization', `Bearer ${applicant.token}`).attach('file', pdf, 'a.pdf').attach('file', pdf, 'b.pdf');
    expect(two.status).toBeGreaterThanOrEqual(400);
    expect(two.status).toBeLessThan(500);
    const wrongField = await request(t.app).post(`/api/v1/contracts/${draftId}/attachments`).set('Authorization', `Bearer ${applicant.token}`).attach('document', pdf, 'a.pdf');
    expect(wrongField.status).toBe(400);
  });
});

describe('forms', () => {
  it('answers hostile sign-in and sign-up forms with the form again, never a 5xx', async () => {
    const agent = request.agent(t.app);
    const page = await agent.get('/login');
    const csrf = csrfFrom(page.text);
    for (const body of [
      { _csrf: csrf, email: SCRIPT, password: 'x' },
      { _csrf: csrf, 'email[$ne]': 'x', password: 'x' },
      { _csrf: csrf, email: 'a'.repeat(5000), password: 'b'.repeat(5000) },
      { _csrf: csrf, '__proto__[role]': 'admin', email: 'x@y.z', password: 'x' },
    ]) {
      const res = await agent.post('/login').type('form').send(body);
      expect([401, 413, 422]).toContain(res.status);
      expect(res.text).not.toContain('<script>alert("x")</script>');
    }
    const signup = await agent.get('/signup');
    const res = await agent
      .post('/signup')
      .type('form')
      .send({ _csrf: csrfFrom(signup.text), name: SCRIPT, uscc: { $ne: 1 } as unknown as string, nature: '../../x', 'regionProvince[$gt]': '', adminEmail: SCRIPT, password: 'x', passwordConfirm: 'y' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;');
    expect(res.text).not.toContain('<script>alert("x")</script>');
  });

  it('refuses deeply nested form fields', async () => {
    const agent = await signedInAgent(t.app, applicant.email);
    const page = await agent.get(`/contracts/${draftId}/edit`);
    const nested = 'buyers' + '[0]'.repeat(30) + '[name]';
    const res = await agent.post(`/contracts/${draftId}/edit`).type('form').send(`_csrf=${encodeURIComponent(csrfFrom(page.text))}&${encodeURIComponent(nested)}=x`);
    expect(res.status).toBeLessThan(500);
  });
});

describe('script payloads are escaped wherever they are shown', () => {
  it('in the filing, the review page, the register, the audit log and the messages', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token, { title: `${SCRIPT} 合同`, buyers: [{ name: `${SCRIPT}买方`, nature: '400', idNumber: '11010519491231002X', regionCode: '630100', contactPerson: '<b>x</b>', phone: '0971-1234567', address: SCRIPT }] });
    await request(t.app).post(`/api/v1/contracts/${id}/approve`).set('Authorization', `Bearer ${reviewer}`).send({ note: SCRIPT }).expect(200);
    const applicantAgent = await signedInAgent(t.app, a.email);
    const adminAgent = await signedInAgent(t.app, (await makeBureauUser('admin')).email);
    const pages: [request.Agent | request.SuperTest<request.Test>, string][] = [
      [applicantAgent, `/contracts/${id}`],
      [applicantAgent, '/contracts'],
      [applicantAgent, '/notifications'],
      [adminAgent, `/review/${id}`],
      [adminAgent, '/review?status=all'],
      [adminAgent, '/admin/audit'],
      [request(t.app), '/register'],
      [request(t.app), `/verify/${(await Contract.findById(id).lean())!.registrationNumber}`],
    ];
    for (const [agent, path] of pages) {
      const res = await (agent as request.Agent).get(path).expect(200);
      expect(res.text).not.toContain('<script>alert("x")</script>');
      expect(res.text).not.toContain('<img src=x onerror');
    }
    const api = await request(t.app).get('/api/v1/public/register?q=合同').expect(200);
    expect(api.headers['content-type']).toMatch(/application\/json/);
  });
});
