/** Contract filing through the API, against the real FerretDB, GridFS and Redis. */
import request from 'supertest';
import { cstDate } from '../../src/domain/time';
import { Contract } from '../../src/modules/contracts/contract.model';
import { readPdf } from '../../src/modules/contracts/attachments.store';
import { startTestApp, type TestApp } from '../support/harness';
import { binary, completeContract, makeBureauUser, makePdf, readyDraft, signUpOrg, tokenFor, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('filing a contract', () => {
  it('creates a complete draft, attaches the PDF and submits it, enqueueing one verification job', async () => {
    const a = await verifiedApplicant(t.app);
    const created = await request(t.app).post('/api/v1/contracts').set(auth(a.token)).send(completeContract({ contractAmount: '1250000.00', technicalAmount: '1100000.00' })).expect(201);
    expect(created.body).toMatchObject({
      status: 'draft',
      type: 'transfer',
      subtype: 'patent',
      contractAmount: '1250000.00',
      technicalAmount: '1100000.00',
      deductions: [{ item: 'equipment', amount: '150000.00' }],
      registrationNumber: null,
      attachments: [],
      history: [{ action: 'created', at: expect.stringMatching(/\+08:00$/) }],
    });
    // The seller defaults to the applicant's own organisation.
    expect(created.body.seller).toMatchObject({ uscc: a.uscc, nature: '021', regionCode: '630102' });

    const id = await readyDraft(t.app, a.token);
    const submitted = await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(a.token)).expect(202);
    expect(submitted.body).toEqual({ status: 'submitted', queued: true });
    const job = await t.queues.verification.getJob(`verify-${id}-1`);
    expect(job?.data).toEqual({ contractId: id, submission: 1 });
    const got = await request(t.app).get(`/api/v1/contracts/${id}`).set(auth(a.token)).expect(200);
    expect(got.body.status).toBe('submitted');
    expect(got.body.history.map((h: { action: string }) => h.action)).toEqual(['created', 'updated', 'submitted']);
    // Nothing can be changed once submitted.
    const patch = await request(t.app).patch(`/api/v1/contracts/${id}`).set(auth(a.token)).send({ title: 'changed' }).expect(409);
    expect(patch.body.error.current).toEqual({ status: 'submitted' });
  });

  it('keeps the seller the applicant\'s own verified organisation, whatever is sent', async () => {
    const a = await verifiedApplicant(t.app);
    const created = await request(t.app).post('/api/v1/contracts').set(auth(a.token)).send({ seller: { name: '冒名单位', uscc: '91350100M000100Y43', nature: '400', regionCode: '110108', contactPerson: '联系人' } }).expect(201);
    expect(created.body.seller).toMatchObject({ uscc: a.uscc, nature: '021', regionCode: '630102', contactPerson: '联系人' });
    expect(created.body.seller.name).not.toBe('冒名单位');
    const patched = await request(t.app).patch(`/api/v1/contracts/${created.body.id}`).set(auth(a.token)).send({ seller: { name: '又一个冒名', uscc: '91350100M000100Y43' } }).expect(200);
    expect(patched.body.seller).toMatchObject({ uscc: a.uscc, name: created.body.seller.name });
  });

  it('keeps money exact at both ends of the range', async () => {
    const a = await verifiedApplicant(t.app);
    for (const [amount, technical] of [['0.01', '0.01'], ['99999999999.99', '99999999999.99'], [1234.5, 0]]) {
      const res = await request(t.app).post('/api/v1/contracts').set(auth(a.token)).send({ contractAmount: amount, technicalAmount: technical }).expect(201);
      expect(res.body.contractAmount).toBe(typeof amount === 'number' ? '1234.50' : amount);
      const stored = await Contract.findById(res.body.id).lean();
      expect(Number.isSafeInteger(stored!.contractAmountFen)).toBe(true);
    }
  });

  it('lets a verified organisation only submit; a pending one gets 403', async () => {
    const pending = await signUpOrg(t.app);
    const token = await tokenFor(t.app, pending.email);
    const id = await readyDraft(t.app, token);
    const res = await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(token)).expect(403);
    expect(res.body.error.reason).toBe('ORGANIZATION_NOT_VERIFIED');
    expect((await Contract.findById(id).lean())?.status).toBe('draft');
  });

  it('refuses submission without a PDF, listing every missing field at once', async () => {
    const a = await verifiedApplicant(t.app);
    const draft = await request(t.app).post('/api/v1/contracts').set(auth(a.token)).send({ title: '未完成的合同' }).expect(201);
    const res = await request(t.app).post(`/api/v1/contracts/${draft.body.id}/submit`).set(auth(a.token)).expect(422);
    const paths = res.body.error.details.map((d: { path: string }) => d.path);
    for (const p of ['contractNumber', 'type', 'signedOn', 'validFrom', 'validTo', 'contractAmount', 'technicalAmount', 'paymentMethod', 'planSource', 'ipType', 'technicalField', 'socioEconomicObjective', 'buyers', 'declaration', 'attachments', 'seller.legalRepresentative', 'seller.contactPerson', 'seller.phone', 'seller.email']) {
      expect(paths).toContain(p);
    }
    expect(paths).not.toContain('title');
    expect((await Contract.findById(draft.body.id).lean())?.status).toBe('draft');
  });
});

describe('each validation rule names its field', () => {
  const tomorrow = cstDate(new Date(Date.now() + 24 * 3600_000));
  const cases: [string, Record<string, unknown>, string][] = [
    ['a sub-type of another type', { type: 'development', subtype: 'patent' }, 'subtype'],
    ['a sub-type for consulting', { type: 'consulting', subtype: 'general', ipType: 'none' }, 'subtype'],
    ['no sub-type where one is needed', { type: 'service', subtype: null }, 'subtype'],
    ['a transfer without intellectual property', { ipType: 'none' }, 'ipType'],
    ['a technical amount above the turnover', { technicalAmount: '1250000.01', deductions: [] }, 'technicalAmount'],
    ['a zero turnover', { contractAmount: '0', technicalAmount: '0', deductions: [] }, 'contractAmount'],
    ['validity ending before it starts', { validFrom: '2026-03-01', validTo: '2026-02-28' }, 'validTo'],
    ['a signing date in the future (CST)', { signedOn: tomorrow, validFrom: tomorrow }, 'signedOn'],
    ['deductions that do not add up', { deductions: [{ item: 'equipment', amount: '1.00' }] }, 'deductions'],
    ['no buyer', { buyers: [] }, 'buyers'],
    ['a buyer without a region or country', { buyers: [{ ...completeContract().buyers[0], regionCode: null }] }, 'buyers.0.regionCode'],
    ['an undeclared filing', { declaration: false }, 'declaration'],
  ];
  it.each(cases)('refuses %s on submission', async (_label, over, path) => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token, over);
    const res = await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(a.token)).expect(422);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it('refuses a buyer who is the seller', async () => {
    const a = await verifiedApplicant(t.app);
    const buyer = { ...completeContract().buyers[0], uscc: a.uscc };
    const id = await readyDraft(t.app, a.token, { buyers: [buyer] });
    const res = await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(a.token)).expect(422);
    expect(res.body.error.details).toContainEqual({ path: 'buyers.0.uscc', message: expect.any(String) });
  });

  it.each([
    ['contractAmount', '1.234'],
    ['contractAmount', '-5'],
    ['contractAmount', '1e5'],
    ['contractAmount', 1e300],
    ['contractAmount', 'abc'],
    ['contractAmount', '1,000.00'],
    ['technicalAmount', { $gt: 0 }],
    ['signedOn', '2026-02-30'],
    ['type', 'sale'],
    ['buyers', 'not a list'],
    ['buyers.0.phone', 'call me'],
    ['seller.uscc', 'ABC'],
  ])('refuses %s = %p in a draft with 422 and saves nothing', async (path, value) => {
    const a = await verifiedApplicant(t.app);
    const [top, index, field] = path.split('.');
    const body = index === undefined ? { [top]: value } : top === 'buyers' ? { buyers: [{ name: 'x', [field]: value }] } : { seller: { [index]: value } };
    const before = await Contract.countDocuments({ organizationId: a.orgId });
    const res = await request(t.app).post('/api/v1/contracts').set(auth(a.token)).send(body).expect(422);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    expect(await Contract.countDocuments({ organizationId: a.orgId })).toBe(before);
  });
});

describe('attachments', () => {
  it('stores the PDF in GridFS and streams it back to the owner', async () => {
    const a = await verifiedApplicant(t.app);
    const draft = await request(t.app).post('/api/v1/contracts').set(auth(a.token)).send({}).expect(201);
    const pdf = await makePdf('original bytes');
    const up = await request(t.app)
      .post(`/api/v1/contracts/${draft.body.id}/attachments`)
      .set(auth(a.token))
      .attach('file', pdf, { filename: '../../etc/合同 签字版.pdf', contentType: 'application/octet-stream' })
      .expect(201);
    expect(up.body).toEqual({ id: expect.any(String), filename: '合同 签字版.pdf', size: pdf.length });
    expect((await readPdf(up.body.id)).equals(pdf)).toBe(true);
    const down = await request(t.app).get(`/api/v1/contracts/${draft.body.id}/attachments/${up.body.id}`).set(auth(a.token)).buffer(true).parse(binary).expect(200);
    expect(down.headers['content-type']).toBe('application/pdf');
    expect(down.headers['content-disposition']).toContain("filename*=UTF-8''");
    expect((down.body as Buffer).equals(pdf)).toBe(true);
  });

  it.each([
    ['a text file renamed .pdf', Buffer.from('just some text, not a PDF at all'), 'fake.pdf'],
    ['a zip file named .pdf', Buffer.from('504b0304140000000800', 'hex'), 'archive.pdf'],
    ['an empty file', Buffer.alloc(0), 'empty.pdf'],
    ['a PDF header followed by garbage', Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(2000, 0x41)]), 'broken.pdf'],
  ])('refuses %s with 415 and stores nothing', async (_label, bytes, name) => {
    const a = await verifiedApplicant(t.app);
    const draft = await request(t.app).post('/api/v1/contracts').set(auth(a.token)).send({}).expect(201);
    const res = await request(t.app).post(`/api/v1/contracts/${draft.body.id}/attachments`).set(auth(a.token)).attach('file', bytes, name).expect(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await Contract.findById(draft.body.id).lean())?.attachments).toEqual([]);
  });

  it('refuses a file over 20 MB with 413', async () => {
    const a = await verifiedApplicant(t.app);
    const draft = await request(t.app).post('/api/v1/contracts').set(auth(a.token)).send({}).expect(201);
    const big = Buffer.concat([await makePdf(), Buffer.alloc(21 * 1024 * 1024, 0x20)]);
    const res = await request(t.app).post(`/api/v1/contracts/${draft.body.id}/attachments`).set(auth(a.token)).attach('file', big, 'big.pdf');
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await Contract.findById(draft.body.id).lean())?.attachments).toEqual([]);
  });

  it('answers 422 when no file is sent', async () => {
    const a = await verifiedApplicant(t.app);
    const draft = await request(t.app).post('/api/v1/contracts').set(auth(a.token)).send({}).expect(201);
    await request(t.app).post(`/api/v1/contracts/${draft.body.id}/attachments`).set(auth(a.token)).field('other', 'x').expect(422);
  });

  it('keeps several attachments when they arrive at once', async () => {
    const a = await verifiedApplicant(t.app);
    const draft = await request(t.app).post('/api/v1/contracts').set(auth(a.token)).send({}).expect(201);
    const pdf = await makePdf();
    await Promise.all([1, 2, 3, 4].map((i) => request(t.app).post(`/api/v1/contracts/${draft.body.id}/attachments`).set(auth(a.token)).attach('file', pdf, `annex-${i}.pdf`).expect(201)));
    const doc = await Contract.findById(draft.body.id).lean();
    expect(doc!.attachments.map((x) => x.filename).sort()).toEqual(['annex-1.pdf', 'annex-2.pdf', 'annex-3.pdf', 'annex-4.pdf']);
  });
});

describe("another organisation's contract", () => {
  it('answers 404 for get, patch, attach, submit, withdraw and download', async () => {
    const owner = await verifiedApplicant(t.app);
    const other = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, owner.token);
    const title = (await Contract.findById(id).lean())!.title;
    const attId = (await Contract.findById(id).lean())!.attachments[0].id;
    const pdf = await makePdf();
    const responses = await Promise.all([
      request(t.app).get(`/api/v1/contracts/${id}`).set(auth(other.token)),
      request(t.app).patch(`/api/v1/contracts/${id}`).set(auth(other.token)).send({ title: 'hijack' }),
      request(t.app).post(`/api/v1/contracts/${id}/attachments`).set(auth(other.token)).attach('file', pdf, 'x.pdf'),
      request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(other.token)),
      request(t.app).post(`/api/v1/contracts/${id}/withdraw`).set(auth(other.token)),
      request(t.app).get(`/api/v1/contracts/${id}/attachments/${attId}`).set(auth(other.token)),
      request(t.app).delete(`/api/v1/contracts/${id}/attachments/${attId}`).set(auth(other.token)),
    ]);
    expect(responses.map((r) => r.status)).toEqual([404, 404, 404, 404, 404, 404, 404]);
    const doc = await Contract.findById(id).lean();
    expect(doc).toMatchObject({ status: 'draft', title });
    expect(doc!.attachments).toHaveLength(1);
    const list = await request(t.app).get('/api/v1/contracts').set(auth(other.token)).expect(200);
    expect(list.body.items.map((c: { id: string }) => c.id)).not.toContain(id);
  });

  it('is visible to the bureau', async () => {
    const owner = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, owner.token);
    const reviewer = await makeBureauUser('reviewer');
    const token = await tokenFor(t.app, reviewer.email);
    await request(t.app).get(`/api/v1/contracts/${id}`).set(auth(token)).expect(200);
    await request(t.app).patch(`/api/v1/contracts/${id}`).set(auth(token)).send({ title: 'x' }).expect(403);
  });
});

describe('concurrency', () => {
  it('gives one 202 and one 409 for two simultaneous submits, and exactly one job', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token);
    const [r1, r2] = await Promise.all([
      request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(a.token)),
      request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(a.token)),
    ]);
    expect([r1.status, r2.status].sort()).toEqual([202, 409]);
    const jobs = await t.queues.verification.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(jobs.filter((j) => j.data.contractId === id)).toHaveLength(1);
    const doc = await Contract.findById(id).lean();
    expect(doc!.history.filter((h) => h.action === 'submitted')).toHaveLength(1);
    expect(doc!.submissionCount).toBe(1);
  });

  it('lets a withdrawal and a submission race: one wins, or both in the one order that allows both', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token);
    const [s, w] = await Promise.all([
      request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(a.token)),
      request(t.app).post(`/api/v1/contracts/${id}/withdraw`).set(auth(a.token)),
    ]);
    const doc = await Contract.findById(id).lean();
    if (s.status === 202 && w.status === 200) {
      // Submitted first, then withdrawn (a submitted filing may be withdrawn): the history says so.
      expect(doc!.status).toBe('withdrawn');
      expect(doc!.history.slice(-2).map((h) => h.action)).toEqual(['submitted', 'withdrawn']);
    } else {
      expect([s.status, w.status].filter((x) => x === 409)).toHaveLength(1);
      expect(doc!.status).toBe(s.status === 202 ? 'submitted' : 'withdrawn');
    }
  });
});

describe('lists', () => {
  it('searches, filters by status and year, and paginates', async () => {
    const a = await verifiedApplicant(t.app);
    for (let i = 0; i < 5; i++) {
      await request(t.app).post('/api/v1/contracts').set(auth(a.token)).send({ title: `盐湖提锂技术开发合同 ${i}`, signedOn: i < 3 ? '2025-06-01' : '2026-06-01' }).expect(201);
    }
    await request(t.app).post('/api/v1/contracts').set(auth(a.token)).send({ title: '牦牛乳制品技术服务合同', contractNumber: 'YAK-77' }).expect(201);
    const all = await request(t.app).get('/api/v1/contracts?pageSize=4').set(auth(a.token)).expect(200);
    expect(all.body).toMatchObject({ page: 1, pageSize: 4, total: 6 });
    expect(all.body.items).toHaveLength(4);
    const page2 = await request(t.app).get('/api/v1/contracts?pageSize=4&page=2').set(auth(a.token)).expect(200);
    expect(page2.body.items).toHaveLength(2);
    const ids = new Set([...all.body.items, ...page2.body.items].map((c: { id: string }) => c.id));
    expect(ids.size).toBe(6);
    expect((await request(t.app).get('/api/v1/contracts?q=盐湖').set(auth(a.token))).body.total).toBe(5);
    expect((await request(t.app).get('/api/v1/contracts?q=yak-77').set(auth(a.token))).body.total).toBe(1);
    expect((await request(t.app).get('/api/v1/contracts?q=.*').set(auth(a.token))).body.total).toBe(0);
    expect((await request(t.app).get('/api/v1/contracts?year=2025').set(auth(a.token))).body.total).toBe(3);
    expect((await request(t.app).get('/api/v1/contracts?status=submitted').set(auth(a.token))).body.total).toBe(0);
    await request(t.app).get('/api/v1/contracts?status=bogus').set(auth(a.token)).expect(422);
    await request(t.app).get('/api/v1/contracts?pageSize=1000').set(auth(a.token)).expect(422);
  });
});
