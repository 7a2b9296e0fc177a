/**
 * Lists a clerk can read and exports a clerk can use: the register's cards and grouped
 * amounts, figures in 万元/亿元 beside the exact yuan, empty states, and the Excel and CSV
 * exports of the statistics, the register, the review queue and the contract lists.
 */
import ExcelJS from 'exceljs';
import request from 'supertest';
import { fenOf, formatFenLarge, formatYuanGrouped } from '../../src/domain/money';
import { cstYear } from '../../src/domain/time';
import { Contract } from '../../src/modules/contracts/contract.model';
import { getTally } from '../../src/modules/turnover/turnover.service';
import { startTestApp, uniqueName, waitFor, type TestApp } from '../support/harness';
import { binary, inReviewContract, makeBureauUser, signedInAgent, tokenFor, verifiedApplicant } from '../support/fixtures';

let t: TestApp;
let reviewerToken: string;
let reviewerEmail: string;
const year = cstYear(new Date());
/** One word in every title this file files, so the filters can pick exactly them. */
const WORD = uniqueName('表格');

beforeAll(async () => {
  t = await startTestApp();
  reviewerEmail = (await makeBureauUser('reviewer')).email;
  reviewerToken = await tokenFor(t.app, reviewerEmail);
});
afterAll(async () => {
  await t.close();
});

type Agent = Awaited<ReturnType<typeof signedInAgent>>;

async function download(agent: Agent, url: string): Promise<Buffer> {
  const res = await agent
    .get(url)
    .buffer(true)
    .parse(binary)
    .expect(200);
  return res.body as Buffer;
}

async function sheetOf(agent: Agent, url: string): Promise<ExcelJS.Worksheet> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load((await download(agent, url)) as unknown as Parameters<typeof wb.xlsx.load>[0]);
  return wb.worksheets[0];
}

/** The sheet's data rows (below the title and header, above the totals), as plain values. */
function dataRows(ws: ExcelJS.Worksheet): unknown[][] {
  const out: unknown[][] = [];
  for (let r = 3; r < ws.rowCount; r++) out.push((ws.getRow(r).values as unknown[]).slice(1));
  return out;
}

/** A column's number by its header (row 2). */
function column(ws: ExcelJS.Worksheet, header: string): number {
  const values = ws.getRow(2).values as unknown[];
  const i = values.indexOf(header);
  if (i < 1) throw new Error(`no column ${header}: ${values.join(', ')}`);
  return i;
}

/** Yuan in a cell (a double) back to integer fen, exactly as Excel would show it to two decimals. */
const cellFen = (v: unknown) => {
  expect(typeof v).toBe('number');
  return Math.round((v as number) * 100);
};

function expectSheetShape(ws: ExcelJS.Worksheet, titleParts: (string | number)[]) {
  const title = String(ws.getRow(1).getCell(1).value);
  for (const p of titleParts) expect(title).toContain(String(p));
  expect(title).toMatch(/导出时间 \d{4}-\d{2}-\d{2} \d{2}:\d{2}（北京时间）/);
  expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 2 });
  expect(ws.getRow(2).font?.bold).toBe(true);
  // Every column is sized to its content, not only the first.
  const widths = ws.columns.map((c) => c.width ?? 0);
  expect(widths.every((w) => w >= 6)).toBe(true);
  expect(new Set(widths).size).toBeGreaterThan(1);
}

async function register(token: string, over: Record<string, unknown>) {
  const id = await inReviewContract(t.app, token, over);
  await request(t.app).post(`/api/v1/contracts/${id}/approve`).set('Authorization', `Bearer ${reviewerToken}`).send({}).expect(200);
  return id;
}

const amounts = (contract: string) => ({ contractAmount: contract, technicalAmount: formatYuanGrouped(fenOf(contract) - 150_000_00).replace(/,/g, '') });

it('says so when there is nothing yet: no empty charts, no "更新于 —"', async () => {
  const home = await request(t.app).get('/').expect(200);
  expect(home.text.match(/class="chart-empty" data-empty>暂无数据</g)).toHaveLength(3);
  expect(home.text).toContain('<span data-no-registrations>尚无登记</span>');
  expect(home.text).toContain('<span data-updated hidden>');
  expect(home.text).not.toMatch(/更新于\s*<time[^>]*>\s*—/);
  const agent = await signedInAgent(t.app, reviewerEmail);
  const stats = await agent.get(`/stats?year=${year - 20}`).expect(200);
  expect(stats.text.match(/class="chart-empty">暂无数据</g)).toHaveLength(3);
  expect(stats.text).toContain('尚无登记');
  expect(stats.text).not.toContain('<canvas');
  expect(stats.text).not.toMatch(/更新于\s*—/);
});

describe('with registrations', () => {
  let a: Awaited<ReturnType<typeof verifiedApplicant>>;
  let b: Awaited<ReturnType<typeof verifiedApplicant>>;
  const titles = { big: `${WORD}盐湖提锂成套技术转让合同`, small: `${WORD}牦牛乳检测技术服务合同`, other: `${WORD}他方光伏逆变器专利许可合同`, open: `${WORD}审核中的储能合同` };

  beforeAll(async () => {
    a = await verifiedApplicant(t.app);
    b = await verifiedApplicant(t.app);
    await register(a.token, { title: titles.big, ...amounts('4000005.00') });
    await register(a.token, { title: titles.small, ...amounts('1234567.89') });
    await register(b.token, { title: titles.other, ...amounts('2000000.11') });
    await inReviewContract(t.app, a.token, { title: titles.open, ...amounts('3000000.00') });
    await waitFor(async () => (await getTally(year)).tally.totals.count === 3, 10_000);
  });

  it('shows the register as labelled cells with grouped amounts', async () => {
    const page = await request(t.app).get(`/register?q=${encodeURIComponent(WORD)}`).expect(200);
    expect(page.text).toContain('<table class="list-table">');
    expect(page.text).toContain('<td class="num" data-label="合同成交额（元）">4,000,005.00</td>');
    expect(page.text).toContain('<td class="num" data-label="技术交易额（元）">1,084,567.89</td>');
    expect(page.text).toMatch(/<td class="col-title card-head" data-label="合同名称"><span class="row-title">[^<]*盐湖提锂成套技术转让合同<\/span>/);
    expect(page.text).toMatch(/<a class="reg-link" href="\/verify\/\d{16}"/);
    for (const label of ['卖方', '买方', '合同类别', '技术领域', '登记日期']) expect(page.text).toContain(`data-label="${label}"`);
    expect(page.text).not.toContain('>4000005.00<');
  });

  it('groups the amounts under the homepage charts and reads the counter in 万元 with the exact yuan beneath', async () => {
    const payload = (await request(t.app).get('/api/v1/public/turnover').expect(200)).body;
    const total = fenOf(payload.contractAmount);
    expect(total).toBe(4_000_005_00 + 1_234_567_89 + 2_000_000_11);
    const home = await request(t.app).get('/').expect(200);
    const large = formatFenLarge(total);
    expect(large).toEqual({ value: '723.46', unit: 'wan' });
    expect(home.text).toContain('<span data-field="contractLarge">723.46</span> <span class="counter-unit" data-field="contractUnit">万元</span>');
    expect(home.text).toContain('<span data-field="contractAmount">7,234,573.00</span>');
    // The tables under the charts: grouped, never "7234573.00".
    expect(home.text).toContain(`<td class="num">${formatYuanGrouped(fenOf(payload.byType.transfer.contractAmount))}</td>`);
    expect(home.text).not.toMatch(/<td class="num">\d{4,}\.\d\d<\/td>/);
    expect(home.text).toContain('<span data-updated>更新于');
    expect(home.text.match(/class="chart-empty" data-empty hidden>暂无数据</g)).toHaveLength(3);
  });

  it('reads the statistics page in 万元 with the exact amount, a labelled year control and chart data', async () => {
    const agent = await signedInAgent(t.app, reviewerEmail);
    const page = await agent.get(`/stats?year=${year}`).expect(200);
    expect(page.text).toMatch(/<label for="f-year">统计年份<\/label>/);
    expect(page.text).toContain('723.46 <span class="figure-unit">万元</span><span class="figure-exact">¥ 7,234,573.00</span>');
    expect(page.text).toContain('数据更新于');
    expect(page.text).toContain('<canvas id="stats-chart-month"');
    expect(page.text).toContain('<script src="/static/js/stats.js" defer></script>');
    expect(page.text).not.toMatch(/<script>(?!\s*<\/script>)/);
    const data = JSON.parse(/<script type="application\/json" id="stats-data">([^<]*)<\/script>/.exec(page.text)![1]);
    expect(data.charts.type.values.reduce((s: number, v: number) => s + v, 0)).toBe(7_234_573_00);
    expect(page.text).toContain('<td class="num" data-label="成交额（元）">7,234,573.00</td>');
  });

  it('exports a statistics table to Excel with numbers in ¥, a frozen header, a title row and exact totals', async () => {
    const agent = await signedInAgent(t.app, reviewerEmail);
    const ws = await sheetOf(agent, `/stats/export.xlsx?year=${year}&table=type`);
    expectSheetShape(ws, [year, '按合同类别']);
    const amount = column(ws, '成交额（元）');
    const totals = ws.getRow(ws.rowCount);
    expect(totals.getCell(1).value).toBe('合计');
    const sum = dataRows(ws).reduce((s: number, r) => s + cellFen(r[amount - 1]), 0);
    expect(cellFen(totals.getCell(amount).value)).toBe(sum);
    expect(sum).toBe(7_234_573_00);
    expect(ws.getRow(3).getCell(amount).numFmt).toContain('¥');
    expect(totals.getCell(amount).numFmt).toContain('¥');
    expect(totals.getCell(column(ws, '合同数')).value).toBe(3);
  });

  it('exports the year register with amounts as numbers and a totals row of the registrations in force', async () => {
    const agent = await signedInAgent(t.app, reviewerEmail);
    const ws = await sheetOf(agent, `/stats/register.xlsx?year=${year}`);
    expectSheetShape(ws, [year, '技术合同登记簿']);
    const amount = column(ws, '成交额（元）');
    const technical = column(ws, '技术交易额（元）');
    const registered = await Contract.find({ status: 'registered', registrationYear: year }).lean();
    expect(dataRows(ws)).toHaveLength(registered.length);
    const totals = ws.getRow(ws.rowCount);
    expect(String(totals.getCell(1).value)).toContain(`有效登记 ${registered.length} 份`);
    expect(cellFen(totals.getCell(amount).value)).toBe(registered.reduce((s, c) => s + (c.contractAmountFen ?? 0), 0));
    expect(cellFen(totals.getCell(technical).value)).toBe(registered.reduce((s, c) => s + (c.technicalAmountFen ?? 0), 0));
    for (const r of dataRows(ws)) expect(typeof r[amount - 1]).toBe('number');
    expect(ws.getRow(3).getCell(amount).numFmt).toContain('¥');
    // The CSV stays plain data: the header first, amounts as decimals.
    const csv = (await download(agent, `/stats/register.csv?year=${year}`)).toString('utf8').replace(/^\uFEFF/, '').trim().split('\n');
    expect(csv[0]).toContain('成交额（元）');
    expect(csv.some((l) => l.includes(',4000005.00,3850005.00,'))).toBe(true);
  });

  it('exports the review queue with the page filters', async () => {
    const agent = await signedInAgent(t.app, reviewerEmail);
    const queue = await agent.get(`/review?status=registered&q=${encodeURIComponent(WORD)}`).expect(200);
    expect(queue.text).toContain(`href="/review/export.xlsx?status=registered&amp;kind=all&amp;type=&amp;deadline=&amp;findings=&amp;minAmount=&amp;maxAmount=&amp;q=${encodeURIComponent(WORD)}"`);
    expect(queue.text).toContain('data-label="办结期限"');
    const ws = await sheetOf(agent, `/review/export.xlsx?status=registered&q=${encodeURIComponent(WORD)}`);
    expectSheetShape(ws, [year, '技术合同审核队列']);
    const title = column(ws, '合同名称');
    const amount = column(ws, '合同成交额（元）');
    expect(dataRows(ws).map((r) => r[title - 1]).sort()).toEqual([titles.big, titles.small, titles.other].sort());
    expect(cellFen(ws.getRow(ws.rowCount).getCell(amount).value)).toBe(7_234_573_00);
    expect(ws.getRow(3).getCell(amount).numFmt).toContain('¥');
    // A minimum amount and the status narrow it as on the page.
    const big = await sheetOf(agent, `/review/export.xlsx?status=registered&minAmount=3,000,000&q=${encodeURIComponent(WORD)}`);
    expect(dataRows(big).map((r) => r[title - 1])).toEqual([titles.big]);
    const open = (await download(agent, `/review/export.csv?status=in_review&q=${encodeURIComponent(WORD)}`)).toString('utf8');
    expect(open).toContain(titles.open);
    expect(open).not.toContain(titles.big);
    expect(open).toContain('3000000.00');
    await agent.get('/review/export.pdf').expect(404);
    await agent.get('/review/export.xlsx?minAmount=abc').expect(422);
    // Applicants have no queue to export.
    await (await signedInAgent(t.app, a.email)).get('/review/export.xlsx').expect(403);
  });

  it("exports an applicant's contract list: their organisation's only, with the page's filters", async () => {
    const agent = await signedInAgent(t.app, a.email);
    const list = await agent.get('/contracts').expect(200);
    expect(list.text).toContain('<table class="list-table">');
    expect(list.text).toContain('href="/contracts/export.xlsx?q=&amp;status=&amp;year="');
    expect(list.text).toMatch(/<td class="num" data-label="合同成交额（元）">4,000,005.00<\/td>/);
    const ws = await sheetOf(agent, '/contracts/export.xlsx');
    expectSheetShape(ws, [year, '技术合同列表']);
    const title = column(ws, '合同名称');
    const amount = column(ws, '合同成交额（元）');
    const mine = dataRows(ws).map((r) => r[title - 1]);
    expect(mine.sort()).toEqual([titles.big, titles.small, titles.open].sort());
    expect(cellFen(ws.getRow(ws.rowCount).getCell(amount).value)).toBe(4_000_005_00 + 1_234_567_89 + 3_000_000_00);
    // Another organisation's contract never appears, whatever the query asks for.
    const sneaky = (await download(agent, `/contracts/export.csv?q=${encodeURIComponent('他方光伏')}&organizationId=${b.orgId}`)).toString('utf8');
    expect(sneaky).not.toContain(titles.other);
    expect(sneaky.replace(/^\uFEFF/, '').trim().split('\n')).toHaveLength(1);
    const registered = (await download(agent, '/contracts/export.csv?status=registered')).toString('utf8');
    expect(registered).toContain(titles.big);
    expect(registered).not.toContain(titles.open);
    expect(registered).not.toContain(titles.other);
    // The bureau's list has every organisation's.
    const bureau = (await download(await signedInAgent(t.app, reviewerEmail), `/contracts/export.csv?q=${encodeURIComponent(WORD)}`)).toString('utf8');
    for (const x of Object.values(titles)) expect(bureau).toContain(x);
    await request(t.app).get('/contracts/export.xlsx').expect((r) => expect([302, 303, 401]).toContain(r.status));
  });
});
