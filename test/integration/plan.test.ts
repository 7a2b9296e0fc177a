/**
 * The plan dashboard (API.md "The city plan's indicators"): the six indicators with their
 * targets as data (the 14th Five-Year Plan seeded, carried forward to later years), the live
 * turnover from the tally, the values the bureau enters (audited, with their history, safe when
 * two admins save at once), the priority areas, the Excel export and the pages in both languages.
 */
import ExcelJS from 'exceljs';
import request from 'supertest';
import { formatYuan } from '../../src/domain/money';
import { AuditEntry } from '../../src/modules/audit/audit.model';
import { IndicatorValue, PlanTarget } from '../../src/modules/plan/plan.model';
import { getTally, refreshesSettled } from '../../src/modules/turnover/turnover.service';
import { registeredContract } from '../support/registrations';
import { startTestApp, type TestApp } from '../support/harness';
import { bearer, binary, csrfFrom, makeBureauUser, reviewerToken, signedInAgent, tokenFor, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
let reviewer: string;
let admin: string;
let admin2: string;
let adminEmail: string;
let applicant: { token: string };
const year = Number(new Intl.DateTimeFormat('en', { timeZone: 'Asia/Shanghai', year: 'numeric' }).format(new Date()));
const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
const KEYS = ['rd_intensity', 'enterprises_with_rd_share', 'enterprise_rd_share', 'invention_patents_per_10k', 'rd_personnel_per_10k', 'contract_turnover'];

beforeAll(async () => {
  t = await startTestApp();
  reviewer = await reviewerToken(t.app);
  adminEmail = (await makeBureauUser('admin')).email;
  admin = await tokenFor(t.app, adminEmail);
  admin2 = await tokenFor(t.app, (await makeBureauUser('admin')).email);
  applicant = await verifiedApplicant(t.app);
});
afterAll(async () => {
  await t.close();
});

interface Indicator {
  key: string;
  label: string;
  unit: string;
  target: number | string | null;
  comparison: string | null;
  value: number | string | null;
  source: string | null;
  asOf: string | null;
  met: boolean | null;
  trend: { year: number; value: number | string | null; target: number | string | null }[];
}
interface Payload {
  year: number;
  plan: string | null;
  targetsFrom: number | null;
  carried: boolean;
  indicators: Indicator[];
  priorityAreas: { contracts: number; contractAmount: string; items: { code: string; label: string; contracts: number; contractAmount: string; share: number | null; contractsShare: number | null }[] };
}

const indicators = async (y = year, lang?: string): Promise<Payload> => {
  let req = request(t.app).get(`/api/v1/public/indicators?year=${y}`);
  if (lang) req = req.set('Accept-Language', lang);
  return (await req.expect(200)).body as Payload;
};
const indicator = async (key: string, y = year) => (await indicators(y)).indicators.find((i) => i.key === key)!;
const put = (token: string, key: string, body: unknown, y: number | string = year) => request(t.app).put(`/api/v1/indicators/${y}/${key}`).set(bearer(token)).send(body as object);
const fen = (s: string) => Math.round(Number(s) * 100);

describe('the indicators of a year', () => {
  it('lists the six keys with the 14th Five-Year Plan targets, seeded for 2021–2025 and carried forward to later years', async () => {
    const p = await indicators();
    expect(p.year).toBe(year);
    expect(p.indicators.map((i) => i.key)).toEqual(KEYS);
    for (const i of p.indicators) expect(Object.keys(i)).toEqual(expect.arrayContaining(['key', 'label', 'unit', 'target', 'value', 'source', 'asOf', 'met']));
    // This year has no targets of its own: those of 2025 apply (the year is after the plan).
    expect(p).toMatchObject({ plan: '十四五', targetsFrom: 2025, carried: true });
    const byKey = Object.fromEntries(p.indicators.map((i) => [i.key, i]));
    expect(byKey.rd_intensity).toMatchObject({ target: 1.5, comparison: 'gt', unit: 'percent', value: null, source: null, asOf: null, met: null });
    expect(byKey.enterprises_with_rd_share).toMatchObject({ target: 20, comparison: 'gt' });
    expect(byKey.enterprise_rd_share).toMatchObject({ target: 75, comparison: 'gt' });
    expect(byKey.invention_patents_per_10k).toMatchObject({ target: 7, comparison: 'gte' });
    expect(byKey.rd_personnel_per_10k).toMatchObject({ target: 35, comparison: 'gte' });
    expect(byKey.contract_turnover).toMatchObject({ target: '1000000000.00', comparison: 'gt', unit: 'yuan' });
    expect(typeof byKey.contract_turnover.value).toBe('string');
    // The seed is data: 30 rows, and 2023 reads its own.
    expect(await PlanTarget.countDocuments({ year: { $gte: 2021, $lte: 2025 }, plan: '十四五' })).toBe(30);
    expect(await indicators(2023)).toMatchObject({ year: 2023, plan: '十四五', targetsFrom: 2023, carried: false });
    // Before any plan: no targets, nothing met.
    const early = await indicators(2015);
    expect(early).toMatchObject({ plan: null, targetsFrom: null });
    expect(early.indicators.every((i) => i.target === null && i.met === null)).toBe(true);
  });

  it('takes contract_turnover live from the year tally', async () => {
    await registeredContract(t.app, applicant.token, reviewer, { contractAmount: '3000000.00', technicalAmount: '3000000.00', deductions: [] });
    await refreshesSettled();
    const { tally } = await getTally(year);
    expect(tally.totals.contractFen).toBeGreaterThanOrEqual(300_000_000);
    const turnover = await indicator('contract_turnover');
    expect(turnover.value).toBe(formatYuan(tally.totals.contractFen));
    expect(turnover.met).toBe(tally.totals.contractFen > 100_000_000_000);
    expect(turnover.trend.at(-1)).toMatchObject({ year, value: formatYuan(tally.totals.contractFen), target: '1000000000.00' });
    // And it moves with the next registration.
    await registeredContract(t.app, applicant.token, reviewer, { contractAmount: '1250000.50', technicalAmount: '1250000.50', deductions: [] });
    await refreshesSettled();
    expect(fen((await indicator('contract_turnover')).value as string)).toBe(tally.totals.contractFen + 125_000_050);
  });

  it('rejects a year that is not one', async () => {
    const res = await request(t.app).get('/api/v1/public/indicators?year=abc').expect(422);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });
});

describe('entering a value', () => {
  it('shows an admin PUT in the GET, audits it and keeps the history across changes', async () => {
    const first = await put(admin, 'rd_intensity', { value: 1.42, source: '2026 年统计公报（快报）', asOf: today }).expect(200);
    expect(first.body).toMatchObject({ key: 'rd_intensity', value: 1.42, source: '2026 年统计公报（快报）', asOf: today, met: false });
    expect(await indicator('rd_intensity')).toMatchObject({ value: 1.42, source: '2026 年统计公报（快报）', asOf: today, met: false, target: 1.5 });

    const second = await put(admin, 'rd_intensity', { value: '1.61', source: '2026 年统计公报', asOf: today }).expect(200);
    expect(second.body).toMatchObject({ value: 1.61, met: true });
    expect((await indicator('rd_intensity')).met).toBe(true);

    // The history: who, when, old → new, with the sources.
    const hist = await request(t.app).get(`/api/v1/indicators/${year}/rd_intensity`).set(bearer(admin)).expect(200);
    expect(hist.body.history).toHaveLength(2);
    expect(hist.body.history[0]).toMatchObject({ actorEmail: adminEmail, old: null, new: { value: 1.42, source: '2026 年统计公报（快报）', asOf: today } });
    expect(hist.body.history[1]).toMatchObject({ actorEmail: adminEmail, old: { value: 1.42 }, new: { value: 1.61, source: '2026 年统计公报' } });
    expect(hist.body.history[1].at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);

    // Each change is in the audit log with old and new.
    const audit = await AuditEntry.find({ action: 'plan.indicator_set', targetId: `${year}/rd_intensity` }).sort({ at: 1 }).lean();
    expect(audit.map((a) => a.details)).toEqual([
      { year, key: 'rd_intensity', old: null, new: { value: '1.42', source: '2026 年统计公报（快报）', asOf: today } },
      { year, key: 'rd_intensity', old: { value: '1.42', source: '2026 年统计公报（快报）', asOf: today }, new: { value: '1.61', source: '2026 年统计公报', asOf: today } },
    ]);
    expect(audit.every((a) => a.actorEmail === adminEmail && a.actorRole === 'admin')).toBe(true);
    // The admin's audit page lists them.
    const agent = await signedInAgent(t.app, adminEmail);
    expect((await agent.get('/admin/audit?action=plan.').expect(200)).text).toContain('plan.indicator_set');

    // The same again changes nothing.
    await put(admin, 'rd_intensity', { value: '1.61', source: '2026 年统计公报', asOf: today }).expect(200);
    expect((await IndicatorValue.findById(`${year}:rd_intensity`).lean())!.history).toHaveLength(2);
  });

  it('keeps a value for an earlier year, shown in its year and in the trend', async () => {
    await put(admin, 'invention_patents_per_10k', { value: 6.8, source: '2025 年知识产权统计', asOf: `${year - 1}-12-31` }, year - 1).expect(200);
    const last = await indicator('invention_patents_per_10k', year - 1);
    expect(last).toMatchObject({ value: 6.8, met: false, target: 7 });
    const now = (await indicators()).indicators.find((i) => i.key === 'invention_patents_per_10k') as Indicator & { latest: { year: number; value: number } };
    expect(now.value).toBeNull();
    expect(now.latest).toMatchObject({ year: year - 1, value: 6.8 });
    expect(now.trend.find((p) => p.year === year - 1)).toMatchObject({ value: 6.8, target: 7 });
  });

  it('refuses the live indicator, unknown keys and years, and bad bodies, with the API error shape', async () => {
    const good = { value: 21, source: '企业研发调查', asOf: today };
    const live = await put(admin, 'contract_turnover', { value: '1.00', source: 'x', asOf: today }).expect(422);
    expect(live.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'key' }] });
    expect((await put(admin, 'no_such_indicator', good)).status).toBe(404);
    expect((await put(admin, 'enterprises_with_rd_share', good, 'abcd')).status).toBe(404);
    expect((await put(admin, 'enterprises_with_rd_share', good, 1999)).status).toBe(422);
    expect((await put(admin, 'enterprises_with_rd_share', good, year + 1)).body.error.details).toEqual([expect.objectContaining({ path: 'year' })]);

    const refused = async (body: unknown, path: string) => {
      const res = await put(admin, 'enterprises_with_rd_share', body).expect(422);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(typeof res.body.error.message).toBe('string');
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
      for (const d of res.body.error.details) expect(typeof d.message).toBe('string');
      return res.body.error.details as { path: string; message: string }[];
    };
    await refused({ ...good, value: -1 }, 'value');
    await refused({ ...good, value: '1.234' }, 'value');
    await refused({ ...good, value: 100.01 }, 'value'); // a share of more than 100 %
    await refused({ ...good, value: 'NaN' }, 'value');
    await refused({ ...good, value: '1e2' }, 'value');
    await refused({ ...good, value: null }, 'value');
    await refused({ ...good, source: '' }, 'source');
    await refused({ ...good, source: 'x'.repeat(201) }, 'source');
    await refused({ ...good, asOf: '2026-02-30' }, 'asOf');
    await refused({ ...good, asOf: '20260301' }, 'asOf');
    await refused({ ...good, asOf: '2999-01-01' }, 'asOf');
    await refused({ ...good, asOf: `${year - 1}-12-31` }, 'asOf'); // before the year it is for
    // All problems at once.
    expect((await refused({}, 'value')).map((d) => d.path)).toEqual(['value', 'source', 'asOf']);
    // Nothing was stored.
    expect(await IndicatorValue.exists({ _id: `${year}:enterprises_with_rd_share` })).toBeNull();
    // A percentage of 100 and a per-10,000 figure above 100 are fine.
    await put(admin, 'enterprises_with_rd_share', { ...good, value: 100 }).expect(200);
    await put(admin, 'rd_personnel_per_10k', { ...good, value: 150.5 }, year - 1).expect(200);
  });

  it('lets only bureau admins enter values: 401 signed out, 403 for applicants and reviewers, CSRF for sessions', async () => {
    const body = { value: 80, source: '研发统计', asOf: today };
    expect((await request(t.app).put(`/api/v1/indicators/${year}/enterprise_rd_share`).send(body)).status).toBe(401);
    const forbidden = await put(applicant.token, 'enterprise_rd_share', body);
    expect([forbidden.status, forbidden.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect((await put(reviewer, 'enterprise_rd_share', body)).status).toBe(403);
    expect((await request(t.app).get(`/api/v1/indicators/${year}/enterprise_rd_share`).set(bearer(reviewer))).status).toBe(403);
    expect(await IndicatorValue.exists({ _id: `${year}:enterprise_rd_share` })).toBeNull();

    const agent = await signedInAgent(t.app, adminEmail);
    expect((await agent.put(`/api/v1/indicators/${year}/enterprise_rd_share`).send(body)).status).toBe(403);
    const csrf = csrfFrom((await agent.get('/admin/plan').expect(200)).text);
    await agent.put(`/api/v1/indicators/${year}/enterprise_rd_share`).set('x-csrf-token', csrf).send(body).expect(200);
    expect((await indicator('enterprise_rd_share')).value).toBe(80);
  });

  it('leaves a consistent history when two admins save at once: both changes recorded, the value one of them', async () => {
    await put(admin, 'enterprise_rd_share', { value: 70, source: '基线', asOf: today }).expect(200);
    const before = (await IndicatorValue.findById(`${year}:enterprise_rd_share`).lean())!.history.length;
    for (let round = 0; round < 5; round++) {
      const a = { value: 76 + round, source: `甲 ${round}`, asOf: today };
      const b = { value: 90 + round, source: `乙 ${round}`, asOf: today };
      const [ra, rb] = await Promise.all([put(admin, 'enterprise_rd_share', a), put(admin2, 'enterprise_rd_share', b)]);
      expect([ra.status, rb.status]).toEqual([200, 200]);
    }
    const doc = (await IndicatorValue.findById(`${year}:enterprise_rd_share`).lean())!;
    const history = doc.history;
    expect(history).toHaveLength(before + 10);
    // A chain: each change starts from the one before it.
    for (let i = 1; i < history.length; i++) expect(history[i].old).toEqual(history[i - 1].new);
    const last = history.at(-1)!.new!;
    expect(doc.value).toBe(last.value);
    expect(['80', '94']).toContain(doc.value);
    expect(await AuditEntry.countDocuments({ action: 'plan.indicator_set', targetId: `${year}/enterprise_rd_share` })).toBe(history.length);
  });
});

describe('targets as data', () => {
  it('lets an admin set this year’s targets: met follows, the audit says old → new, and later years carry them', async () => {
    await put(admin, 'rd_personnel_per_10k', { value: 36, source: '科技统计', asOf: today }).expect(200);
    expect(await indicator('rd_personnel_per_10k')).toMatchObject({ target: 35, met: true });

    const carried = await request(t.app).get(`/api/v1/plan-targets/${year}`).set(bearer(admin)).expect(200);
    expect(carried.body).toMatchObject({ year, carried: true, targetsFrom: 2025, plan: '十四五' });
    expect(carried.body.targets).toHaveLength(6);

    const saved = await request(t.app)
      .put(`/api/v1/plan-targets/${year}`)
      .set(bearer(admin))
      .send({ plan: '十五五', targets: [{ key: 'rd_personnel_per_10k', target: '40', comparison: 'gte' }, { key: 'contract_turnover', target: '1200000000.00', comparison: 'gt' }] })
      .expect(200);
    expect(saved.body).toMatchObject({ year, carried: false, targetsFrom: year, plan: '十五五' });
    expect(saved.body.targets.find((r: { key: string }) => r.key === 'rd_personnel_per_10k')).toMatchObject({ target: 40, comparison: 'gte', plan: '十五五' });
    expect(saved.body.targets.find((r: { key: string }) => r.key === 'rd_intensity')).toMatchObject({ target: 1.5, plan: '十五五' }); // kept, now the year's own

    const now = await indicators();
    expect(now).toMatchObject({ plan: '十五五', carried: false, targetsFrom: year });
    expect(now.indicators.find((i) => i.key === 'rd_personnel_per_10k')).toMatchObject({ target: 40, met: false });
    expect(now.indicators.find((i) => i.key === 'contract_turnover')).toMatchObject({ target: '1200000000.00' });
    // 2025 keeps the plan's own; the next year carries this year's.
    expect((await indicators(2025)).indicators.find((i) => i.key === 'rd_personnel_per_10k')).toMatchObject({ target: 35 });
    expect(await indicators(year + 1)).toMatchObject({ targetsFrom: year, carried: true, plan: '十五五' });

    const audit = await AuditEntry.findOne({ action: 'plan.targets_set', targetId: String(year) }).lean();
    expect(audit!.details).toMatchObject({
      year,
      plan: '十五五',
      carriedFrom: 2025,
      changes: expect.arrayContaining([{ key: 'rd_personnel_per_10k', old: { plan: '十四五', target: '35', comparison: 'gte', carriedFrom: 2025 }, new: { plan: '十五五', target: '40', comparison: 'gte' } }]),
    });
  });

  it('refuses bad targets at their fields, and non-admins', async () => {
    const res = await request(t.app)
      .put(`/api/v1/plan-targets/${year - 2}`)
      .set(bearer(admin))
      .send({ plan: '', targets: [{ key: 'rd_intensity', target: '-1', comparison: 'gt' }, { key: 'rd_intensity', target: '2', comparison: 'gt' }, { key: 'enterprise_rd_share', target: '101', comparison: 'about' }, { key: 'nope', target: 1, comparison: 'gt' }] })
      .expect(422);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual(['plan', 'targets.0.target', 'targets.1.key', 'targets.2.target', 'targets.2.comparison', 'targets.3.key']);
    expect((await indicator('rd_intensity', year - 2)).target).toBe(1.5);
    expect((await request(t.app).put(`/api/v1/plan-targets/${year}`).set(bearer(reviewer)).send({ plan: 'x', targets: [] })).status).toBe(403);
    expect((await request(t.app).put(`/api/v1/plan-targets/${year}`).send({ plan: 'x', targets: [] })).status).toBe(401);
  });
});

describe('the priority areas', () => {
  it('gives turnover and contracts per area from the tally, adding up to the year with their shares', async () => {
    await registeredContract(t.app, applicant.token, reviewer, { priorityArea: 'photovoltaic', contractAmount: '2000000.00', technicalAmount: '2000000.00', deductions: [] });
    await registeredContract(t.app, applicant.token, reviewer, { priorityArea: 'biomedicine', contractAmount: '500000.00', technicalAmount: '500000.00', deductions: [] });
    await registeredContract(t.app, applicant.token, reviewer, { priorityArea: undefined, contractAmount: '700000.00', technicalAmount: '700000.00', deductions: [] });
    await refreshesSettled();
    const { tally } = await getTally(year);
    const { priorityAreas: pa } = await indicators();
    expect(pa.items.map((i) => i.code)).toEqual(['ecology', 'photovoltaic', 'lithium_battery', 'nonferrous_materials', 'chemical', 'biomedicine', 'digital_economy', 'modern_agriculture', 'life_health', 'livelihood', 'none']);
    expect(pa.contracts).toBe(tally.totals.count);
    expect(pa.contractAmount).toBe(formatYuan(tally.totals.contractFen));
    expect(pa.items.reduce((s, i) => s + i.contracts, 0)).toBe(tally.totals.count);
    expect(pa.items.reduce((s, i) => s + fen(i.contractAmount), 0)).toBe(tally.totals.contractFen);
    for (const i of pa.items) {
      const a = tally.by.priorityArea[i.code];
      expect(fen(i.contractAmount)).toBe(a?.contractFen ?? 0);
      expect(i.share).toBe(Math.round(((a?.contractFen ?? 0) / tally.totals.contractFen) * 1000) / 10);
      expect(i.contractsShare).toBe(Math.round(((a?.count ?? 0) / tally.totals.count) * 1000) / 10);
    }
    expect(pa.items.find((i) => i.code === 'photovoltaic')).toMatchObject({ contracts: 1, contractAmount: '2000000.00', label: '光伏制造' });
    expect(pa.items.find((i) => i.code === 'none')!.contracts).toBeGreaterThanOrEqual(1);
    expect(Math.abs(pa.items.reduce((s, i) => s + (i.share ?? 0), 0) - 100)).toBeLessThanOrEqual(0.6);
    // English names when asked.
    expect((await indicators(year, 'en')).priorityAreas.items.find((i) => i.code === 'photovoltaic')!.label).toBe('Photovoltaic manufacturing');
  });
});

describe('the Excel export and the pages', () => {
  it('exports the dashboard to a workbook with its figures', async () => {
    const p = await indicators();
    const res = await request(t.app).get(`/plan.xlsx?year=${year}`).buffer(true).parse(binary).expect(200);
    expect(res.headers['content-type']).toMatch(/spreadsheetml/);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(res.body as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['规划指标', '重点领域', '历年趋势']);
    const ind = wb.getWorksheet('规划指标')!;
    expect(ind.getRow(2).getCell(1).value).toBe('指标');
    const rowOf = (label: string) => {
      for (let r = 3; r <= ind.rowCount; r++) if (ind.getRow(r).getCell(1).value === label) return ind.getRow(r);
      throw new Error(`no row ${label}`);
    };
    const turnover = p.indicators.find((i) => i.key === 'contract_turnover')!;
    expect(rowOf('技术合同成交额').getCell(5).value).toBe(fen(turnover.value as string) / 100);
    expect(rowOf('技术合同成交额').getCell(4).value).toBe(1200000000);
    expect(rowOf('研发经费投入强度（占地区生产总值）').getCell(5).value).toBe(1.61);
    expect(rowOf('研发经费投入强度（占地区生产总值）').getCell(6).value).toBe('已达标');
    expect(rowOf('研发经费投入强度（占地区生产总值）').getCell(7).value).toBe('2026 年统计公报');

    const areas = wb.getWorksheet('重点领域')!;
    const areaRows = Array.from({ length: areas.rowCount - 2 }, (_, i) => areas.getRow(i + 3));
    const pv = areaRows.find((r) => r.getCell(1).value === '光伏制造')!;
    expect(pv.getCell(4).value).toBe(fen(p.priorityAreas.items.find((i) => i.code === 'photovoltaic')!.contractAmount) / 100);
    const total = areaRows.at(-1)!;
    expect(total.getCell(1).value).toBe('合计');
    expect(total.getCell(2).value).toBe(p.priorityAreas.contracts);
    expect(Math.round(Number(total.getCell(4).value) * 100)).toBe(fen(p.priorityAreas.contractAmount));
    expect(areas.getColumn(5).numFmt).toBe('0.0"%"');
  });

  it('renders the page in Chinese and in English, with its charts’ data, tables and links', async () => {
    const zh = await request(t.app).get(`/plan?year=${year}`).expect(200);
    expect(zh.text).toContain(`${year} 年规划指标`);
    expect(zh.text).toContain('研发经费投入强度（占地区生产总值）');
    expect(zh.text).toContain('光伏制造');
    expect(zh.text).toContain(`/plan.xlsx?year=${year}`);
    expect(zh.text).toMatch(/id="plan-chart-contract_turnover" role="img" aria-label="[^"]+"/);
    expect(zh.text).toContain('id="plan-data"');
    const en = await request(t.app).get(`/plan?year=${year}`).set('Cookie', 'lang=en').expect(200);
    expect(en.text).toContain(`City plan indicators ${year}`);
    expect(en.text).toContain('R&amp;D spending as a share of GDP');
    expect(en.text).toContain('Photovoltaic manufacturing');
    expect(en.text).not.toContain('研发经费投入强度');
    // Linked from the navigation and the statistics page.
    expect((await request(t.app).get('/statistics').expect(200)).text).toContain(`href="/plan?year=${year}"`);
    expect(zh.text).toMatch(/<a href="\/plan" aria-current="page"/);
  });

  it('gives admins a page to set targets and enter values, with errors at the fields', async () => {
    const agent = await signedInAgent(t.app, adminEmail);
    const page = await agent.get(`/admin/plan?year=${year}`).expect(200);
    expect(page.text).toContain('规划指标管理');
    expect(page.text).toContain('id="f-target_rd_intensity"');
    const csrf = csrfFrom(page.text);

    const bad = await agent.post(`/admin/plan/${year}/indicators/invention_patents_per_10k`).type('form').send({ _csrf: csrf, value_invention_patents_per_10k: '7.555', source_invention_patents_per_10k: '', asOf_invention_patents_per_10k: today }).expect(422);
    expect(bad.text).toMatch(/id="f-value_invention_patents_per_10k-error">最多保留两位小数。/);
    expect(bad.text).toMatch(/id="f-source_invention_patents_per_10k-error">此项为必填项。/);
    expect(bad.text).toContain('value="7.555"');

    await agent.post(`/admin/plan/${year}/indicators/invention_patents_per_10k`).type('form').send({ _csrf: csrf, value_invention_patents_per_10k: '7.5', source_invention_patents_per_10k: '知识产权局', asOf_invention_patents_per_10k: today }).expect(303);
    expect(await indicator('invention_patents_per_10k')).toMatchObject({ value: 7.5, source: '知识产权局', met: true });
    const after = await agent.get(`/admin/plan?year=${year}`).expect(200);
    expect(after.text).toContain('知识产权局');
    expect(after.text).toContain('首次录入');

    const form: Record<string, string> = { _csrf: csrf, plan: '十五五' };
    for (const k of KEYS) {
      form[`target_${k}`] = k === 'contract_turnover' ? '1,200,000,000' : '10';
      form[`comparison_${k}`] = 'gte';
    }
    const refused = await agent.post(`/admin/plan/${year}/targets`).type('form').send({ ...form, target_rd_intensity: 'abc', comparison_enterprise_rd_share: '' }).expect(422);
    expect(refused.text).toMatch(/id="f-target_rd_intensity-error">请输入数字/);
    expect(refused.text).toMatch(/id="f-comparison_enterprise_rd_share-error">此项为必填项。/);
    await agent.post(`/admin/plan/${year}/targets`).type('form').send(form).expect(303);
    expect(await indicator('contract_turnover')).toMatchObject({ target: '1200000000.00', comparison: 'gte' });

    // Reviewers may not.
    const rev = await makeBureauUser('reviewer');
    const reviewerAgent = await signedInAgent(t.app, rev.email);
    expect((await reviewerAgent.get('/admin/plan')).status).toBe(403);
    expect((await request(t.app).get('/admin/plan')).status).toBe(303);
  });
});
