/** The bureau's review against the real services: checks, deadlines, decisions, numbers, certificates. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { Contract } from '../../src/modules/contracts/contract.model';
import { storePdf } from '../../src/modules/contracts/attachments.store';
import { watchDeadlines } from '../../src/modules/review/queue.service';
import { verifySubmission } from '../../src/modules/review/verification.service';
import { serialsOf } from '../../src/modules/registrations/registration-numbers';
import { Notification, OutboxMail } from '../../src/modules/notifications/notification.model';
import { createMailer, sendNotificationMail } from '../../src/modules/notifications/notifications.service';
import { AuditEntry } from '../../src/modules/audit/audit.model';
import { cstYear } from '../../src/domain/time';
import { startTestApp, type TestApp } from '../support/harness';
import { binary, completeContract, inReviewContract, makeBureauUser, makeUscc, readyDraft, tokenFor, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
let reviewer: string;
let admin: string;
beforeAll(async () => {
  t = await startTestApp({ PUBLIC_URL: 'https://registry.example.cn' });
  reviewer = await tokenFor(t.app, (await makeBureauUser('reviewer')).email);
  admin = await tokenFor(t.app, (await makeBureauUser('admin')).email);
});
afterAll(async () => {
  await t.close();
});

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
const codes = async (id: string) => ((await Contract.findById(id).lean())?.findings ?? []).map((f) => f.code).sort();

/** Submits a filing, optionally backdating its submission, then runs verification. */
async function submitAndVerify(token: string, over: Record<string, unknown> = {}, submittedAt?: Date) {
  const id = await readyDraft(t.app, token, over);
  await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(token)).expect(202);
  if (submittedAt) await Contract.updateOne({ _id: id }, { $set: { submittedAt } });
  expect(await verifySubmission(id, 1, '630100')).toBe('verified');
  return id;
}

describe('automatic verification', () => {
  it('moves a clean filing to review with no findings and a 15-working-day deadline', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await submitAndVerify(a.token, {}, new Date('2026-09-28T02:00:00Z'));
    const doc = await Contract.findById(id).lean();
    expect(doc).toMatchObject({ status: 'in_review', decisionDeadline: '2026-10-23', expertReview: false, findings: [] });
    expect(doc!.history.map((h) => h.action)).toEqual(['created', 'updated', 'submitted', 'verified']);
  });

  it('counts the deadline across the Spring Festival and its make-up Saturday', async () => {
    const a = await verifiedApplicant(t.app);
    // Accepted Friday 2026-02-13 (CST). Working days: 14 (Sat, make-up), 24, 25, 26, 27, 28 (Sat, make-up), Mar 2…
    const id = await submitAndVerify(a.token, { signedOn: '2026-02-01', validFrom: '2026-02-01' }, new Date('2026-02-13T01:00:00Z'));
    expect((await Contract.findById(id).lean())!.decisionDeadline).toBe('2026-03-12');
  });

  it('gives 30 working days and an expert-review finding from 5 million yuan of technical amount', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await submitAndVerify(a.token, { contractAmount: '12000000.00', technicalAmount: '5000000.00', deductions: [{ item: 'equipment', amount: '7000000.00' }] }, new Date('2026-04-01T02:00:00Z'));
    const doc = await Contract.findById(id).lean();
    expect(doc).toMatchObject({ expertReview: true, decisionDeadline: '2026-05-18' });
    expect(await codes(id)).toEqual(['EXPERT_REVIEW', 'LARGE_CONTRACT']);
  });

  it.each([
    ['FILED_OUTSIDE_VALIDITY', { signedOn: '2024-01-01', validFrom: '2024-01-01', validTo: '2024-12-31' }],
    ['RELATED_PARTY', { relatedParty: true }],
    ['USCC_CHECK_FAILED', { buyers: [{ ...completeContract().buyers[0], uscc: (() => { const c = makeUscc(); return c.slice(0, 17) + (c[17] === '0' ? '1' : '0'); })() }] }],
  ])('reports %s', async (code, over) => {
    const a = await verifiedApplicant(t.app);
    const id = await submitAndVerify(a.token, over);
    expect(await codes(id)).toContain(code);
  });

  it('reports a seller outside the agency area and possible duplicates (same parties and amount)', async () => {
    const a = await verifiedApplicant(t.app);
    const first = await submitAndVerify(a.token);
    const firstDoc = await Contract.findById(first).lean();
    const amount = { contractAmount: (firstDoc!.contractAmountFen! / 100).toFixed(2), technicalAmount: (firstDoc!.technicalAmountFen! / 100).toFixed(2) };
    const second = await submitAndVerify(a.token, { title: '另一个名称完全不同的合同', buyers: firstDoc!.buyers, ...amount });
    const dup = (await Contract.findById(second).lean())!.findings.find((f) => f.code === 'DUPLICATE_SUSPECTED');
    expect(dup?.related).toEqual([first]);
    // A similar title within 90 days, with other parties and amount, also counts.
    const third = await submitAndVerify(a.token, { title: firstDoc!.title + '（补充）', contractAmount: '999.00', technicalAmount: '999.00', deductions: [] });
    expect(await codes(third)).toContain('DUPLICATE_SUSPECTED');
    // A seller from Beijing filing here.
    await Contract.updateOne({ _id: first }, { $set: { status: 'submitted', 'seller.regionCode': '110108', submissionCount: 2 } });
    await verifySubmission(first, 2, '630100');
    expect(await codes(first)).toContain('SELLER_OUTSIDE_AREA');
  });

  it('reports an unreadable stored PDF', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(a.token)).expect(202);
    const att = (await Contract.findById(id).lean())!.attachments[0];
    await Contract.updateOne({ _id: id }, { $push: { attachments: { ...att, id: '6b08f00195ee022ff617a8e0', filename: 'gone.pdf' } } });
    await verifySubmission(id, 1, '630100');
    expect(await codes(id)).toEqual(['PDF_UNREADABLE']);
    expect((await Contract.findById(id).lean())!.findings[0].message).toContain('gone.pdf');
  });

  it('checks an uploaded PDF is still there whole, and parses one it has no page count for', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(a.token)).expect(202);
    const att = (await Contract.findById(id).lean())!.attachments[0];
    const junk = Buffer.from('%PDF-1.7 not really a PDF');
    const junkId = await storePdf(junk, 'junk.pdf', {});
    await Contract.updateOne({ _id: id }, {
      $push: {
        attachments: {
          $each: [
            // The upload's record says another size than the stored file has.
            { ...att, size: att.size + 1, filename: 'truncated.pdf' },
            // No page count (not parsed at upload): parsed now, and it does not parse.
            { ...att, id: junkId, size: junk.length, pages: null, filename: 'unparsed.pdf' },
          ],
        },
      },
    });
    await verifySubmission(id, 1, '630100');
    const findings = (await Contract.findById(id).lean())!.findings;
    expect(findings.map((f) => f.code)).toEqual(['PDF_UNREADABLE', 'PDF_UNREADABLE']);
    expect(findings.map((f) => f.message)).toEqual(['附件“truncated.pdf”无法读取。', '附件“unparsed.pdf”无法读取。']);
  });

  it('is idempotent: a second run changes nothing and adds no history', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token, { relatedParty: true });
    await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(a.token)).expect(202);
    const runs = await Promise.all([verifySubmission(id, 1, '630100'), verifySubmission(id, 1, '630100')]);
    expect(runs.sort()).toEqual(['skipped', 'verified']);
    expect(await verifySubmission(id, 1, '630100')).toBe('skipped');
    const doc = await Contract.findById(id).lean();
    expect(doc!.history.filter((h) => h.action === 'verified')).toHaveLength(1);
    expect(doc!.findings.map((f) => f.code)).toEqual(['RELATED_PARTY']);
  });
});

describe('decisions', () => {
  it('registers with a 16-digit number, then refuses a second decision with 409', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    const res = await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({ note: '材料齐全' }).expect(200);
    const year = cstYear(new Date());
    expect(res.body).toEqual({ status: 'registered', registrationNumber: expect.stringMatching(new RegExp(`^${year}630100\\d{6}$`)) });
    const again = await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}).expect(409);
    expect(again.body.error.current).toEqual({ status: 'registered', registrationNumber: res.body.registrationNumber });
    await request(t.app).post(`/api/v1/contracts/${id}/return`).set(auth(reviewer)).send({ reason: 'x' }).expect(409);
    const got = await request(t.app).get(`/api/v1/contracts/${id}`).set(auth(a.token)).expect(200);
    expect(got.body).toMatchObject({ status: 'registered', registrationNumber: res.body.registrationNumber, registeredAt: expect.stringMatching(/\+08:00$/) });
    expect(got.body.history.at(-1)).toMatchObject({ action: 'registered', note: '材料齐全' });
    expect(await AuditEntry.countDocuments({ action: 'contract.registered', targetId: id })).toBe(1);
  });

  it('refuses decisions on filings that are not in review', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await readyDraft(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}).expect(409);
    await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(a.token)).expect(202);
    const res = await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}).expect(409);
    expect(res.body.error.current.status).toBe('submitted');
  });

  it('returns with a reason; the applicant corrects and resubmits, restarting the clock', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${id}/return`).set(auth(reviewer)).send({}).expect(422);
    await request(t.app).post(`/api/v1/contracts/${id}/return`).set(auth(reviewer)).send({ reason: '请补充专利证书复印件' }).expect(200);
    await request(t.app).patch(`/api/v1/contracts/${id}`).set(auth(a.token)).send({ title: '更正后的合同名称' }).expect(200);
    await request(t.app).post(`/api/v1/contracts/${id}/submit`).set(auth(a.token)).expect(202);
    expect(await t.queues.verification.getJob(`verify-${id}-2`)).toBeTruthy();
    expect(await verifySubmission(id, 2, '630100')).toBe('verified');
    const res = await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}).expect(200);
    expect(res.body.status).toBe('registered');
    const doc = await Contract.findById(id).lean();
    expect(doc!.history.map((h) => h.action)).toEqual(['created', 'updated', 'submitted', 'verified', 'returned', 'updated', 'submitted', 'verified', 'registered']);
  });

  it('refuses with one of the nine official reasons; reason 9 needs a note', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    for (const body of [{}, { reasonCode: 0 }, { reasonCode: 10 }, { reasonCode: 'x' }, { reasonCode: 9 }]) {
      await request(t.app).post(`/api/v1/contracts/${id}/refuse`).set(auth(reviewer)).send(body).expect(422);
    }
    await request(t.app).post(`/api/v1/contracts/${id}/refuse`).set(auth(reviewer)).send({ reasonCode: 2 }).expect(200);
    const doc = await Contract.findById(id).lean();
    expect(doc).toMatchObject({ status: 'refused', decision: { action: 'refused', reasonCode: 2 } });
  });

  it('lets only an admin revoke a registration, with a reason, once', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${id}/revoke`).set(auth(admin)).send({ reason: 'x' }).expect(409);
    await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}).expect(200);
    await request(t.app).post(`/api/v1/contracts/${id}/revoke`).set(auth(reviewer)).send({ reason: '虚假合同' }).expect(403);
    await request(t.app).post(`/api/v1/contracts/${id}/revoke`).set(auth(admin)).send({}).expect(422);
    await request(t.app).post(`/api/v1/contracts/${id}/revoke`).set(auth(admin)).send({ reason: '经查为虚假合同' }).expect(200);
    await request(t.app).post(`/api/v1/contracts/${id}/revoke`).set(auth(admin)).send({ reason: 'again' }).expect(409);
    expect((await Contract.findById(id).lean())!.status).toBe('revoked');
  });

  it('lets exactly one of two reviewers acting at once win; the other sees 409 and the state', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    const [approve, ret] = await Promise.all([
      request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}),
      request(t.app).post(`/api/v1/contracts/${id}/return`).set(auth(admin)).send({ reason: '补正' }),
    ]);
    expect([approve.status, ret.status].sort()).toEqual([200, 409]);
    const loser = approve.status === 409 ? approve : ret;
    const doc = await Contract.findById(id).lean();
    expect(loser.body.error.current.status).toBe(doc!.status);
    expect(doc!.history.filter((h) => ['registered', 'returned'].includes(h.action))).toHaveLength(1);
  });

  it('gives 50 concurrent approvals by several clients 50 distinct consecutive serials', async () => {
    const a = await verifiedApplicant(t.app);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(await inReviewContract(t.app, a.token, { title: `并发登记测试合同第${i}号`, contractNumber: `C-${i}` }));
    const reviewers = await Promise.all([1, 2, 3, 4, 5].map(async () => tokenFor(t.app, (await makeBureauUser('reviewer')).email)));
    const year = cstYear(new Date());
    const before = await serialsOf(year);
    const results = await Promise.all(ids.map((id, i) => request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewers[i % 5])).send({})));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    const numbers = results.map((r) => r.body.registrationNumber as string);
    expect(new Set(numbers).size).toBe(50);
    const serials = numbers.map((n) => Number(n.slice(-6))).sort((x, y) => x - y);
    const start = (before.at(-1) ?? 0) + 1;
    expect(serials).toEqual(Array.from({ length: 50 }, (_, i) => start + i));
    const all = await serialsOf(year);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
  });
});

describe('certificates and notifications', () => {
  it('renders a certificate whose text has the number, the Chinese seller name and the capital numerals', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token, { contractAmount: '1250000.00', technicalAmount: '1100000.00' });
    const { registrationNumber } = (await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}).expect(200)).body;
    const res = await request(t.app)
      .get(`/api/v1/contracts/${id}/certificate.pdf`)
      .set(auth(a.token))
      .buffer(true)
      .parse(binary)
      .expect(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cert-')), 'c.pdf');
    fs.writeFileSync(file, res.body as Buffer);
    const textOut = execFileSync('pdftotext', ['-layout', file, '-']).toString('utf8');
    const doc = await Contract.findById(id).lean();
    expect(textOut).toContain(registrationNumber);
    expect(textOut).toContain(doc!.seller!.name!);
    expect(textOut).toContain('壹佰贰拾伍万元整');
    expect(textOut).toContain('壹佰壹拾万元整');
    expect(textOut).toContain(`https://registry.example.cn/verify/${registrationNumber}`);
    // Stored once; asking again serves the same file.
    const fileId = (await Contract.findById(id).lean())!.certificateFileId;
    await request(t.app).get(`/api/v1/contracts/${id}/certificate.pdf`).set(auth(reviewer)).expect(200);
    expect((await Contract.findById(id).lean())!.certificateFileId).toBe(fileId);
    // Another organisation cannot have it; an unregistered contract has none.
    const other = await verifiedApplicant(t.app);
    await request(t.app).get(`/api/v1/contracts/${id}/certificate.pdf`).set(auth(other.token)).expect(404);
    const draft = await readyDraft(t.app, a.token);
    await request(t.app).get(`/api/v1/contracts/${draft}/certificate.pdf`).set(auth(a.token)).expect(409);
  });

  it('notifies the applicant of a decision in the app and mails it once even when the job runs twice', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${id}/return`).set(auth(reviewer)).send({ reason: '请补充附件' }).expect(200);
    const n = await Notification.findOne({ contractId: id }).lean();
    expect(n).toMatchObject({ kind: 'returned', email: { status: 'pending' } });
    expect(n!.body).toContain('请补充附件');
    expect(await t.queues.notifications.getJob(`notify-${n!._id.replace(/:/g, '-')}`)).toBeTruthy();
    const mailer = createMailer({ smtpUrl: undefined, mailFrom: 'registry@test' });
    const runs = await Promise.all([sendNotificationMail(mailer, n!._id), sendNotificationMail(mailer, n!._id)]);
    expect(runs.sort()).toEqual(['sent', 'skipped']);
    expect(await sendNotificationMail(mailer, n!._id)).toBe('skipped');
    expect(await OutboxMail.countDocuments({ _id: n!._id })).toBe(1);
    expect((await OutboxMail.findById(n!._id).lean())!.to).toEqual([a.email]);
    expect((await Notification.findById(n!._id).lean())!.email).toMatchObject({ status: 'sent', via: 'outbox' });
  });

  it('gives a failed send back so the retry can send', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${id}/refuse`).set(auth(reviewer)).send({ reasonCode: 3 }).expect(200);
    const n = await Notification.findOne({ contractId: id }).lean();
    let calls = 0;
    const flaky = { via: 'smtp', async send() { calls++; if (calls === 1) throw new Error('SMTP 421 try later'); } };
    await expect(sendNotificationMail(flaky, n!._id)).rejects.toThrow('421');
    expect(await sendNotificationMail(flaky, n!._id)).toBe('sent');
    expect(calls).toBe(2);
  });
});

describe('deadline watch', () => {
  it('marks open filings past their deadline, once', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await submitAndVerify(a.token, {}, new Date('2025-06-02T02:00:00Z'));
    const first = await watchDeadlines('2026-11-27');
    expect(first.marked).toBeGreaterThanOrEqual(1);
    expect((await Contract.findById(id).lean())!.overdue).toBe(true);
    expect((await watchDeadlines('2026-11-27')).marked).toBe(0);
    const queue = await request(t.app).get('/api/v1/review?deadline=overdue').set(auth(reviewer)).expect(200);
    expect(queue.body.items.map((c: { id: string }) => c.id)).toContain(id);
    expect(queue.body.items.find((c: { id: string }) => c.id === id).urgency).toBe('overdue');
  });
});
