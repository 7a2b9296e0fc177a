/**
 * Open data (API.md "Open data"): the year's register as CSV and JSON Lines, the ledger of
 * movements whose sums anyone can check against the published turnover, the public
 * statistics, the pages that explain them, and the live stream of one year only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomInt } from 'node:crypto';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { fenOf } from '../../src/domain/money';
import { Contract } from '../../src/modules/contracts/contract.model';
import { RegistrationRequest } from '../../src/modules/contracts/request.model';
import { Registration } from '../../src/modules/registrations/registration.model';
import { getTally, recordImportedRegistrations, refreshesSettled, refreshYear } from '../../src/modules/turnover/turnover.service';
import { factOf } from '../../src/domain/tally';
import { eventStreamReader } from '../../scripts/sse';
import { registeredContract, registeredIn as registeredInYear, requestInReview as fileRequestInReview } from '../support/registrations';
import { secondApp, startTestApp, testConfig, waitFor, type TestApp } from '../support/harness';
import { bearer, binary, makeBureauUser, readyDraft, reviewerToken, tokenFor, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
let reviewer: string;
let admin: string;
const year = Number(new Intl.DateTimeFormat('en', { timeZone: 'Asia/Shanghai', year: 'numeric' }).format(new Date()));
const lastYear = year - 1;
const auth = bearer;
const deps = () => ({ redis: t.redis, prefix: t.config.queuePrefix, targetFen: t.config.turnoverTargetFen });

/** The register's columns, as API.md names the /public/register item fields (plus status and version). */
const REGISTER_COLUMNS = ['registrationNumber', 'title', 'type', 'subtype', 'sellerName', 'buyerNames', 'contractAmount', 'technicalAmount', 'technicalField', 'registeredAt', 'status', 'version'];

beforeAll(async () => {
  t = await startTestApp();
  reviewer = await reviewerToken(t.app);
  admin = await tokenFor(t.app, (await makeBureauUser('admin')).email);
});
afterAll(async () => {
  await t.close();
});

const registered = (token: string, over: Record<string, unknown> = {}) => registeredContract(t.app, token, reviewer, over);
const requestInReview = (token: string, contractId: string, kind: 'change' | 'cancellation', body: Record<string, unknown>) =>
  fileRequestInReview(t.app, token, contractId, kind, body);
const registeredIn = (year: number, token: string, amount: string) => registeredInYear(t.app, year, token, amount);

/**
 * An earlier registration brought in by an import, as API.md describes it: a registered contract
 * with `source: "import"` and the number it already had, its Registration document, and its
 * ledger entry `registered:<id>` marked `o: "import"`, recorded by the turnover service's
 * recordImportedRegistrations (src/modules/imports had no service of its own yet when this was written).
 */
async function imported(token: string, amount: string): Promise<string> {
  const id = await readyDraft(t.app, token, { contractAmount: amount, technicalAmount: amount, deductions: [] });
  const serial = 900_000 + randomInt(90_000);
  const number = `${year}630100${serial}`;
  const at = new Date(Math.max(Date.parse(`${year}-01-01T00:00:00+08:00`) + 60_000, Date.now() - 3600_000));
  await Contract.updateOne({ _id: id }, { $set: { status: 'registered', source: 'import', registeredAt: at, registrationYear: year, registrationVersion: 1, registrationNumber: number, certificateFileId: null } });
  await Registration.create({ _id: `${year}-${serial}`, year, serial, number, contractId: id, at, source: 'import' });
  const c = (await Contract.findById(id).lean())!;
  await recordImportedRegistrations(year, [{ contractId: id, fact: factOf({ ...c, registeredAt: at }, '630100') }], `open-data-test-${id}`);
  return id;
}

/** The year's figure applied, published and known to this process's stream hub. */
async function published(y: number) {
  await refreshesSettled();
  const payload = await refreshYear(deps(), y);
  await waitFor(async () => (await t.turnover.current(y)).sequence >= payload.sequence, 5_000, 20);
  return (await request(t.app).get(`/api/v1/public/turnover?year=${y}`).expect(200)).body as { contractAmount: string; technicalAmount: string; contracts: number; sequence: number };
}

const numberOf = async (id: string) => (await Contract.findById(id).lean())!.registrationNumber!;

/** RFC 4180 CSV, enough for these files (quoted cells with commas, quotes and newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else if (ch !== '\r') cell += ch;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}

/** Downloads a CSV as bytes: checks the BOM, returns the header and the rows as objects by column name. */
async function download(path: string) {
  const res = await request(t.app).get(path).buffer(true).parse(binary).expect(200);
  const bytes = res.body as Buffer;
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const [header, ...rows] = parseCsv(bytes.subarray(3).toString('utf8'));
  return { res, header, rows: rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]]))) };
}

// ── the register ─────────────────────────────────────────────────────────────────────────

describe('the register as data', () => {
  it('streams the year as CSV (BOM, JSON field names, formulas neutralised) and JSON Lines, with no contact data or ID numbers', async () => {
    const a = await verifiedApplicant(t.app);
    const person = { name: '个人买方赵某', nature: '400', idNumber: '11010519491231002X', regionCode: '630100', contactPerson: '赵某本人', phone: '13912345678', email: 'zhao@person.test', address: '西宁市城西区五四大街 1 号' };
    const id = await registered(a.token, { title: `=1+2 公式开头的合同 ${randomInt(1e6)}`, buyers: [person] });
    const number = await numberOf(id);
    const stored = (await Contract.findById(id).lean())!;

    const { res, header, rows } = await download(`/api/v1/public/register.csv?year=${year}`);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['cache-control']).toBe('public, max-age=60');
    expect(res.headers.etag).toMatch(/^"[\w-]+"$/);
    expect(header).toEqual(REGISTER_COLUMNS);
    const row = rows.find((r) => r.registrationNumber === number)!;
    expect(row).toMatchObject({ title: `'${stored.title}`, sellerName: stored.seller!.name, buyerNames: person.name, type: 'transfer', subtype: 'patent', status: 'registered', version: '1' });
    expect(row.contractAmount).toBe((await request(t.app).get(`/api/v1/contracts/${id}`).set(auth(a.token)).expect(200)).body.contractAmount);

    // Nobody's contact data, ID number or credit code, anywhere in either file.
    const jsonl = await request(t.app).get(`/api/v1/public/register.jsonl?year=${year}`).buffer(true).parse(binary).expect(200);
    expect(jsonl.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    const csvText = (res.body as Buffer).toString('utf8');
    const jsonText = (jsonl.body as Buffer).toString('utf8');
    const secrets = [person.idNumber, person.phone, person.email, person.contactPerson, person.address, stored.seller!.uscc!, stored.seller!.phone!, stored.seller!.email!, stored.seller!.contactPerson!, stored.seller!.legalRepresentative!, stored.contractNumber!];
    for (const s of secrets) {
      expect([s, csvText.includes(s)]).toEqual([s, false]);
      expect([s, jsonText.includes(s)]).toEqual([s, false]);
    }

    // Each JSON line parses, and is the /public/register item with its status and version.
    const lines = jsonText.split('\n');
    expect(lines.pop()).toBe('');
    const items = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(items.length).toBe(rows.length);
    const item = items.find((i) => i.registrationNumber === number)!;
    const api = (await request(t.app).get(`/api/v1/public/register?q=${number}&year=${year}`).expect(200)).body.items[0];
    expect(item).toEqual(api);
    expect(Object.keys(item)).toEqual(REGISTER_COLUMNS);
    expect(item.buyerNames).toEqual([person.name]);
  });

  it('lists cancelled and revoked contracts with their status and version; its ETag answers 304 until a registration, change, cancellation or revocation', async () => {
    const a = await verifiedApplicant(t.app);
    const changed = await registered(a.token, { contractAmount: '80000.00', technicalAmount: '80000.00', deductions: [] });
    const cancelled = await registered(a.token, { contractAmount: '81000.00', technicalAmount: '81000.00', deductions: [] });
    const revoked = await registered(a.token, { contractAmount: '82000.00', technicalAmount: '82000.00', deductions: [] });
    const path = `/api/v1/public/register.jsonl?year=${year}`;
    const etags: string[] = [];
    /** The ETag now; the previous one must be stale, and the new one fresh. */
    const next = async () => {
      await published(year); // the figure moves too, just after the answer: wait for it, so the ETag holds still
      const res = await request(t.app).get(path).expect(200);
      const etag = res.headers.etag as string;
      expect(etags).not.toContain(etag);
      await request(t.app).get(path).set('If-None-Match', etag).expect(304);
      const csv = await request(t.app).get(`/api/v1/public/register.csv?year=${year}`).set('If-None-Match', etag).expect(304);
      expect(csv.headers['cache-control']).toBe('public, max-age=60');
      if (etags.length) await request(t.app).get(path).set('If-None-Match', etags[etags.length - 1]).expect(200);
      etags.push(etag);
      return res.text;
    };
    await next();
    await registered(a.token, { contractAmount: '83000.00', technicalAmount: '83000.00', deductions: [] });
    await next();
    const rid = await requestInReview(a.token, changed, 'change', { reason: '补充协议', fields: { contractAmount: '90000.00', technicalAmount: '90000.00' } });
    await request(t.app).post(`/api/v1/requests/${rid}/approve`).set(auth(reviewer)).send({}).expect(200);
    await next();
    const cid = await requestInReview(a.token, cancelled, 'cancellation', { reason: '合同解除' });
    await request(t.app).post(`/api/v1/requests/${cid}/approve`).set(auth(reviewer)).send({}).expect(200);
    await next();
    await request(t.app).post(`/api/v1/contracts/${revoked}/revoke`).set(auth(admin)).send({ reason: '经查为虚假合同' }).expect(200);
    const text = await next();

    const items = text.trim().split('\n').map((l) => JSON.parse(l) as { registrationNumber: string; status: string; version: number; contractAmount: string });
    const item = async (id: string) => {
      const n = await numberOf(id);
      return items.find((i) => i.registrationNumber === n);
    };
    expect(await item(changed)).toMatchObject({ status: 'registered', version: 2, contractAmount: '90000.00' });
    expect(await item(cancelled)).toMatchObject({ status: 'cancelled', contractAmount: '81000.00' });
    expect(await item(revoked)).toMatchObject({ status: 'revoked', contractAmount: '82000.00' });
  });

  it('refuses a malformed year', async () => {
    await request(t.app).get('/api/v1/public/register.csv?year=abc').expect(422);
    await request(t.app).get('/api/v1/public/ledger.csv?year=1999').expect(422);
    await request(t.app).get('/api/v1/public/stats?year=3000').expect(422);
  });
});

// ── the ledger ───────────────────────────────────────────────────────────────────────────

describe('anyone can rebuild the published total', () => {
  /** Sums the ledger's delta columns for a year and checks them against /public/turnover to the fen. */
  async function rebuilt(y: number) {
    const figure = await published(y);
    const { res, header, rows } = await download(`/api/v1/public/ledger.csv?year=${y}`);
    expect(header).toEqual(['registrationNumber', 'event', 'at', 'contractAmountDelta', 'technicalAmountDelta', 'contractsDelta']);
    expect(res.headers['x-ledger-sequence']).toBe(String(figure.sequence));
    const sum = (k: string) => rows.reduce((s, r) => s + fenOf(r[k]), 0);
    expect({ contractFen: sum('contractAmountDelta'), technicalFen: sum('technicalAmountDelta'), contracts: rows.reduce((s, r) => s + Number(r.contractsDelta), 0) }).toEqual({
      contractFen: fenOf(figure.contractAmount),
      technicalFen: fenOf(figure.technicalAmount),
      contracts: figure.contracts,
    });
    for (const r of rows) {
      expect(['registered', 'imported', 'changed', 'cancelled', 'revoked']).toContain(r.event);
      expect(r.registrationNumber).toMatch(/^\d{16}$/);
      expect(r.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
    }
    return { rows, res, figure };
  }

  it('this year: registrations, a change, a cancellation, a revocation and an import; last year: a registration then revoked', async () => {
    const a = await verifiedApplicant(t.app);
    const up = await registered(a.token, { contractAmount: '100000.00', technicalAmount: '90000.00', deductions: [{ item: 'equipment', amount: '10000.00' }] });
    const gone = await registered(a.token, { contractAmount: '200000.03', technicalAmount: '200000.03', deductions: [] });
    const voided = await registered(a.token, { contractAmount: '300000.00', technicalAmount: '300000.00', deductions: [] });
    const brought = await imported(a.token, '400000.05');
    const old = await registeredIn(lastYear, a.token, '500000.00');
    const kept = await registeredIn(lastYear, a.token, '600000.00');

    const rid = await requestInReview(a.token, up, 'change', { reason: '补充协议增加内容', fields: { contractAmount: '150000.01', technicalAmount: '140000.01' } });
    await request(t.app).post(`/api/v1/requests/${rid}/approve`).set(auth(reviewer)).send({}).expect(200);
    const cid = await requestInReview(a.token, gone, 'cancellation', { reason: '合同解除' });
    await request(t.app).post(`/api/v1/requests/${cid}/approve`).set(auth(reviewer)).send({}).expect(200);
    await request(t.app).post(`/api/v1/contracts/${voided}/revoke`).set(auth(admin)).send({ reason: '经查为虚假合同' }).expect(200);
    await request(t.app).post(`/api/v1/contracts/${old}/revoke`).set(auth(admin)).send({ reason: '重复登记' }).expect(200);

    const now = await rebuilt(year);
    const mine = async (id: string) => {
      const n = await numberOf(id);
      return now.rows.filter((r) => r.registrationNumber === n).map((r) => [r.event, r.contractAmountDelta, r.technicalAmountDelta, r.contractsDelta]);
    };
    expect(await mine(up)).toEqual([['registered', '100000.00', '90000.00', '1'], ['changed', '50000.01', '50000.01', '0']]);
    expect(await mine(gone)).toEqual([['registered', '200000.03', '200000.03', '1'], ['cancelled', '-200000.03', '-200000.03', '-1']]);
    expect(await mine(voided)).toEqual([['registered', '300000.00', '300000.00', '1'], ['revoked', '-300000.00', '-300000.00', '-1']]);
    expect(await mine(brought)).toEqual([['imported', '400000.05', '400000.05', '1']]);
    // The times: the registration's, the change's registration, the revocation's.
    const at = async (id: string, event: string) => {
      const n = await numberOf(id);
      return now.rows.find((r) => r.event === event && r.registrationNumber === n)!.at;
    };
    const c = (await Contract.findById(voided).lean())!;
    const change = (await RegistrationRequest.findById(rid).lean())!;
    expect(Date.parse(await at(voided, 'registered'))).toBe(Math.floor(c.registeredAt!.getTime() / 1000) * 1000);
    expect(Date.parse(await at(voided, 'revoked'))).toBe(Math.floor(c.revokedAt!.getTime() / 1000) * 1000);
    expect(Date.parse(await at(up, 'changed'))).toBe(Math.floor(change.applied!.at!.getTime() / 1000) * 1000);

    // Last year: the revocation takes the amounts out of the year of the registration.
    const before = await rebuilt(lastYear);
    const lastRows = async (id: string) => {
      const n = await numberOf(id);
      return before.rows.filter((r) => r.registrationNumber === n).map((r) => [r.event, r.contractAmountDelta, r.contractsDelta]);
    };
    expect(await lastRows(old)).toEqual([['registered', '500000.00', '1'], ['revoked', '-500000.00', '-1']]);
    expect(await lastRows(kept)).toEqual([['registered', '600000.00', '1']]);
    expect(now.rows.some((r) => r.registrationNumber === before.rows[0].registrationNumber)).toBe(false);

    // Entries never change: the ledger's ETag is its year and sequence, and answers 304.
    await request(t.app).get(`/api/v1/public/ledger.csv?year=${year}`).set('If-None-Match', now.res.headers.etag as string).expect(304);
    await registered(a.token, { contractAmount: '10.00', technicalAmount: '10.00', deductions: [] });
    const after = await rebuilt(year);
    expect(after.res.headers.etag).not.toBe(now.res.headers.etag);
    expect(after.rows.length).toBe(now.rows.length + 1);
  });
});

// ── statistics ───────────────────────────────────────────────────────────────────────────

describe('the public statistics', () => {
  it('gives the tally\'s breakdowns as strings, and the pages show them', async () => {
    const a = await verifiedApplicant(t.app);
    await registered(a.token, { contractAmount: '12345678.91', technicalAmount: '12345678.91', deductions: [], type: 'development', subtype: 'commissioned', technicalField: 'agriculture', ipType: 'technical_secret', priorityArea: 'modern_agriculture' });
    await published(year);
    const { tally, sequence } = await getTally(year);
    const s = (await request(t.app).get(`/api/v1/public/stats?year=${year}`).expect(200)).body;
    const yuan = (fen: number) => `${Math.trunc(fen / 100)}.${String(Math.abs(fen) % 100).padStart(2, '0')}`;
    const amounts = (x: { count: number; contractFen: number; technicalFen: number }) => ({ contracts: x.count, contractAmount: yuan(x.contractFen), technicalAmount: yuan(x.technicalFen) });
    expect(s).toMatchObject({ year, sequence, sellerSide: amounts(tally.totals), buyerSide: amounts(tally.buyerSide), largeContracts: amounts(tally.large) });
    const dims: [string, keyof typeof tally.by][] = [['byType', 'type'], ['byField', 'field'], ['byNature', 'nature'], ['byIpType', 'ipType'], ['byPriorityArea', 'priorityArea'], ['byPlanSource', 'planSource']];
    for (const [name, d] of dims) {
      const expected = Object.entries(tally.by[d]).filter(([, v]) => v.count !== 0 || v.contractFen !== 0);
      expect([name, (s[name] as { code: string }[]).map((r) => r.code).sort()]).toEqual([name, expected.map(([k]) => k).sort()]);
      for (const r of s[name] as { code: string }[]) expect(r).toEqual({ code: r.code, ...amounts(tally.by[d][r.code]) });
    }
    expect(s.byMonth).toHaveLength(12);
    for (const m of s.byMonth as { month: string }[]) expect(m).toEqual({ month: m.month, ...amounts(tally.by.month[m.month] ?? { count: 0, contractFen: 0, technicalFen: 0 }) });
    // The seller side is the published figure.
    const turnover = (await request(t.app).get(`/api/v1/public/turnover?year=${year}`).expect(200)).body;
    expect([s.sellerSide.contractAmount, s.sellerSide.technicalAmount, s.sellerSide.contracts]).toEqual([turnover.contractAmount, turnover.technicalAmount, turnover.contracts]);
    const etag = (await request(t.app).get(`/api/v1/public/stats?year=${year}`).expect(200)).headers.etag as string;
    await request(t.app).get(`/api/v1/public/stats?year=${year}`).set('If-None-Match', etag).expect(304);

    // The page: the same figures, the charts' data in a JSON block, no inline script.
    const page = await request(t.app).get(`/statistics?year=${year}`).expect(200);
    const grouped = (fen: number) => yuan(fen).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    expect(page.text).toContain(grouped(tally.by.type.development.contractFen));
    expect(page.text).toContain('id="stats-data"');
    expect(page.text).toContain('href="/api/v1/public/stats?year=');
    expect(page.text.match(/<script(?![^>]*(src=|type="application\/json"))[^>]*>/g)).toBeNull();
    const home = await request(t.app).get('/').expect(200);
    expect(home.text).toContain('href="/statistics"');
  });

  it('explains the files on /open-data, with the licence the bureau sets, in either language; the footer and the register link to it', async () => {
    const page = await request(t.app).get(`/open-data?year=${lastYear}`).expect(200);
    for (const href of [`/api/v1/public/register.csv?year=${lastYear}`, `/api/v1/public/register.jsonl?year=${lastYear}`, `/api/v1/public/ledger.csv?year=${lastYear}`, `/api/v1/public/stats?year=${lastYear}`, `/api/v1/public/turnover?year=${lastYear}`]) {
      expect(page.text).toContain(`href="${href}"`);
    }
    for (const col of [...REGISTER_COLUMNS, 'contractAmountDelta', 'technicalAmountDelta', 'contractsDelta', 'lithium_battery', 'invention_patent', 'imported', '150']) expect(page.text).toContain(`<code>${col}</code>`);
    expect(page.text).toContain('CC BY 4.0');
    expect(page.text).toContain('href="https://creativecommons.org/licenses/by/4.0/legalcode.zh-hans"');
    expect(page.text).toContain('<a href="/open-data">开放数据接口</a>');
    expect((await request(t.app).get('/register').expect(200)).text).toContain('href="/open-data"');

    // In English: no Chinese but the language switch ("中文") and the logo glyph, on either page.
    const english = request.agent(t.app);
    await english.get('/lang/en?next=/').expect(303);
    for (const path of ['/open-data', `/statistics?year=${year}`]) {
      const html = (await english.get(path).expect(200)).text;
      expect(html).toContain('<html lang="en">');
      const text = html.replace(/<a class="lang-switch"[^>]*>中文<\/a>/, '').replace(/<span class="brand-mark" aria-hidden="true">技<\/span>/, '');
      expect([path, [...text.matchAll(/[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+/g)].map((m) => text.slice(Math.max(0, m.index - 40), m.index + m[0].length + 10))]).toEqual([path, []]);
    }

    const config = testConfig({ OPEN_DATA_LICENCE_ZH: '本数据依《政府数据开放管理办法》开放，使用时请注明来源。', OPEN_DATA_LICENCE_EN: 'Open under the city\'s open data rules; name the source.' });
    const other = await secondApp(t, { openDataLicence: config.openDataLicence });
    try {
      expect((await request(other.app).get('/open-data').expect(200)).text).toContain('本数据依《政府数据开放管理办法》开放');
    } finally {
      await other.close();
    }
    expect(() => loadConfig({ MONGODB_URI: 'mongodb://x/y', REDIS_URL: 'redis://x', SESSION_SECRET: 'x'.repeat(32), OPEN_DATA_LICENCE_EN: 'x'.repeat(2001) })).toThrow(/OPEN_DATA_LICENCE_EN/);
  });
});

// ── the live stream of one year ──────────────────────────────────────────────────────────

describe('the live stream', () => {
  it('sends a year\'s stream only that year\'s figures', async () => {
    const server = t.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    const streams: http.ClientRequest[] = [];
    const open = (y: number) => {
      const events: { year: number; contracts: number }[] = [];
      const req = http.get({ host: '127.0.0.1', port, path: `/api/v1/public/turnover/stream?year=${y}`, agent: false }, (res) => {
        const read = eventStreamReader((name, data) => name === 'turnover' && events.push(data as { year: number; contracts: number }));
        res.on('data', read);
        res.on('error', () => undefined);
      });
      req.on('error', () => undefined);
      streams.push(req);
      return events;
    };
    try {
      await refreshesSettled(); // no refresh of an earlier test lands in the middle
      await published(year);
      await published(lastYear);
      const thisYears = open(year);
      const lastYears = open(lastYear);
      // The figure at connection first (a keep-alive or a repeat of it may follow).
      await waitFor(() => thisYears.length >= 1 && lastYears.length >= 1, 5_000, 20);
      expect([thisYears[0].year, lastYears[0].year]).toEqual([year, lastYear]);

      const a = await verifiedApplicant(t.app);
      await registered(a.token, { contractAmount: '7000.00', technicalAmount: '7000.00', deductions: [] });
      await waitFor(() => thisYears.some((e) => e.contracts === thisYears[0].contracts + 1), 5_000, 20);
      await registeredIn(lastYear, a.token, '8000.00');
      await published(lastYear);
      await waitFor(() => lastYears.some((e) => e.contracts === lastYears[0].contracts + 1), 5_000, 20);
      await new Promise((r) => setTimeout(r, 300)); // anything misrouted would have arrived by now
      expect(thisYears.every((e) => e.year === year)).toBe(true);
      expect(lastYears.every((e) => e.year === lastYear)).toBe(true);
      // This year's registration never reached last year's stream, nor last year's this year's.
      expect(lastYears.filter((e) => e.contracts !== lastYears[0].contracts).map((e) => e.contracts)).toEqual([lastYears[0].contracts + 1]);
      expect(new Set(thisYears.map((e) => e.contracts)).size).toBe(2);
    } finally {
      for (const s of streams) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
