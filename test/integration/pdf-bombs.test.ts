/**
 * Decompression bombs among the uploads: a PDF whose streams inflate far beyond the cap is
 * refused with 422 PDF_TOO_COMPLEX (API and page alike), stores nothing and leaves the draft
 * as it was; parsing happens in a check process, so the web process keeps answering and its
 * memory does not grow with the bombs; a legitimate scan-sized PDF still passes; and the
 * verification job finds a bomb already in storage without parsing it itself.
 */
import mongoose from 'mongoose';
import { PDFDocument } from 'pdf-lib';
import request from 'supertest';
import { closePdfChecks, pdfChecksRunning, PDF_LIMITS } from '../../src/lib/pdf/inspect-pdf';
import { storePdf } from '../../src/modules/contracts/attachments.store';
import { Contract } from '../../src/modules/contracts/contract.model';
import { verifySubmission } from '../../src/modules/review/verification.service';
import { startTestApp, type TestApp } from '../support/harness';
import { completeContract, csrfFrom, readyDraft, signedInAgent, verifiedApplicant } from '../support/fixtures';
import { largeScanPdf, nestedContentBomb, objectStreamBomb } from '../support/pdf-bombs';

const MB = 1024 * 1024;

let t: TestApp;
let applicant: Awaited<ReturnType<typeof verifiedApplicant>>;
let objectBomb: Buffer;
let contentBomb: Buffer;

beforeAll(async () => {
  t = await startTestApp();
  applicant = await verifiedApplicant(t.app);
  // The reviewer's file: about 130 KB whose object stream inflates to 128 MB.
  objectBomb = await objectStreamBomb(128 * MB);
  contentBomb = await nestedContentBomb(600 * MB);
});
afterAll(async () => {
  await closePdfChecks();
  await t.close();
});

const auth = () => ({ Authorization: `Bearer ${applicant.token}` });
const storedFiles = () => mongoose.connection.db!.collection('attachments.files').countDocuments();

async function newDraft(): Promise<string> {
  const res = await request(t.app).post('/api/v1/contracts').set(auth()).send(completeContract()).expect(201);
  return res.body.id as string;
}

const upload = (id: string, bytes: Buffer, name = 'contract.pdf', lang?: string) => {
  const req = request(t.app).post(`/api/v1/contracts/${id}/attachments`).set(auth());
  if (lang) req.set('Accept-Language', lang);
  return req.attach('file', bytes, { filename: name, contentType: 'application/pdf' });
};

// First in the file: see the memory check.
it('several bombs at once: the web process keeps answering, parses none of them and does not grow by what they inflate to', async () => {
  const id = await newDraft();
  const files = await storedFiles();
  const load = jest.spyOn(PDFDocument, 'load');
  await request(t.app).get('/healthz').expect(200);
  // This process's high-water mark (children not included): the test runs first in the file,
  // so it is the mark of the set-up, which no bomb parsed here could stay under.
  const maxRss = () => process.resourceUsage().maxRSS * 1024;
  const before = maxRss();
  let settled = false;
  const bombs = [objectBomb, contentBomb, objectBomb, contentBomb, objectBomb, contentBomb];
  const uploads = Promise.all(bombs.map((b, i) => upload(id, b, `bomb-${i}.pdf`))).finally(() => (settled = true));
  let answeredDuringParse = 0;
  while (!settled) {
    await request(t.app).get('/healthz').expect(200);
    if (pdfChecksRunning() > 0) answeredDuringParse++;
  }
  const results = await uploads;
  expect(results.map((r) => r.status)).toEqual(bombs.map(() => 422));
  expect(results.every((r) => r.body.error.reason === 'PDF_TOO_COMPLEX')).toBe(true);
  // Liveness answered while bombs were being parsed elsewhere...
  expect(answeredDuringParse).toBeGreaterThanOrEqual(3);
  // ...because nothing was parsed here, and this heap never held the 3 × 128 MB + 3 × 600 MB.
  expect(load).not.toHaveBeenCalled();
  expect(maxRss() - before).toBeLessThan(100 * MB);
  expect(await storedFiles()).toBe(files);
  load.mockRestore();
});

describe('a decompression bomb', () => {
  it.each([
    ['an object stream of 128 MB (the reviewer’s file)', () => objectBomb, 'held'],
    ['a page of 600 MB, Flate inside Flate', () => contentBomb, 'inflated'],
  ])('in %s is refused with 422 PDF_TOO_COMPLEX, nothing stored, the draft unchanged', async (_label, bomb, limit) => {
    const id = await newDraft();
    const before = await Contract.findById(id).lean();
    const files = await storedFiles();
    const res = await upload(id, bomb());
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', reason: 'PDF_TOO_COMPLEX', limit, details: [{ path: 'file' }] });
    expect(res.body.error.message).toContain(`${PDF_LIMITS.inflatedBytes / MB} MB`);
    expect(res.body.error.details[0].message).toBe(res.body.error.message);
    expect(await storedFiles()).toBe(files);
    const after = await Contract.findById(id).lean();
    expect(after!.attachments).toEqual([]);
    expect(after!.history).toEqual(before!.history);
    expect(after!.updatedAt).toEqual(before!.updatedAt);
  });

  it('is explained in English to an API client that asks for it', async () => {
    const res = await upload(await newDraft(), objectBomb, 'contract.pdf', 'en');
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/expands to too much content when decompressed \(over 512 MB\)/);
  });

  it('uploaded through the page shows the reason on the filing page', async () => {
    const id = await newDraft();
    const agent = await signedInAgent(t.app, applicant.email);
    const edit = await agent.get(`/contracts/${id}/edit`).expect(200);
    const res = await agent
      .post(`/contracts/${id}/attachments?_csrf=${encodeURIComponent(csrfFrom(edit.text))}`)
      .attach('file', objectBomb, { filename: 'bomb.pdf', contentType: 'application/pdf' });
    expect(res.status).toBe(303);
    const page = await agent.get(`/contracts/${id}/edit`).expect(200);
    expect(page.text).toContain('PDF 文件解压后的内容过大（超过 512 MB）或结构过于复杂');
    expect((await Contract.findById(id).lean())!.attachments).toEqual([]);
  });
});

it('passes a legitimate scan-sized PDF of about 19 MB', async () => {
  const scan = await largeScanPdf(19 * MB, 6);
  expect(scan.length).toBeGreaterThan(15 * MB);
  expect(scan.length).toBeLessThanOrEqual(20 * MB);
  const id = await newDraft();
  const res = await upload(id, scan, 'scan.pdf');
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ filename: 'scan.pdf', size: scan.length });
  const doc = await Contract.findById(id).lean();
  expect(doc!.attachments).toEqual([expect.objectContaining({ id: res.body.id, size: scan.length, pages: 6 })]);
});

it('the verification job finds a bomb already in storage without parsing it in its own process', async () => {
  const id = await readyDraft(t.app, applicant.token);
  // An attachment from before page counts were kept, which verification reads and parses.
  const fileId = await storePdf(objectBomb, 'old-bomb.pdf', { contractId: id });
  await Contract.updateOne(
    { _id: id },
    { $push: { attachments: { id: fileId, filename: 'old-bomb.pdf', size: objectBomb.length, uploadedAt: new Date(), uploadedBy: new mongoose.Types.ObjectId(applicant.userId) } } },
  );
  await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth()).expect(202);
  const load = jest.spyOn(PDFDocument, 'load');
  expect(await verifySubmission(id, 1, '630100')).toBe('verified');
  expect(load).not.toHaveBeenCalled();
  load.mockRestore();
  const doc = await Contract.findById(id).lean();
  expect(doc!.status).toBe('in_review');
  const findings = doc!.findings.filter((f) => f.code === 'PDF_UNREADABLE');
  expect(findings).toHaveLength(1);
  expect(findings[0].message).toContain('old-bomb.pdf');
});
