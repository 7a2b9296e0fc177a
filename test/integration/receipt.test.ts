/** The acceptance receipt (受理回执), the applicant's certificate links, and the status bar. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PDFDocument } from 'pdf-lib';
import request from 'supertest';
import { addWorkingDays } from '../../src/domain/calendar';
import { formatYuanGrouped } from '../../src/domain/money';
import { cstDate, cstYear } from '../../src/domain/time';
import { lastNumber } from '../../src/lib/counters';
import { Contract } from '../../src/modules/contracts/contract.model';
import { acceptanceCounterId, numberAcceptance } from '../../src/modules/contracts/receipt';
import { verifySubmission } from '../../src/modules/review/verification.service';
import { startTestApp, type TestApp } from '../support/harness';
import { bearer, binary, inReviewContract, makeBureauUser, readyDraft, reviewerToken, signedInAgent, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
let reviewer: string;
beforeAll(async () => {
  t = await startTestApp();
  reviewer = await reviewerToken(t.app);
});
afterAll(async () => {
  await t.close();
});

/** A GET whose body is kept as bytes (supertest parses only text types). */
const bytesOf = (r: request.Test) => r.buffer(true).parse(binary);

/** The PDF's text, as pdftotext reads it (the same tool the certificate tests use). */
function pdfText(bytes: Buffer): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-')), 'r.pdf');
  fs.writeFileSync(file, bytes);
  return execFileSync('pdftotext', ['-layout', file, '-']).toString('utf8');
}

async function receipt(id: string, token: string) {
  const res = await bytesOf(request(t.app).get(`/api/v1/contracts/${id}/receipt.pdf`).set(bearer(token))).expect(200);
  expect(res.headers['content-type']).toBe('application/pdf');
  const bytes = res.body as Buffer;
  expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
  return { bytes, text: pdfText(bytes), disposition: res.headers['content-disposition'] as string };
}

/** Submits through the API; the receipt as stored (the 202 answer keeps its documented shape). */
async function submit(id: string, token: string) {
  const body = (await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(bearer(token)).expect(202)).body;
  const acceptance = (await Contract.findById(id).lean())!.acceptance!;
  return { ...body, acceptance: { ...acceptance, at: new Date(acceptance.at!) } } as { status: string; acceptance: { submission: number; number: string; at: Date; deadline: string } };
}

describe('the acceptance receipt', () => {
  it('is issued at submission: a number of the year, the time and the legal deadline, in a one-page A4 PDF', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token, { contractAmount: '1250000.00', technicalAmount: '1100000.00', deductions: [{ item: 'equipment', amount: '150000.00' }] });
    // No receipt before the first submission.
    const early = await request(t.app).get(`/api/v1/contracts/${id}/receipt.pdf`).set(bearer(a.token)).expect(409);
    expect(early.body.error).toMatchObject({ code: 'CONFLICT', reason: 'CONTRACT_NOT_SUBMITTED' });

    const before = new Date();
    const body = await submit(id, a.token);
    const year = cstYear(before);
    const deadline = addWorkingDays(cstDate(before), 15);
    expect(body.status).toBe('submitted');
    expect(body.acceptance.number).toMatch(new RegExp(`^SL${year}\\d{6}$`));
    expect(body.acceptance.deadline).toBe(deadline);
    const stored = (await Contract.findById(id).lean())!;
    expect(stored.acceptance).toMatchObject({ submission: 1, number: body.acceptance.number, deadline });
    expect(new Date(stored.acceptance!.at!).getTime()).toBe(new Date(stored.submittedAt!).getTime());

    const { bytes, text, disposition } = await receipt(id, a.token);
    expect(disposition).toContain(`receipt-${body.acceptance.number}.pdf`);
    const pdf = await PDFDocument.load(bytes);
    expect(pdf.getPageCount()).toBe(1);
    const { width, height } = pdf.getPage(0).getSize();
    expect([Math.round(width), Math.round(height)]).toEqual([595, 842]);
    expect(text).toContain('技术合同登记受理回执');
    expect(text).toContain(body.acceptance.number);
    expect(text).toContain(deadline);
    expect(text).toContain('15 个工作日');
    expect(text).toContain(t.config.agency.nameZh);
    expect(text).toContain(stored.title!);
    expect(text).toContain(stored.seller!.name!);
    expect(text).toContain(formatYuanGrouped(125_000_000));
    expect(text).toContain(formatYuanGrouped(110_000_000));
    expect(text).toContain(`${t.config.publicUrl}/contracts/${id}`);

    // Verification computes the same deadline.
    expect(await verifySubmission(id, 1, '630100')).toBe('verified');
    expect((await Contract.findById(id).lean())!.decisionDeadline).toBe(deadline);

    // The bureau may read it; another organisation is told it does not exist.
    await receipt(id, reviewer);
    const other = await verifiedApplicant(t.app);
    await request(t.app).get(`/api/v1/contracts/${id}/receipt.pdf`).set(bearer(other.token)).expect(404);
  });

  it('numbers each submission with the next number, gap-free; a resubmission after a return gets a new receipt', async () => {
    const a = await verifiedApplicant(t.app);
    const first = await readyDraft(t.app, a.token);
    const second = await readyDraft(t.app, a.token);
    const n1 = (await submit(first, a.token)).acceptance.number as string;
    const n2 = (await submit(second, a.token)).acceptance.number as string;
    expect(Number(n2.slice(-6))).toBe(Number(n1.slice(-6)) + 1);

    expect(await verifySubmission(first, 1, '630100')).toBe('verified');
    await request(t.app).post(`/api/v1/contracts/${first}/return`).set(bearer(reviewer)).send({ reason: '请补充买方盖章页' }).expect(200);
    // While returned, the receipt of the last submission can still be downloaded.
    expect((await receipt(first, a.token)).text).toContain(n1);
    const n3 = (await submit(first, a.token)).acceptance.number as string;
    expect(Number(n3.slice(-6))).toBe(Number(n2.slice(-6)) + 1);
    const { text } = await receipt(first, a.token);
    expect(text).toContain(n3);
    expect(text).not.toContain(n1);
    expect((await Contract.findById(first).lean())!.acceptance).toMatchObject({ submission: 2, number: n3 });

    // Taking the number again for the same submission (a retry) gives the same one, and takes none.
    const year = Number(n3.slice(2, 6));
    const last = await lastNumber(acceptanceCounterId(year));
    const again = await numberAcceptance(first, { submission: 2, at: (await Contract.findById(first).lean())!.acceptance!.at! });
    expect(again).toBe(n3);
    expect(await lastNumber(acceptanceCounterId(year))).toBe(last);
  });

  it('finishes a receipt a crash left without its number, with the number the submission had taken', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token);
    const { number } = (await submit(id, a.token)).acceptance;
    const year = Number(number.slice(2, 6));
    const last = await lastNumber(acceptanceCounterId(year));
    // As if the process had died between the submission and writing the number.
    await Contract.updateOne({ _id: id }, { $set: { 'acceptance.number': null } });
    const page = await (await signedInAgent(t.app, a.email)).get(`/contracts/${id}`).expect(200);
    expect(page.text).toContain('受理编号生成中');
    expect((await receipt(id, a.token)).text).toContain(number);
    expect((await Contract.findById(id).lean())!.acceptance!.number).toBe(number);
    // A filing submitted before receipts existed gets one for its submission too.
    await Contract.updateOne({ _id: id }, { $set: { acceptance: null } });
    expect((await receipt(id, a.token)).text).toContain(number);
    expect(await lastNumber(acceptanceCounterId(year))).toBe(last);
  });

  it('gives an expert review 30 working days', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token, { contractAmount: '6000000.00', technicalAmount: '5850000.00' });
    const before = new Date();
    const { acceptance } = await submit(id, a.token);
    expect(acceptance.deadline).toBe(addWorkingDays(cstDate(before), 30));
    const { text } = await receipt(id, a.token);
    expect(text).toContain('30 个工作日');
    expect(await verifySubmission(id, 1, '630100')).toBe('verified');
    expect((await Contract.findById(id).lean())!.decisionDeadline).toBe(acceptance.deadline);
  });

  it('speaks English to an English reader', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token);
    const { acceptance } = await submit(id, a.token);
    const res = await bytesOf(request(t.app).get(`/api/v1/contracts/${id}/receipt.pdf`).set(bearer(a.token)).set('Accept-Language', 'en')).expect(200);
    const text = pdfText(res.body as Buffer);
    expect(text).toContain('Acceptance Receipt');
    expect(text).toContain(acceptance.number);
    expect(text).toContain('within 15 working days');
  });
});

describe('the applicant’s pages', () => {
  it('link the certificate of a registered contract, which downloads with the session alone', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    const { registrationNumber } = (await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(bearer(reviewer)).send({}).expect(200)).body;
    const agent = await signedInAgent(t.app, a.email);

    const page = (await agent.get(`/contracts/${id}`).expect(200)).text;
    const href = /href="([^"]+\/certificate\.pdf)"/.exec(page)?.[1];
    expect(href).toBe(`/api/v1/contracts/${id}/certificate.pdf`);
    const cert = await bytesOf(agent.get(href!)).expect(200);
    expect(cert.headers['content-type']).toBe('application/pdf');
    expect((cert.body as Buffer).subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdfText(cert.body as Buffer)).toContain(registrationNumber);

    // The receipt link on the page works the same way.
    const receiptHref = /href="([^"]+\/receipt\.pdf)"/.exec(page)?.[1];
    expect(receiptHref).toBe(`/api/v1/contracts/${id}/receipt.pdf`);
    expect((await bytesOf(agent.get(receiptHref!)).expect(200)).body.subarray(0, 5).toString()).toBe('%PDF-');

    // The list links it too, for registered rows only.
    const draft = await readyDraft(t.app, a.token);
    const list = (await agent.get('/contracts').expect(200)).text;
    expect(list).toContain(`href="/api/v1/contracts/${id}/certificate.pdf"`);
    expect(list).not.toContain(`href="/api/v1/contracts/${draft}/certificate.pdf"`);
    // Without a session there is nothing to download.
    await request(t.app).get(href!).expect(401);
  });

  it('show a status bar with the current step marked, on the applicant’s page and the review page', async () => {
    const a = await verifiedApplicant(t.app);
    const agent = await signedInAgent(t.app, a.email);
    /** The labels of the bar's steps, and which one is current. */
    const bar = (html: string) => {
      const section = /<section class="status-bar"[\s\S]*?<\/section>/.exec(html)?.[0] ?? '';
      const items = [...section.matchAll(/<li class="status-step ([^"]*)"( aria-current="step")?>([\s\S]*?)<\/li>/g)];
      const text = (s: string) => s.replace(/<span class="(visually-hidden|step-marker)"[^>]*>[\s\S]*?<\/span>/g, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
      return { steps: items.map((m) => text(m[3])), current: items.filter((m) => m[2]).map((m) => text(m[3])) };
    };

    const draft = await readyDraft(t.app, a.token);
    const d = bar((await agent.get(`/contracts/${draft}`).expect(200)).text);
    expect(d.steps.map((s) => s.split(' ')[0])).toEqual(['填报', '提交', '核查', '审核', '办结']);
    expect(d.current).toHaveLength(1);
    expect(d.current[0]).toMatch(/^填报/);

    const registered = await inReviewContract(t.app, a.token);
    const inReview = bar((await agent.get(`/contracts/${registered}`).expect(200)).text);
    expect(inReview.current[0]).toMatch(/^审核 进行中 办结时限 \d{4}-\d{2}-\d{2}$/);
    await request(t.app).post(`/api/v1/contracts/${registered}/approve`).set(bearer(reviewer)).send({}).expect(200);
    const r = bar((await agent.get(`/contracts/${registered}`).expect(200)).text);
    expect(r.current).toEqual([expect.stringMatching(new RegExp(`^办结 准予登记 ${cstDate(new Date())}$`))]);
    expect(r.steps[1]).toMatch(/^提交 \d{4}-\d{2}-\d{2}$/);

    const returned = await inReviewContract(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${returned}/return`).set(bearer(reviewer)).send({ reason: '请补充买方盖章页' }).expect(200);
    const ret = bar((await agent.get(`/contracts/${returned}`).expect(200)).text);
    expect(ret.current).toEqual([expect.stringMatching(/^填报 \d{4}-\d{2}-\d{2} 退回补正 \d{4}-\d{2}-\d{2}$/)]);

    // The bureau's review page shows the same bar.
    const bureau = await signedInAgent(t.app, (await makeBureauUser('reviewer')).email);
    const review = bar((await bureau.get(`/review/${returned}`).expect(200)).text);
    expect(review.current).toEqual(ret.current);
  });
});
