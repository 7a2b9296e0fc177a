/** Exact tallies, the live stream, the public register and the bureau's statistics. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import ExcelJS from 'exceljs';
import request from 'supertest';
import { Types } from 'mongoose';
import { addInPlace, decodeFact, emptyTally, encodeFact, factOf, type YearTally } from '../../src/domain/tally';
import { cstYear } from '../../src/domain/time';
import { Contract } from '../../src/modules/contracts/contract.model';
import { FactSums } from '../../src/modules/turnover/reconcile';
import { TallyEntry, YearTallyDoc } from '../../src/modules/turnover/turnover.model';
import { applyPending, getTally, publishTurnover, reconcile, recordTallyEvent, refreshesSettled, tallyId, turnoverChannel, turnoverKey, turnoverPayload } from '../../src/modules/turnover/turnover.service';
import { numberRegistration } from '../../src/modules/registrations/registration-numbers';
import { startTestApp, waitFor, type TestApp } from '../support/harness';
import { binary, csrfFrom, inReviewContract, makeBureauUser, signedInAgent, tokenFor, verifiedApplicant } from '../support/fixtures';
import { eventStreamReader } from '../../scripts/sse';

let t: TestApp;
let reviewer: string;
let admin: string;
const year = cstYear(new Date());
const deps = () => ({ redis: t.redis, prefix: t.config.queuePrefix, targetFen: t.config.turnoverTargetFen, agencyCode: '630100' });
const fen = (s: string) => Math.round(Number(s) * 100);

beforeAll(async () => {
  t = await startTestApp();
  reviewer = await tokenFor(t.app, (await makeBureauUser('reviewer')).email);
  admin = await tokenFor(t.app, (await makeBureauUser('admin')).email);
});
afterAll(async () => {
  await t.close();
});

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
const turnover = async () => (await request(t.app).get('/api/v1/public/turnover').expect(200)).body;

describe('exact tallies', () => {
  it('moves the public figure by exactly the amounts of each registration and revocation', async () => {
    const a = await verifiedApplicant(t.app);
    const before = await turnover();
    const id = await inReviewContract(t.app, a.token, { contractAmount: '1234567.89', technicalAmount: '1000000.01', deductions: [{ item: 'parts', amount: '234567.88' }] });
    await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}).expect(200);
    // The figure is refreshed beside the approval's answer: it moves moments later.
    await waitFor(async () => (await turnover()).contracts !== before.contracts, 3000, 20);
    const after = await turnover();
    expect(after.year).toBe(year);
    expect(fen(after.contractAmount) - fen(before.contractAmount)).toBe(123456789);
    expect(fen(after.technicalAmount) - fen(before.technicalAmount)).toBe(100000001);
    expect(after.contracts - before.contracts).toBe(1);
    expect(after.target).toBe('1000000000.00');
    expect(after.progress).toBeCloseTo(fen(after.contractAmount) / 100_000_000_000, 6);
    await request(t.app).post(`/api/v1/contracts/${id}/revoke`).set(auth(admin)).send({ reason: '经查为重复登记' }).expect(200);
    await waitFor(async () => (await turnover()).contracts === before.contracts, 3000, 20);
    const revoked = await turnover();
    expect(revoked.contractAmount).toBe(before.contractAmount);
    expect(revoked.technicalAmount).toBe(before.technicalAmount);
    expect(revoked.contracts).toBe(before.contracts);
    // The tally is moved by $inc: a category emptied by the revocation is not shown as zero.
    expect(revoked.byType).toEqual(before.byType);
    expect(revoked.byField).toEqual(before.byField);
  });

  it('keeps the tally exact under 20 concurrent approvals', async () => {
    const a = await verifiedApplicant(t.app);
    const before = await turnover();
    const amounts = Array.from({ length: 20 }, (_, i) => 100_00 * (i + 1) + i); // fen
    const ids: string[] = [];
    for (const [i, f] of amounts.entries()) {
      ids.push(await inReviewContract(t.app, a.token, { title: `并发统计第${i}号`, contractAmount: (f / 100).toFixed(2), technicalAmount: (f / 100).toFixed(2), deductions: [] }));
    }
    await Promise.all(ids.map((id) => request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}).expect(200)));
    await waitFor(async () => (await turnover()).contracts - before.contracts >= 20, 3000, 20);
    const after = await turnover();
    expect(fen(after.contractAmount) - fen(before.contractAmount)).toBe(amounts.reduce((x, y) => x + y, 0));
    expect(after.contracts - before.contracts).toBe(20);
  });

  it('counts a contract registered at 2026-12-31T16:30Z in 2027', async () => {
    const c = await Contract.create({
      organizationId: new Types.ObjectId(), createdBy: new Types.ObjectId(), status: 'registered', title: '跨年登记', type: 'service',
      contractAmountFen: 777_00, technicalAmountFen: 700_00, registeredAt: new Date('2026-12-31T16:30:00Z'), registrationYear: 2027,
    });
    // Registered as the decision path does it: a number in its CST year, then the ledger entry.
    expect(await numberRegistration(c.toObject(), '630100')).toMatch(/^2027630100\d{6}$/);
    const before2026 = (await getTally(2026)).tally.totals.contractFen;
    expect(await recordTallyEvent('registered', c.toObject(), '630100')).toEqual([2027]);
    await applyPending(2027);
    const t2027 = (await getTally(2027)).tally;
    expect(t2027.totals).toMatchObject({ count: 1, contractFen: 777_00, technicalFen: 700_00 });
    expect(t2027.by.month['01']).toMatchObject({ count: 1 });
    expect((await getTally(2026)).tally.totals.contractFen).toBe(before2026);
  });

  it('changes nothing when a tally job or an event runs twice', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}).expect(200);
    await refreshesSettled(); // the approval's own refresh, beside its answer
    const doc = await Contract.findById(id).lean();
    const stored = await YearTallyDoc.findById(tallyId(year)).lean();
    await recordTallyEvent('registered', doc!, '630100');
    expect(await applyPending(year)).toMatchObject({ applied: 0 });
    const again = await Promise.all([applyPending(year), applyPending(year)]);
    expect(again.map((r) => r.applied)).toEqual([0, 0]);
    expect((await YearTallyDoc.findById(tallyId(year)).lean())!.tally).toEqual(stored!.tally);
    expect(await TallyEntry.countDocuments({ e: `registered:${id}` })).toBe(1);
  });

  it('restores a corrupted tally by reconciliation and reports the difference; adds a missing ledger entry', async () => {
    const a = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}).expect(200);
    const good = (await YearTallyDoc.findById(tallyId(year)).lean())!;
    // Damage the stored figure, and lose one ledger entry (as a crash between decision and entry would).
    await YearTallyDoc.updateOne({ _id: tallyId(year) }, { $set: { 'tally.totals.contractFen': good.tally.totals.contractFen + 12345 } });
    const other = await inReviewContract(t.app, a.token);
    await request(t.app).post(`/api/v1/contracts/${other}/approve`).set(auth(reviewer)).send({}).expect(200);
    await TallyEntry.deleteOne({ e: `registered:${other}` });
    const run = await reconcile(deps(), 'test');
    expect(run.corrected.find((c) => c.year === year)?.differences.join(' ')).toContain('totals.contractFen');
    expect(run.unresolved).toEqual([]);
    expect(run.missingEntries).toBe(1);
    const expected = await Contract.find({ status: 'registered', registrationYear: year }).lean();
    const sum = expected.reduce((x, c) => x + (c.contractAmountFen ?? 0), 0);
    expect((await getTally(year)).tally.totals.contractFen).toBe(sum);
    expect((await turnover()).contractAmount).toBe((sum / 100).toFixed(2));
    // A second run finds nothing to correct.
    const second = await reconcile(deps(), 'test');
    expect(second.corrected).toEqual([]);
    expect(second.missingEntries).toBe(0);
  });
});

describe('reconciliation sums', () => {
  it('sum facts grouped but for their amounts exactly as adding them one by one does', () => {
    // Registrations, revocations, changes (a fact in, the earlier one out) and cancellations over two
    // years, with imports (buyer side only), large contracts, amounts near the double's exact range,
    // and keys that go back to zero (dropped, as addInPlace drops them).
    let seed = 7;
    const rand = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * n);
    const fact = (y: number) =>
      factOf(
        {
          registeredAt: new Date(Date.UTC(y, rand(12), 1 + rand(27), 3)),
          contractAmountFen: rand(4) === 0 ? 2_000_000_000_00 + rand(1000) : 1 + rand(50_000_000),
          technicalAmountFen: rand(10_000_000),
          type: ['transfer', 'development', 'service'][rand(3)],
          technicalField: ['new_energy', 'biomedicine'][rand(2)],
          seller: { nature: ['150', '110'][rand(2)] },
          ipType: 'none',
          planSource: 'none',
          buyers: [{ regionCode: rand(2) ? '630100' : '110108' }],
          direction: rand(5) === 0 ? 'import' : 'domestic',
        },
        '630100',
      );
    const entries: { s: 1 | -1; f: string; g?: string }[] = [];
    for (let i = 0; i < 3000; i++) {
      const y = 2025 + rand(2);
      const f = encodeFact(fact(y));
      entries.push({ s: 1, f });
      if (rand(4) === 0) entries.push({ s: -1, f }); // revoked or cancelled
      if (rand(6) === 0) entries.push({ s: 1, f: encodeFact(fact(y)), g: f }); // changed
    }
    // Two groups that meet in one breakdown key (the type) and cancel out there: the key goes.
    const x = fact(2026);
    entries.push({ s: 1, f: encodeFact({ ...x, keys: { ...x.keys, type: 'licensing', field: 'agriculture' } }) });
    entries.push({ s: -1, f: encodeFact({ ...x, keys: { ...x.keys, type: 'licensing', field: 'new_materials' } }) });
    const sums = new FactSums();
    const oneByOne = new Map<number, YearTally>();
    const all = emptyTally(2026);
    for (const e of entries) {
      sums.addEntry(e.s, e.f, e.g);
      const f = decodeFact(e.f);
      const t = oneByOne.get(f.year) ?? oneByOne.set(f.year, emptyTally(f.year)).get(f.year)!;
      addInPlace(t, f, e.s);
      addInPlace(all, f, e.s);
      if (e.g) {
        addInPlace(t, decodeFact(e.g), e.s === 1 ? -1 : 1);
        addInPlace(all, decodeFact(e.g), e.s === 1 ? -1 : 1);
      }
    }
    expect(sums.toTallies()).toEqual(oneByOne);
    expect(sums.toTally(2026)).toEqual(all); // everything into one year, as a year's ledger entries are applied
    expect(oneByOne.get(2026)!.buyerSide.count).toBeGreaterThan(0);
    expect(oneByOne.get(2026)!.by.type.licensing).toBeUndefined();
    expect(() => new FactSums().addEntry(1, 'not|a|fact')).toThrow(/not a tally fact/);
  });
});

describe('the live stream', () => {
  it('never goes back to an older figure when two refreshes announce out of order', async () => {
    const year = 2031;
    const { tally, updatedAt } = await getTally(year);
    const newer = turnoverPayload({ ...tally, totals: { ...tally.totals, count: 7 } }, t.config.turnoverTargetFen, updatedAt, 12);
    const older = turnoverPayload({ ...tally, totals: { ...tally.totals, count: 6 } }, t.config.turnoverTargetFen, updatedAt, 11);
    expect(await publishTurnover(t.redis, t.config.queuePrefix, newer)).toBe(true);
    expect(await publishTurnover(t.redis, t.config.queuePrefix, older)).toBe(false);
    // An equal sequence goes out: a reconciliation's correction of the same entries.
    const corrected = { ...newer, contracts: 8 };
    expect(await publishTurnover(t.redis, t.config.queuePrefix, corrected)).toBe(true);
    await waitFor(async () => (await t.turnover.current(year)).contracts === 8, 2000, 10);
    // The stream hub drops a stale announcement that reaches it anyway.
    await t.redis.publish(turnoverChannel(t.config.queuePrefix), JSON.stringify(older));
    await new Promise((r) => setTimeout(r, 100));
    expect((await t.turnover.current(year)).contracts).toBe(8);
    expect(JSON.parse((await t.redis.get(turnoverKey(t.config.queuePrefix, year)))!).sequence).toBe(12);
  });

  it('sends the figure at once and again after an approval', async () => {
    const server = t.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    const events: { contracts: number }[] = [];
    const req = http.get({ host: '127.0.0.1', port, path: '/api/v1/public/turnover/stream' }, (res) => {
      expect(res.headers['content-type']).toMatch(/text\/event-stream/);
      res.on('data', eventStreamReader((name, data) => name === 'turnover' && events.push(data as { contracts: number })));
    });
    try {
      await waitFor(() => events.length === 1, 5_000);
      const a = await verifiedApplicant(t.app);
      const id = await inReviewContract(t.app, a.token);
      const approvedAt = Date.now();
      await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(auth(reviewer)).send({}).expect(200);
      await waitFor(() => events.length >= 2, 5_000, 10);
      expect(Date.now() - approvedAt).toBeLessThan(5_000);
      expect(events.at(-1)!.contracts).toBe(events[0].contracts + 1);
    } finally {
      req.destroy();
      await t.turnover.close();
      await new Promise((r) => server.close(r));
      await t.turnover.start();
    }
  });
});

describe('public pages and API', () => {
  it('serves the homepage from memory, readable without JavaScript, with cache headers on the API', async () => {
    const home = await request(t.app).get('/').expect(200);
    expect(home.text).toContain('全市技术合同成交额');
    expect(home.text).toMatch(/<progress class="bar" max="100" value="[\d.]+"/);
    expect(home.text).toContain('1,000,000,000.00');
    const api = await request(t.app).get('/api/v1/public/turnover').expect(200);
    expect(api.headers['cache-control']).toBe('public, max-age=5');
    expect(api.headers.etag).toBeTruthy();
    await request(t.app).get('/api/v1/public/turnover').set('If-None-Match', api.headers.etag).expect(304);
    await request(t.app).get('/api/v1/public/turnover?year=abc').expect(422);
    await request(t.app).get('/static/vendor/chart.umd.min.js').expect(200).expect('Content-Type', /javascript/);
  });

  it('lists registered contracts only, searchable, with no contact data', async () => {
    const a = await verifiedApplicant(t.app);
    const registered = await inReviewContract(t.app, a.token, { title: '公开登记簿可见的雪豹监测技术服务合同' });
    await request(t.app).post(`/api/v1/contracts/${registered}/approve`).set(auth(reviewer)).send({}).expect(200);
    await inReviewContract(t.app, a.token, { title: '审核中的雪豹保护合同' });
    const res = await request(t.app).get('/api/v1/public/register?q=雪豹').expect(200);
    expect(res.body.total).toBe(1);
    expect(res.body.items[0]).toMatchObject({ title: '公开登记簿可见的雪豹监测技术服务合同', registrationNumber: expect.stringMatching(/^\d{16}$/), contractAmount: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toMatch(/phone|email|contactPerson|legalRepresentative|address|uscc/);
    expect(res.headers['cache-control']).toBe('public, max-age=30');
    expect((await request(t.app).get(`/api/v1/public/register?year=${year + 5}`).expect(200)).body.total).toBe(0);
    const page = await request(t.app).get('/register?q=雪豹').expect(200);
    expect(page.text).toContain('公开登记簿可见的雪豹监测技术服务合同');
    expect(page.text).not.toContain('审核中的雪豹保护合同');
    await request(t.app).get('/api/v1/public/register?type=sale').expect(422);
  });
});

describe('statistics for the bureau', () => {
  it('shows the tables and exports them as Excel and CSV with Chinese headers', async () => {
    const agent = await signedInAgent(t.app, (await makeBureauUser('reviewer')).email);
    const page = await agent.get('/stats').expect(200);
    for (const title of ['按合同类别', '按技术领域', '按卖方单位性质', '按知识产权类型', '按全市重点领域', '按月份', '吸纳（买方在本市）', '重大合同']) expect(page.text).toContain(title);
    const csv = await agent.get(`/stats/export.csv?year=${year}&table=type`).expect(200);
    expect(csv.text.replace(/^\uFEFF/, '').split('\n')[0]).toBe('类别,合同数,成交额（元）,技术交易额（元）,上年成交额（元）,同比（%）');
    const xlsx = await agent.get(`/stats/register.xlsx?year=${year}`).buffer(true).parse(binary).expect(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx.body as unknown as Parameters<typeof wb.xlsx.load>[0]);
    const sheet = wb.worksheets[0];
    // A title row, the header, a row per registration, a totals row (test/integration/lists-and-exports.test.ts checks them).
    expect(sheet.getRow(2).getCell(1).value).toBe('登记编号');
    const registeredCount = await Contract.countDocuments({ registrationYear: year, status: { $in: ['registered', 'revoked'] } });
    expect(sheet.rowCount).toBe(registeredCount + 3);
    await agent.get('/stats/export.pdf').expect(404);
    await agent.get('/stats/export.csv?table=bogus').expect(422);
  });

  it('lets an admin queue a reconciliation; reviewers cannot', async () => {
    const reviewerAgent = await signedInAgent(t.app, (await makeBureauUser('reviewer')).email);
    const page = await reviewerAgent.get('/stats');
    await reviewerAgent.post('/stats/reconcile').type('form').send({ _csrf: csrfFrom(page.text) }).expect(403);
    const adminAgent = await signedInAgent(t.app, (await makeBureauUser('admin')).email);
    const ap = await adminAgent.get('/stats');
    await adminAgent.post('/stats/reconcile').type('form').send({ _csrf: csrfFrom(ap.text) }).expect(303);
    const jobs = await t.queues.turnover.getJobs(['waiting', 'delayed']);
    expect(jobs.some((j) => j.name === 'reconcile' && j.data.trigger === 'admin')).toBe(true);
  });
});
