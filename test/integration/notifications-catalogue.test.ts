/**
 * Notifications from one catalogue: every event worded in both languages, sent to the right
 * people (an organisation's members, or the bureau by role), batched where the catalogue says,
 * once per key however often a job or the deadline watch runs, and mailed to each recipient.
 */
import request from 'supertest';
import { addWorkingDays, isWorkingDay, workingDaysBetween } from '../../src/domain/calendar';
import { REFUSAL_REASON_TEXTS } from '../../src/domain/codes';
import { cstDate } from '../../src/domain/time';
import { verifyRequest } from '../../src/modules/changes/request-decisions.service';
import { Contract } from '../../src/modules/contracts/contract.model';
import { RegistrationRequest } from '../../src/modules/contracts/request.model';
import { CATALOGUE, placeholdersOf, renderEvent, type EventDef, type EventKey } from '../../src/modules/notifications/catalogue';
import { Notification, OutboxMail } from '../../src/modules/notifications/notification.model';
import { notificationJobId, createMailer, notify, sendNotificationMail } from '../../src/modules/notifications/notifications.service';
import { produceCertificate } from '../../src/modules/review/certificate';
import { sendFilingDigests, watchDeadlines } from '../../src/modules/review/queue.service';
import { startTestApp, type TestApp } from '../support/harness';
import { bearer, csrfFrom, inReviewContract, makeBureauUser, makePdf, readyDraft, signedInAgent, tokenFor, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
let reviewer: { id: string; email: string };
let admin: { id: string; email: string };
let reviewerToken: string;
let mailer: ReturnType<typeof createMailer>;

beforeAll(async () => {
  t = await startTestApp();
  reviewer = await makeBureauUser('reviewer');
  admin = await makeBureauUser('admin');
  reviewerToken = await tokenFor(t.app, reviewer.email);
  mailer = createMailer({ smtpUrl: undefined, mailFrom: 'registry@test', publicUrl: t.config.publicUrl });
});
afterAll(async () => {
  await t.close();
});

const auth = bearer;
const CJK = /[\u4e00-\u9fff]/;

/** A value for each parameter an event declares (a choice's first code). */
function sampleParams(def: EventDef, { withOptional = true, choice }: { withOptional?: boolean; choice?: string } = {}): Record<string, string | number> {
  const params: Record<string, string | number> = {};
  for (const name of [...def.required, ...(withOptional ? (def.optional ?? []) : [])]) {
    const choices = def.choices?.[name];
    params[name] = choices ? (choice && choices[choice] ? choice : Object.keys(choices)[0]) : `P${name}`;
  }
  return params;
}

describe('the catalogue', () => {
  const events = Object.entries(CATALOGUE) as [EventKey, EventDef][];

  it('has every event the registry tells, each under a kind of its own', () => {
    expect(events.map(([k]) => k).sort()).toEqual(
      [
        'organization.verified', 'organization.rejected', 'organization.name_change_approved', 'organization.name_change_rejected',
        'filing.received', 'filing.registered', 'filing.returned', 'filing.refused', 'filing.revoked', 'certificate.ready',
        'change.registered', 'change.returned', 'change.refused', 'cancellation.registered', 'cancellation.returned', 'cancellation.refused',
        'deadline.due_soon', 'deadline.overdue',
        'market.published', 'market.rejected', 'market.interest', 'market.interest_accepted', 'market.interest_declined', 'market.draft_prepared',
      ].sort(),
    );
    const kinds = events.map(([, d]) => d.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    // The bureau's events go to the bureau; the rest to an organisation.
    expect(events.filter(([, d]) => d.audience !== 'organization').map(([k]) => k).sort()).toEqual(['deadline.due_soon', 'deadline.overdue', 'filing.received']);
  });

  it.each(events)('%s: names only parameters it declares, uses each of them in both languages, and renders with none missing', (event, def) => {
    const declared = new Set([...def.required, ...(def.optional ?? [])]);
    const linkParams = placeholdersOf(def.link?.href ?? '');
    for (const lang of ['zh', 'en'] as const) {
      const used = new Set([...placeholdersOf(def[lang].subject), ...placeholdersOf(def[lang].body)]);
      for (const name of used) expect([event, lang, name, declared.has(name)]).toEqual([event, lang, name, true]);
      // Every parameter says something in each language (or is the link's id).
      for (const name of declared) expect([event, lang, name, used.has(name) || linkParams.includes(name)]).toEqual([event, lang, name, true]);
    }
    for (const name of linkParams) expect(declared.has(name)).toBe(true);

    // Every choice (each official refusal reason, each kind of filing), with and without the optional parameters.
    const choiceCodes = Object.values(def.choices ?? {}).flatMap((c) => Object.keys(c));
    for (const choice of [undefined, ...choiceCodes]) {
      for (const withOptional of [true, false]) {
        const r = renderEvent(event, sampleParams(def, { withOptional, choice }));
        for (const text of [r.subject, r.subjectEn, r.body, r.bodyEn, r.link?.href ?? '']) expect(text).not.toMatch(/[{}]|\[\[|\]\]/);
        expect(r.subject).toMatch(CJK);
        expect(r.body).toMatch(CJK);
        expect(`${r.subjectEn} ${r.bodyEn}`).not.toMatch(CJK);
        expect(r.bodyEn.length).toBeGreaterThan(20);
        expect(r.kind).toBe(def.kind);
        if (def.link) expect(r.link).toEqual({ href: expect.stringMatching(/^\//), text: expect.stringMatching(CJK), textEn: expect.any(String) });
      }
    }
    // A required parameter left out is an error, not a hole in the text.
    for (const name of def.required) {
      const params = sampleParams(def);
      delete params[name];
      expect(() => renderEvent(event, params)).toThrow(new RegExp(`"${name}" is missing|"${name}"`));
    }
  });

  it('words a refusal reason as the official list does, in each language, and rejects a code not on it', () => {
    for (const [code, words] of Object.entries(REFUSAL_REASON_TEXTS)) {
      const r = renderEvent('filing.refused', { title: '合同', contractId: 'c1', reason: code, note: null });
      expect(r.body).toContain(`不予登记理由：${words.zh}。`);
      expect(r.bodyEn).toContain(`reason for refusal: ${words.en}.`);
    }
    expect(() => renderEvent('filing.refused', { title: '合同', contractId: 'c1', reason: '10' })).toThrow(/not a choice/);
    // A note's own full stop is not doubled.
    expect(renderEvent('filing.returned', { title: '合同', contractId: 'c1', note: '请补充盖章页。' }).body).toContain('请补充盖章页。请修改后');
  });
});

describe('to the applicant', () => {
  it('tells a refusal with the official reason and the note, and mails it to the members', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${id}/refuse`).set(auth(reviewerToken)).send({ reasonCode: 6, note: '第七条限制买方改进技术' }).expect(200);
    const n = (await Notification.findOne({ contractId: id, kind: 'refused' }).lean())!;
    expect(n).toMatchObject({ audience: 'organization', organizationId: expect.anything(), subject: '技术合同登记：不予登记', link: { href: `/contracts/${id}` } });
    expect(n.body).toContain('不予登记理由：含有非法垄断技术或限制技术竞争的条款；第七条限制买方改进技术。');
    expect(n.bodyEn).toContain('reason for refusal: Illegal monopoly or restrictive clauses; 第七条限制买方改进技术.');
    expect(await sendNotificationMail(mailer, n._id)).toBe('sent');
    const mail = (await OutboxMail.findById(n._id).lean())!;
    expect(mail.to).toEqual([a.email]);
    expect(mail.text).toContain('含有非法垄断技术或限制技术竞争的条款');
    expect(mail.text).toContain(`${t.config.publicUrl}/contracts/${id}`);
  });

  it('gives a registration the certificate link, and says once when the certificate is ready', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    const { registrationNumber } = (await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewerToken)).send({ note: '材料齐全' }).expect(200)).body;
    const link = `/api/v1/contracts/${id}/certificate.pdf`;
    const n = (await Notification.findOne({ contractId: id, kind: 'registered' }).lean())!;
    expect(n.link).toEqual({ href: link, text: '下载登记证明', textEn: 'Download the certificate' });
    expect(n.body).toContain(`登记编号 ${registrationNumber}；材料齐全。`);
    expect(await sendNotificationMail(mailer, n._id)).toBe('sent');
    expect((await OutboxMail.findById(n._id).lean())!.text).toContain(`下载登记证明：${t.config.publicUrl}${link}`);

    // The certificate worker's job, twice (a retry): one "ready" notice, with the same link, which works.
    await produceCertificate(id, t.config.agency.nameZh, t.config.publicUrl);
    await produceCertificate(id, t.config.agency.nameZh, t.config.publicUrl);
    const ready = await Notification.find({ contractId: id, kind: 'certificate_ready' }).lean();
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({ _id: `contract:${id}:certificate:v1`, link: { href: link } });
    expect(ready[0].body).toContain(registrationNumber);
    await request(t.app).get(link).set(auth(a.token)).expect(200).expect('content-type', /pdf/);
  });

  it('says what version a registered change makes and links its new certificate', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewerToken)).send({}).expect(200);
    const created = await request(t.app).post(`/api/v1/contracts/${id}/changes`).set(auth(a.token)).send({ reason: '补充协议变更标的', fields: { title: `${(await Contract.findById(id).lean())!.title}（变更）` } }).expect(201);
    const rid = created.body.id as string;
    await request(t.app).post(`/api/v1/requests/${rid}/attachments`).set(auth(a.token)).attach('file', await makePdf('Supplementary agreement'), { filename: 'agreement.pdf', contentType: 'application/pdf' }).expect(201);
    await request(t.app).post(`/api/v1/requests/${rid}/submit`).set(auth(a.token)).expect(202);
    expect(await verifyRequest(rid, 1, '630100')).toBe('verified');
    await request(t.app).post(`/api/v1/requests/${rid}/approve`).set(auth(reviewerToken)).send({ note: '补充协议真实有效' }).expect(200);
    const n = (await Notification.findOne({ contractId: id, kind: 'change_registered' }).lean())!;
    expect(n._id).toBe(`request:${rid}:registered:s1`);
    expect(n.body).toContain('现为第 2 版');
    expect(n.bodyEn).toContain('version 2');
    expect(n.link!.href).toBe(`/api/v1/contracts/${id}/certificate.pdf`);
    await produceCertificate(id, t.config.agency.nameZh, t.config.publicUrl);
    expect(await Notification.countDocuments({ _id: `contract:${id}:certificate:v2` })).toBe(1);
  });
});

describe("the reviewers' digest of new filings", () => {
  /** Moves filings' submission into a ten-minute slot long past, so the test owns that slot. */
  const slotEnd = (minutesAfter2020: number) => Date.parse('2020-01-06T02:00:00Z') + minutesAfter2020 * 60_000;
  const submittedIn = async (ids: string[], end: number) => {
    for (const [i, id] of ids.entries()) await Contract.updateOne({ _id: id }, { $set: { submittedAt: new Date(end - 9 * 60_000 + i * 1000) } });
  };

  it('gathers five filings reaching review in a ten-minute slot into ONE notification saying 5, once, and a later slot into another', async () => {
    const a = await verifiedApplicant(t.app);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await inReviewContract(t.app, a.token));
    const end = slotEnd(10);
    await submittedIn(ids, end);
    const deps = { queues: t.queues };
    const after = new Date(end + 2 * 60_000);
    expect(await sendFilingDigests(deps, after)).toBe(1);
    expect(await sendFilingDigests(deps, after)).toBe(0); // once per slot, however often the job runs
    const digest = (await Notification.findById(`digest:filings_received:${end}`).lean())!;
    expect(digest).toMatchObject({ kind: 'filings_received', audience: 'reviewers', organizationId: null, contractId: null, link: { href: '/review' } });
    expect(digest.subject).toBe('新的登记申请：5 件待审查');
    expect(digest.body).toContain('有 5 件新的申请');
    expect(digest.bodyEn).toContain('having passed the automatic checks: 5 (contract filings: 5;');
    // Not before the slot is over (and a minute for verification to finish).
    expect(await sendFilingDigests(deps, new Date(end + 30_000), 1)).toBe(0);

    // Its mail goes to the reviewers only.
    expect(await sendNotificationMail(mailer, digest._id)).toBe('sent');
    const mail = (await OutboxMail.findById(digest._id).lean())!;
    expect(mail.to).toContain(reviewer.email);
    expect(mail.to).not.toContain(admin.email);
    expect(mail.to).not.toContain(a.email);
    expect(mail.subject).toContain('5 件待审查');

    // Two filings in a later slot make a second digest, with its mail job queued.
    const later: string[] = [];
    for (let i = 0; i < 2; i++) later.push(await inReviewContract(t.app, a.token));
    const end2 = slotEnd(30);
    await submittedIn(later, end2);
    expect(await sendFilingDigests(deps, new Date(end2 + 2 * 60_000))).toBe(1);
    const second = (await Notification.findById(`digest:filings_received:${end2}`).lean())!;
    expect(second.subject).toBe('新的登记申请：2 件待审查');
    expect(await t.queues.notifications.getJob(notificationJobId(second._id))).toBeDefined();
    // A draft or a filing still waiting for verification in that slot is not counted.
    const waiting = await readyDraft(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${waiting}/submit`).set(auth(a.token)).expect(202);
    const end3 = slotEnd(50);
    await submittedIn([waiting], end3);
    expect(await sendFilingDigests(deps, new Date(end3 + 2 * 60_000))).toBe(0);
  });
});

describe('decision deadlines', () => {
  const today = cstDate(new Date());
  /** A working day some weeks back (a deadline long past). */
  const pastDay = (() => {
    let d = new Date(Date.now() - 30 * 86_400_000);
    while (!isWorkingDay(cstDate(d))) d = new Date(d.getTime() - 86_400_000);
    return cstDate(d);
  })();

  it('gives reviewers and admins one due-soon notice 3 working days ahead and one overdue notice, however often the watch runs', async () => {
    const a = await verifiedApplicant(t.app);
    const soon = await inReviewContract(t.app, a.token);
    const late = await inReviewContract(t.app, a.token);
    const dueOn = addWorkingDays(today, 3);
    await Contract.updateOne({ _id: soon }, { $set: { decisionDeadline: dueOn } });
    await Contract.updateOne({ _id: late }, { $set: { decisionDeadline: pastDay } });
    for (let i = 0; i < 3; i++) await watchDeadlines(today);

    const soonNotes = await Notification.find({ contractId: soon, kind: { $in: ['deadline_soon', 'deadline_overdue'] } }).lean();
    expect(soonNotes).toHaveLength(1);
    expect(soonNotes[0]).toMatchObject({ kind: 'deadline_soon', audience: 'bureau', organizationId: null, link: { href: `/review/${soon}` } });
    expect(soonNotes[0].body).toContain(`办理期限为 ${dueOn}，还剩 3 个工作日`);
    expect(soonNotes[0].bodyEn).toContain('(working days left: 3)');
    expect(soonNotes[0].subject).toContain(`审查期限将至（${dueOn}）：`);
    const lateNotes = await Notification.find({ contractId: late, kind: { $in: ['deadline_soon', 'deadline_overdue'] } }).lean();
    expect(lateNotes.map((n) => n.kind)).toEqual(['deadline_overdue']);
    expect(lateNotes[0].body).toContain(`办理期限 ${pastDay} 已过`);

    // The deadline passes: the due-soon one becomes overdue, told once too.
    const after = addWorkingDays(dueOn, 1);
    expect(workingDaysBetween(today, after)).toBe(4);
    await watchDeadlines(after);
    await watchDeadlines(after);
    expect((await Notification.find({ contractId: soon }).lean()).filter((n) => n.kind.startsWith('deadline_')).map((n) => n.kind).sort()).toEqual(['deadline_overdue', 'deadline_soon']);

    // Mailed to reviewers and admins, not the applicant.
    expect(await sendNotificationMail(mailer, soonNotes[0]._id)).toBe('sent');
    const mail = (await OutboxMail.findById(soonNotes[0]._id).lean())!;
    expect(mail.to).toEqual(expect.arrayContaining([reviewer.email, admin.email]));
    expect(mail.to).not.toContain(a.email);
    expect(mail.text).toContain(`${t.config.publicUrl}/review/${soon}`);
  });

  it('tells of a change request overdue, linking its review page', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewerToken)).send({}).expect(200);
    const rid = (await request(t.app).post(`/api/v1/contracts/${id}/cancellation`).set(auth(a.token)).send({ reason: '双方协商解除合同' }).expect(201)).body.id as string;
    await RegistrationRequest.updateOne({ _id: rid }, { $set: { status: 'in_review', decisionDeadline: pastDay } });
    await watchDeadlines(today);
    await watchDeadlines(today);
    const notes = await Notification.find({ _id: `request:${rid}:overdue:${pastDay}` }).lean();
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ contractId: expect.anything(), audience: 'bureau', link: { href: `/review/requests/${rid}` } });
    expect(notes[0].body).toContain('注销登记申请');
    expect(notes[0].bodyEn).toContain('cancellation request');
  });
});

describe('who sees what', () => {
  it("shows the bureau's notices on the bureau's page with an unread count, and never an organisation's; applicants never the bureau's", async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${id}/refuse`).set(auth(reviewerToken)).send({ reasonCode: 2, note: '属于设备买卖' }).expect(200);
    const due = await inReviewContract(t.app, a.token);
    await Contract.updateOne({ _id: due }, { $set: { decisionDeadline: addWorkingDays(cstDate(new Date()), 2) } });
    await watchDeadlines();
    // One for admins alone: reviewers do not see it.
    const adminsOnly = `test:admins-only:${id}`;
    await notify(null, { key: adminsOnly, audience: 'admins', organizationId: null, contractId: null, kind: 'test_admins', subject: '仅管理员可见的消息', subjectEn: 'For admins only', body: '管理员', bodyEn: 'admins' });

    const rv = await signedInAgent(t.app, reviewer.email);
    const page = await rv.get('/bureau/notifications').expect(200);
    expect(page.text).toContain('href="/bureau/notifications" aria-current="page"');
    expect(page.text).toContain('还剩 2 个工作日');
    expect(page.text).toContain(`href="/review/${due}"`);
    expect(page.text).toMatch(/\d+ 条未读/);
    expect(page.text).not.toContain('仅管理员可见的消息');
    expect(page.text).not.toContain('属于设备买卖');
    const ad = await signedInAgent(t.app, admin.email);
    const adminPage = await ad.get('/bureau/notifications').expect(200);
    expect(adminPage.text).toContain('仅管理员可见的消息');
    expect(adminPage.text).toContain('还剩 2 个工作日');
    expect(adminPage.text).not.toContain('新的登记申请'); // the reviewers' digest

    // Marked read for this reviewer only.
    await rv.post('/bureau/notifications/read').type('form').send({ _csrf: csrfFrom(page.text) }).expect(303);
    const read = await rv.get('/bureau/notifications').expect(200);
    expect(read.text).not.toMatch(/\d+ 条未读/);
    expect(read.text).not.toContain('badge-submitted');
    expect((await ad.get('/bureau/notifications').expect(200)).text).toMatch(/\d+ 条未读/);

    // The applicant sees their refusal, none of the bureau's, and cannot open the bureau's page; nor the bureau the applicants'.
    const ap = await signedInAgent(t.app, a.email);
    const mine = await ap.get('/notifications').expect(200);
    expect(mine.text).toContain('属于设备买卖');
    expect(mine.text).not.toContain('还剩 2 个工作日');
    expect(mine.text).not.toContain('新的登记申请');
    expect(mine.text).not.toContain('href="/bureau/notifications"');
    await ap.get('/bureau/notifications').expect(403);
    await ap.post('/bureau/notifications/read').type('form').send({ _csrf: csrfFrom(mine.text) }).expect(403);
    await rv.get('/notifications').expect(403);
    await request(t.app).get('/bureau/notifications').expect((r) => expect([302, 303, 401]).toContain(r.status));
    // Marking theirs read leaves the bureau's untouched.
    expect(await Notification.countDocuments({ _id: adminsOnly, readBy: { $size: 0 } })).toBe(1);
  });
});
