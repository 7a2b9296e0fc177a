/**
 * Bringing in earlier registrations (API.md "import"): the template, uploads checked by content,
 * rows validated like filings, imported contracts counted once in their year's turnover and
 * listed in the public register, serials that new registrations continue after (also while
 * racing an import), resuming after a crash without importing anything twice, and hostile files.
 */
import ExcelJS from 'exceljs';
import request from 'supertest';
import { Types } from 'mongoose';
import { cstYear } from '../../src/domain/time';
import { takeNumber } from '../../src/lib/counters';
import { Contract } from '../../src/modules/contracts/contract.model';
import { columnLabel, IMPORT_COLUMNS } from '../../src/modules/imports/columns';
import { runImport, type RunOptions } from '../../src/modules/imports/import-run';
import { ImportJob } from '../../src/modules/imports/import.model';
import { resumeStalledImports } from '../../src/modules/imports/imports.service';
import { IMPORTED_ORGANIZATION_ID } from '../../src/modules/imports/import-batch';
import { Registration } from '../../src/modules/registrations/registration.model';
import { numberRegistration, serialCounterId, serialsOf } from '../../src/modules/registrations/registration-numbers';
import { TallyEntry } from '../../src/modules/turnover/turnover.model';
import { applyPending, getTally, reconcile, recordTallyEvent, refreshesSettled } from '../../src/modules/turnover/turnover.service';
import { startTestApp, testLogger, waitFor, type TestApp } from '../support/harness';
import { createWorkerRedis } from '../../src/lib/redis';
import { startWorkers } from '../../workers';
import { bearer, binary, csrfFrom, inReviewContract, makeBureauUser, makePdf, reviewerToken, signedInAgent, tokenFor, verifiedApplicant } from '../support/fixtures';
import { csvOf, importRow, sheetRowXml, sheetXml, workbookParts, xlsxOf, zipOf, type ImportRow } from '../support/import-files';

jest.setTimeout(120_000);

let t: TestApp;
let admin: string;
const thisYear = cstYear(new Date());
const deps = () => ({ agencyCode: '630100', logger: testLogger, redis: t.redis, prefix: t.config.queuePrefix, targetFen: t.config.turnoverTargetFen });

beforeAll(async () => {
  t = await startTestApp();
  admin = await tokenFor(t.app, (await makeBureauUser('admin')).email);
});
afterAll(async () => {
  await t.close();
});

/** Uploads a file as the admin; the answer. */
const upload = (bytes: Buffer, filename: string) => request(t.app).post('/api/v1/imports').set(bearer(admin)).attach('file', bytes, { filename });

/** Uploads and runs the import as the worker would (the test has no worker); its status answer. */
async function imported(bytes: Buffer, filename: string, opts: RunOptions = {}) {
  const res = await upload(bytes, filename).expect(202);
  expect(res.body).toEqual({ id: expect.any(String), status: 'queued' });
  await runImport(res.body.id, deps(), opts);
  return (await request(t.app).get(`/api/v1/imports/${res.body.id}`).set(bearer(admin)).expect(200)).body;
}

const totalsOf = async (year: number) => {
  await refreshesSettled();
  await applyPending(year);
  return (await getTally(year)).tally.totals;
};
const fen = (rows: ImportRow[]) => rows.reduce((a, r) => a + Number(String(r.contractAmount).replace(/,/g, '')) * 100, 0);

describe('the template', () => {
  it('opens in Excel with the Chinese headers, an example row, the code lists and drop-downs', async () => {
    const res = await request(t.app).get('/api/v1/imports/template.xlsx').set(bearer(admin)).buffer(true).parse(binary).expect(200);
    expect(res.headers['content-type']).toContain('spreadsheetml');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(res.body as unknown as ArrayBuffer);
    const [data, codes] = wb.worksheets;
    expect(data.name).toBe('登记数据');
    expect(codes.name).toBe('代码表');
    expect((data.getRow(1).values as unknown[]).slice(1)).toEqual(IMPORT_COLUMNS.map((k) => columnLabel(k)));
    expect(data.getRow(1).values).toEqual(expect.arrayContaining(['登记编号', '合同名称', '合同成交额（元）', '卖方名称', '买方名称']));
    expect(String(data.getRow(2).getCell(3).value)).toMatch(/^示例/);
    // The code sheet: every list, as names with their codes.
    const codeText = JSON.stringify(codes.getSheetValues());
    for (const s of ['合同类别', '技术转让', 'transfer', '单位性质', '有限责任公司', '150', '技术领域', '新材料及其应用', 'new_materials', '知识产权类型', '社会经济目标', '全市重点领域', '锂电产业', '支付方式', '分期支付', '计划来源', '计划外', '细分类别', '专利权转让']) {
      expect(codeText).toContain(s);
    }
    // Drop-downs on the coded columns, from the code sheet.
    const model = (data as unknown as { dataValidations: { model: Record<string, { type: string; formulae: string[] }> } }).dataValidations.model;
    const typeColumn = data.getColumn(IMPORT_COLUMNS.indexOf('type') + 1).letter;
    expect(model[`${typeColumn}2`]).toMatchObject({ type: 'list', formulae: [expect.stringMatching(/^'代码表'!\$[A-Z]+\$3:\$[A-Z]+\$7$/)] });
    for (const k of ['subtype', 'sellerNature', 'buyerNature', 'technicalField', 'ipType', 'socioEconomicObjective', 'priorityArea', 'paymentMethod', 'planSource', 'relatedParty'] as const) {
      expect([k, model[`${data.getColumn(IMPORT_COLUMNS.indexOf(k) + 1).letter}100`]?.type]).toEqual([k, 'list']);
    }
    expect(model[`${data.getColumn(IMPORT_COLUMNS.indexOf('title') + 1).letter}2`]).toBeUndefined();
  });

  it('imports as it is downloaded: the example row is ignored', async () => {
    const res = await request(t.app).get('/api/v1/imports/template.xlsx').set(bearer(admin)).buffer(true).parse(binary).expect(200);
    const status = await imported(res.body as Buffer, 'template.xlsx');
    expect(status).toMatchObject({ status: 'done', total: 0, processed: 0, imported: 0, rejected: 0 });
  });
});

describe('a CSV with a BOM and Chinese headers', () => {
  it('imports every row as registered contracts of their year, listed in the public register and counted once', async () => {
    const year = thisYear - 3;
    const rows = [1, 2, 3].map((s) => importRow(year, s));
    const before = await totalsOf(year);
    const status = await imported(csvOf(rows), '台账.csv');
    expect(status).toMatchObject({ status: 'done', total: 3, processed: 3, imported: 3, skipped: 0, rejected: 0, errors: [], years: [year] });
    const contracts = await Contract.find({ registrationNumber: { $in: rows.map((r) => r.registrationNumber as string) } }).lean();
    expect(contracts).toHaveLength(3);
    for (const c of contracts) {
      expect(c).toMatchObject({ status: 'registered', source: 'import', registrationYear: year, registrationVersion: 1, type: 'development', subtype: 'commissioned', technicalField: 'agriculture', ipType: 'technical_secret' });
      expect(String(c.organizationId)).toBe(String(IMPORTED_ORGANIZATION_ID));
      expect(c.certificateFileId).toBeUndefined();
    }
    const after = await totalsOf(year);
    expect(after.count - before.count).toBe(3);
    expect(after.contractFen - before.contractFen).toBe(fen(rows));
    const pub = (await request(t.app).get(`/api/v1/public/register?year=${year}`).expect(200)).body;
    expect(pub.items.map((i: { registrationNumber: string }) => i.registrationNumber).sort()).toEqual(rows.map((r) => r.registrationNumber).sort());
    expect(pub.items[0]).toMatchObject({ sellerName: expect.stringMatching(/^青海第/), buyerNames: [expect.stringMatching(/^西宁第/)] });
    // One ledger entry each, marked as imported, in the registration year.
    const entries = await TallyEntry.find({ e: { $in: contracts.map((c) => `registered:${c._id}`) } }).lean();
    expect(entries.map((e) => [e._id.slice(0, 4), e.o])).toEqual([[String(year), 'import'], [String(year), 'import'], [String(year), 'import']]);
  });
});

describe('an xlsx with good, faulty and duplicate rows', () => {
  const year = thisYear - 2;
  const good = [1, 2, 3, 4].map((s) => importRow(year, s));
  const rows: ImportRow[] = [
    ...good,
    importRow(year, 2, { title: '同一编号再次出现（跳过）' }), // the number of a row above: skipped
    importRow(year, 10, { registrationNumber: '20246301' }), // row 7
    importRow(year, 11, { registeredAt: `${year - 1}-12-31` }), // row 8: not the number's year
    importRow(year, 12, { type: '技术合作', contractAmount: '12.345' }), // row 9: two faults
    importRow(year, 13, { technicalAmount: '999999999.00' }), // row 10: technical above turnover
    importRow(year, 14, { buyerName: '' }), // row 11: a required field
    importRow(year, 15, { registrationNumber: `${year}630200000015` }), // row 12: another agency
  ];

  it('imports the good rows, skips the duplicate, and reports each faulty row with its column and reason', async () => {
    const before = await totalsOf(year);
    const status = await imported(await xlsxOf(rows), '2024年登记台账.xlsx');
    expect(status).toMatchObject({ status: 'done', total: 11, processed: 11, imported: 4, skipped: 1, rejected: 6 });
    const byRow = (row: number) => status.errors.filter((e: { row: number }) => e.row === row).map((e: { path: string; message: string }) => [e.path, e.message]);
    expect(byRow(7)).toEqual([['registrationNumber', expect.stringContaining('16 位数字')]]);
    expect(byRow(8)).toEqual([['registeredAt', `登记日期（${year - 1}-12-31）的年份与登记编号的年份 ${year} 不一致。`]]);
    expect(byRow(9)).toEqual([['type', '“技术合作”不在代码表中，请填写代码或代码表中的名称。'], ['contractAmount', '金额最多保留两位小数（精确到分）。']]);
    expect(byRow(10)).toEqual([['technicalAmount', '技术交易额不能大于合同成交额。']]);
    expect(byRow(11)).toEqual([['buyerName', '此项为必填项。']]);
    expect(byRow(12)).toEqual([['registrationNumber', '登记编号第 5–10 位应为本登记机构代码 630100（文件中为 630200）。']]);
    const after = await totalsOf(year);
    expect(after.count - before.count).toBe(4);
    expect(after.contractFen - before.contractFen).toBe(fen(good));

    // The rejected rows download with their reasons and their cells, under the template's headers.
    const csv = await request(t.app).get(`/api/v1/imports/${status.id}/errors.csv`).set(bearer(admin)).expect(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = csv.text.replace(/^\uFEFF/, '').trim().split(/\r?\n/);
    expect(lines[0].split(',').slice(0, 4)).toEqual(['行号', '列', '原因', '登记编号']);
    expect(lines).toHaveLength(7);
    expect(lines.map((l) => l.split(',')[0]).slice(1)).toEqual(['7', '8', '9', '10', '11', '12']);
    expect(lines[3]).toContain('合同类别：“技术合作”不在代码表中');
    expect(lines[3]).toContain('12.345');
    // In English when asked.
    const en = await request(t.app).get(`/api/v1/imports/${status.id}`).set(bearer(admin)).set('Accept-Language', 'en').expect(200);
    expect(en.body.errors.find((e: { row: number }) => e.row === 10).message).toBe('The technical transaction amount cannot exceed the contract turnover.');
  });

  it('changes nothing when the same file is imported again: every number exists, so every good row is skipped', async () => {
    const before = await totalsOf(year);
    const count = await Contract.countDocuments({ registrationYear: year });
    const again = await imported(await xlsxOf(rows), '2024年登记台账.xlsx');
    expect(again).toMatchObject({ status: 'done', imported: 0, skipped: 5, rejected: 6 });
    expect(await Contract.countDocuments({ registrationYear: year })).toBe(count);
    expect(await totalsOf(year)).toEqual(before);
  });
});

describe('serials', () => {
  it('continues new registrations after the highest imported serial of the year, with no gap', async () => {
    const applicant = await verifiedApplicant(t.app);
    const reviewer = await reviewerToken(t.app);
    const approve = async () => {
      const id = await inReviewContract(t.app, applicant.token);
      return (await request(t.app).post(`/api/v1/contracts/${id}/approve`).set(bearer(reviewer)).send({}).expect(200)).body.registrationNumber as string;
    };
    const first = await approve(); // serial 1, numbered here
    expect(first).toBe(`${thisYear}630100000001`);
    // The year's earlier registrations 2…7 (one of them, 1, is the registry's own: refused).
    const rows = [1, 2, 3, 4, 5, 6, 7].map((s) => importRow(thisYear, s, { registeredAt: `${thisYear}-01-0${1 + (s % 2)}` }));
    const status = await imported(await xlsxOf(rows), 'earlier.xlsx');
    expect(status).toMatchObject({ imported: 6, rejected: 1 });
    expect(status.errors).toEqual([{ row: 2, path: 'registrationNumber', message: `登记编号 ${thisYear}630100000001 的流水号已被本系统的另一项登记使用，未导入：请核对编号。` }]);
    expect(await approve()).toBe(`${thisYear}630100000008`);
    expect(await approve()).toBe(`${thisYear}630100000009`);
    expect(await serialsOf(thisYear)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('never lets a registration racing an import of the same year reuse or skip a serial', async () => {
    const applicant = await verifiedApplicant(t.app);
    const reviewer = await reviewerToken(t.app);
    for (let round = 0; round < 6; round++) {
      const top = Math.max(0, ...(await serialsOf(thisYear)));
      const ids = await Promise.all([1, 2, 3].map(() => inReviewContract(t.app, applicant.token)));
      // The import brings the next 40 serials while three registrations happen.
      const rows = Array.from({ length: 40 }, (_, i) => importRow(thisYear, top + 1 + i, { registeredAt: `${thisYear}-01-01` }));
      const up = await upload(await xlsxOf(rows), `race-${round}.xlsx`).expect(202);
      const [, ...approvals] = await Promise.all([
        runImport(up.body.id, deps(), { batchSize: 10 }),
        // Different moments each round: before the import's first batch, between its batches, after it.
        ...ids.map(async (id, i) => {
          await new Promise((r) => setTimeout(r, round * 60 + i * 25));
          return request(t.app).post(`/api/v1/contracts/${id}/approve`).set(bearer(reviewer)).send({});
        }),
      ]);
      expect(approvals.map((a) => a.status)).toEqual([200, 200, 200]);
      const serials = await serialsOf(thisYear);
      // Gap-free, each once: every number is either imported or numbered here.
      expect(serials).toEqual(Array.from({ length: serials.length }, (_, i) => i + 1));
      const numbers = (await Contract.find({ registrationYear: thisYear }).select({ registrationNumber: 1 }).lean()).map((c) => c.registrationNumber);
      expect(new Set(numbers).size).toBe(numbers.length);
      expect(numbers).toHaveLength(serials.length);
      // Each register entry names the contract that carries its number.
      const regs = await Registration.find({ year: thisYear }).lean();
      const byId = new Map((await Contract.find({ _id: { $in: regs.map((r) => new Types.ObjectId(r.contractId)) } }).select({ registrationNumber: 1 }).lean()).map((c) => [String(c._id), c.registrationNumber]));
      for (const r of regs) expect(byId.get(r.contractId)).toBe(r.number);
      const status = (await request(t.app).get(`/api/v1/imports/${up.body.id}`).set(bearer(admin)).expect(200)).body;
      expect(status.imported + status.rejected).toBe(40);
    }
  });

  it('gives a registration whose serial an import wrote first the next one (the register is the last guard)', async () => {
    const year = thisYear;
    const applicant = await verifiedApplicant(t.app);
    const id = await inReviewContract(t.app, applicant.token);
    await Contract.updateOne({ _id: id }, { $set: { status: 'registered', registeredAt: new Date(), registrationYear: year } });
    // The registration has taken its serial but not yet written it when an import writes that serial.
    const serial = await takeNumber(serialCounterId(year), id, async () => 0);
    await Registration.create({ _id: `${year}-${String(serial).padStart(6, '0')}`, year, serial, number: `${year}630100${String(serial).padStart(6, '0')}`, contractId: String(new Types.ObjectId()), at: new Date(), source: 'import' });
    const number = await numberRegistration((await Contract.findById(id).lean())!, '630100');
    expect(number).toBe(`${year}630100${String(serial + 1).padStart(6, '0')}`);
    expect((await Registration.findOne({ contractId: id }).lean())!.serial).toBe(serial + 1);
    expect((await Contract.findById(id).lean())!.registrationNumber).toBe(number);
    // Asked again (a sweeper), it is the same.
    await Contract.updateOne({ _id: id }, { $set: { registrationNumber: null } });
    expect(await numberRegistration((await Contract.findById(id).lean())!, '630100')).toBe(number);
    // What the decision does next (the ledger), so that this contract is whole for the reconciliation below;
    // the register entry the "import" wrote has no contract (reconciliation passes it by).
    await recordTallyEvent('registered', (await Contract.findById(id).lean())!, '630100');
  });
});

describe('a worker that dies mid-import', () => {
  it('resumes after the last committed batch and imports nothing twice, even when a batch was written but not committed', async () => {
    const year = thisYear - 4;
    const rows = Array.from({ length: 230 }, (_, i) => importRow(year, i + 1));
    rows[57] = importRow(year, 58, { contractAmount: 'abc' }); // one faulty row (spreadsheet row 59)
    const before = await totalsOf(year);
    const up = await upload(await xlsxOf(rows), 'crash.xlsx').expect(202);
    const id = up.body.id as string;

    // The job stops after two batches of 50, as a killed worker would.
    expect(await runImport(id, deps(), { batchSize: 50, stopAfterBatches: 2 })).toEqual({ status: 'stopped' });
    let doc = (await ImportJob.findById(id).lean())!;
    expect(doc).toMatchObject({ status: 'running', total: 230, processed: 100, imported: 99, rejected: 1, lastRow: 101 });
    const page = await request(t.app).get(`/api/v1/imports/${id}`).set(bearer(admin)).expect(200);
    expect(page.body).toMatchObject({ status: 'running', total: 230, processed: 100, percent: 43 });

    // It dies again after writing its third batch but before recording it: the record is as before.
    expect(await runImport(id, deps(), { batchSize: 50, stopAfterBatches: 1 })).toEqual({ status: 'stopped' });
    await ImportJob.updateOne({ _id: id }, { $set: { lastRow: doc.lastRow, processed: doc.processed, imported: doc.imported, skipped: doc.skipped, rejected: doc.rejected } });
    expect(await Contract.countDocuments({ registrationYear: year, source: 'import' })).toBe(149);

    // Restarted: the rest, and the third batch again, counted once.
    expect(await runImport(id, deps(), { batchSize: 50 })).toEqual({ status: 'done' });
    doc = (await ImportJob.findById(id).lean())!;
    expect(doc).toMatchObject({ status: 'done', total: 230, processed: 230, imported: 229, skipped: 0, rejected: 1 });
    const contracts = await Contract.find({ registrationYear: year, source: 'import' }).select({ _id: 1 }).lean();
    expect(contracts).toHaveLength(229);
    expect(await Registration.countDocuments({ year, source: 'import' })).toBe(229);
    expect(await TallyEntry.countDocuments({ e: { $in: contracts.map((c) => `registered:${c._id}`) } })).toBe(229);
    const after = await totalsOf(year);
    expect(after.count - before.count).toBe(229);
    expect(after.contractFen - before.contractFen).toBe(fen(rows.filter((_, i) => i !== 57)));
    // A finished import run again does nothing.
    expect(await runImport(id, deps())).toEqual({ status: 'finished-before' });
  });

  it('is run by the imports worker from the queue, and an import whose job died is queued again and resumes', async () => {
    const year = thisYear - 5;
    // One that stopped after its first batch and whose job is gone, its progress stale.
    const rows = Array.from({ length: 120 }, (_, i) => importRow(year, 100 + i));
    const lost = await upload(await xlsxOf(rows), 'lost.xlsx').expect(202);
    expect(await runImport(lost.body.id, deps(), { batchSize: 50, stopAfterBatches: 1 })).toEqual({ status: 'stopped' });
    await (await t.queues.imports.getJob(`import-${lost.body.id}`))!.remove();
    await ImportJob.updateOne({ _id: lost.body.id }, { $set: { heartbeatAt: new Date(Date.now() - 5 * 60_000) } });

    const connection = createWorkerRedis(t.config.redisUrl, testLogger, 'imports-worker');
    const running = startWorkers({ logger: testLogger, config: t.config, connection, prefix: t.config.queuePrefix, queues: t.queues });
    try {
      const up = await upload(csvOf([importRow(year, 1), importRow(year, 2)], { style: 'keys', bom: false }), 'keys.csv').expect(202);
      await waitFor(async () => (await ImportJob.findById(up.body.id).lean())?.status === 'done', 30_000, 100);
      expect((await ImportJob.findById(up.body.id).lean())!.imported).toBe(2);

      expect(await resumeStalledImports(t.queues)).toBe(1);
      await waitFor(async () => (await ImportJob.findById(lost.body.id).lean())?.status === 'done', 30_000, 100);
      expect(await ImportJob.findById(lost.body.id).lean()).toMatchObject({ processed: 120, imported: 120 });
      expect(await Contract.countDocuments({ registrationYear: year, source: 'import' })).toBe(122);
      expect(await resumeStalledImports(t.queues)).toBe(0);
    } finally {
      await running.close();
      await connection.quit();
    }
  });

  it('commits more than twenty batches of one import', async () => {
    const year = thisYear - 10;
    const status = await imported(await xlsxOf(Array.from({ length: 260 }, (_, i) => importRow(year, i + 1))), 'many-batches.xlsx', { batchSize: 10 });
    expect(status).toMatchObject({ status: 'done', processed: 260, imported: 260, years: [year] });
  });
});

describe('hostile files', () => {
  it('refuses what is not a spreadsheet by its content: 415', async () => {
    const pdf = await makePdf();
    const cases: [Buffer, string][] = [
      [pdf, 'contract.pdf'],
      [Buffer.from('%PDF-1.7\n1 0 obj\n'), 'report.csv'],
      [Buffer.from('<?xml version="1.0"?><a/>'), 'data.csv'],
      [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'image.xlsx'],
      [Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0, 0]), 'old.xls'],
      [Buffer.from('登记编号,合同名称\n', 'utf16le'), 'utf16.csv'],
      [Buffer.from([0xb5, 0xc7, 0xbc, 0xc7, 0xb1, 0xe0, 0xba, 0xc5, 0x2c, 0x0a]), 'gbk.csv'], // 登记编号 in GBK
      [zipOf([{ name: 'word/document.xml', data: Buffer.from('<w:document/>') }, { name: '[Content_Types].xml', data: Buffer.from('<Types/>') }]), 'letter.xlsx'],
      [Buffer.alloc(0), 'empty.csv'],
    ];
    for (const [bytes, name] of cases) {
      const res = await upload(bytes, name);
      expect([name, res.status, res.body.error?.code]).toEqual([name, 415, 'UNSUPPORTED_MEDIA_TYPE']);
    }
    expect((await upload(Buffer.from([0xb5, 0xc7, 0x2c, 0x0a]), 'gbk.csv')).body.error.message).toContain('UTF-8');
    // A body that is not a form at all.
    await request(t.app).post('/api/v1/imports').set(bearer(admin)).send({ file: 'x' }).expect(415);
    // Over 20 MB.
    const big = await upload(Buffer.alloc(20 * 1024 * 1024 + 1, 0x61), 'big.csv');
    expect([big.status, big.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expect(await ImportJob.countDocuments({ filename: { $in: cases.map((c) => c[1]) } })).toBe(0);
  });

  it('refuses a zip bomb by its declared sizes at once (422), and stops one that lies about them as it inflates, in bounded memory', async () => {
    const header = sheetRowXml(1, [...IMPORT_COLUMNS]);
    // Declares 1 GB for its worksheet: refused before anything is inflated.
    const declared = zipOf(workbookParts(sheetXml([header]), {}).map((p) => (p.name.endsWith('sheet1.xml') ? { ...p, declaredSize: 1024 ** 3 } : p)));
    const res = await upload(declared, 'bomb.xlsx');
    expect([res.status, res.body.error.code, res.body.error.reason]).toEqual([422, 'VALIDATION_FAILED', 'IMPORT_FILE_TOO_COMPLEX']);
    // Too many parts.
    const many = zipOf([...workbookParts(sheetXml([header])), ...Array.from({ length: 600 }, (_, i) => ({ name: `xl/media/p${i}.xml`, data: Buffer.from('x') }))]);
    expect((await upload(many, 'many.xlsx')).status).toBe(422);

    // Declares 64 KB but inflates to 256 MB of one cell's text: accepted, then stopped at 64 KB.
    const lie = Buffer.concat([Buffer.from(sheetXml([header]).replace('</sheetData></worksheet>', '<row r="2"><c r="C2" t="inlineStr"><is><t>')), Buffer.alloc(256 * 1024 * 1024, 0x41)]);
    const liar = zipOf(workbookParts(lie).map((p) => (p.name.endsWith('sheet1.xml') ? { ...p, declaredSize: 64 * 1024 } : p)));
    expect(liar.length).toBeLessThan(2 * 1024 * 1024);
    const rss = process.memoryUsage().rss;
    const up = await upload(liar, 'liar.xlsx').expect(202);
    const started = Date.now();
    expect(await runImport(up.body.id, deps())).toEqual({ status: 'failed' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(100 * 1024 * 1024);
    const status = (await request(t.app).get(`/api/v1/imports/${up.body.id}`).set(bearer(admin)).expect(200)).body;
    expect(status).toMatchObject({ status: 'failed', imported: 0, failure: expect.stringContaining('解压后过大') });
  });

  it('passes over a million empty rows quickly (CSV and xlsx), and refuses more rows than one import takes', async () => {
    const year = thisYear - 6;
    const [head, first, second] = csvOf([importRow(year, 1), importRow(year, 2)]).toString('utf8').split('\r\n');
    const csv = Buffer.from([head, first, ...Array(1_000_000).fill(''), ...Array(1000).fill(',,,,'), second, ''].join('\r\n'), 'utf8');
    let started = Date.now();
    let status = await imported(csv, 'empty-lines.csv');
    expect(status).toMatchObject({ status: 'done', total: 2, imported: 2, rejected: 0 });
    expect(Date.now() - started).toBeLessThan(15_000);

    // A worksheet with a million empty rows (each <row r="n"/>) between its header and one row.
    const parts = [sheetRowXml(1, ['registrationNumber', 'registeredAt', 'title', 'type', 'subtype', 'contractAmount', 'technicalAmount', 'sellerName', 'buyerName'])];
    for (let r = 2; r <= 1_000_001; r++) parts.push(`<row r="${r}"/>`);
    parts.push(sheetRowXml(1_000_002, [`${year}630100000003`, `${year}-05-05`, '空行之后的合同', '技术咨询', '', '5000', '5000', '青海大学', '某公司']));
    started = Date.now();
    status = await imported(zipOf(workbookParts(sheetXml(parts))), 'empty-rows.xlsx');
    expect(status).toMatchObject({ status: 'done', total: 1, imported: 1 });
    expect(Date.now() - started).toBeLessThan(15_000);

    // More data rows than one import takes: refused whole, nothing imported.
    const many = Buffer.from([IMPORT_COLUMNS.join(','), ...Array.from({ length: 200_001 }, (_, i) => `${i},x`)].join('\n'));
    status = await imported(many, 'too-many.csv');
    expect(status).toMatchObject({ status: 'failed', imported: 0, failure: expect.stringContaining('200000') });
  });

  it('reads formulas by the value the spreadsheet saved, never computing them, and refuses one without a value', async () => {
    const year = thisYear - 7;
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('登记');
    ws.addRow(IMPORT_COLUMNS.map((k) => columnLabel(k)));
    const amountCol = IMPORT_COLUMNS.indexOf('contractAmount');
    const techCol = IMPORT_COLUMNS.indexOf('technicalAmount');
    const withValue = importRow(year, 1);
    const row1 = ws.addRow(IMPORT_COLUMNS.map((k) => withValue[k] ?? null));
    row1.getCell(amountCol + 1).value = { formula: 'K2+1000', result: 51000 } as ExcelJS.CellFormulaValue;
    row1.getCell(techCol + 1).value = 50000;
    const noValue = importRow(year, 2);
    const row2 = ws.addRow(IMPORT_COLUMNS.map((k) => noValue[k] ?? null));
    row2.getCell(amountCol + 1).value = { formula: 'SUM(K1:K100)' } as ExcelJS.CellFormulaValue;
    const status = await imported(Buffer.from(await wb.xlsx.writeBuffer()), 'formulas.xlsx');
    expect(status).toMatchObject({ imported: 1, rejected: 1 });
    expect(status.errors).toEqual([{ row: 3, path: 'contractAmount', message: expect.stringContaining('公式且没有保存计算结果') }]);
    expect((await Contract.findOne({ registrationNumber: withValue.registrationNumber as string }).lean())!.contractAmountFen).toBe(51000_00);
    // In CSV a formula is text that would run in a spreadsheet: refused, not stored.
    const csv = await imported(csvOf([importRow(year, 3, { title: '=HYPERLINK("http://evil.test","点击")' })]), 'formula.csv');
    expect(csv).toMatchObject({ imported: 0, rejected: 1, errors: [{ row: 2, path: 'title', message: expect.stringContaining('公式') }] });
  });

  it('refuses very long cells row by row, keeping only their beginning', async () => {
    const year = thisYear - 8;
    const long = '长'.repeat(100_000);
    const rows = [importRow(year, 1, { title: long }), importRow(year, 2), importRow(year, 3, { sellerName: 'x'.repeat(5000) })];
    for (const [bytes, name] of [[await xlsxOf(rows), 'long.xlsx'], [csvOf(rows.map((r, i) => ({ ...r, registrationNumber: `${year}630100${String(10 + i).padStart(6, '0')}` }))), 'long.csv']] as [Buffer, string][]) {
      const status = await imported(bytes, name);
      expect([name, status.imported, status.rejected]).toEqual([name, 1, 2]);
      expect(status.errors).toEqual([
        { row: 2, path: 'title', message: '内容过长（超过 2000 个字符）。' },
        { row: 4, path: 'sellerName', message: '内容过长（超过 2000 个字符）。' },
      ]);
    }
    expect(await ImportJob.countDocuments({ status: 'failed', filename: { $in: ['long.xlsx', 'long.csv'] } })).toBe(0);
  });
});

describe('after an import', () => {
  it('reconciliation finds nothing to correct', async () => {
    await refreshesSettled();
    for (const y of [thisYear, thisYear - 2, thisYear - 3, thisYear - 4]) await applyPending(y);
    const run = await reconcile({ redis: t.redis, prefix: t.config.queuePrefix, targetFen: t.config.turnoverTargetFen, agencyCode: '630100' }, 'test');
    expect(run.missingEntries).toBe(0);
    expect(run.corrected).toEqual([]);
    expect(run.unresolved).toEqual([]);
  });

  it('keeps imported contracts from every applicant, and lets the bureau read and revoke them like any registration', async () => {
    const imp = (await Contract.findOne({ source: 'import', registrationYear: thisYear - 3 }).lean())!;
    const applicant = await verifiedApplicant(t.app);
    const mine = await request(t.app).get('/api/v1/contracts?pageSize=100').set(bearer(applicant.token)).expect(200);
    expect(mine.body.items.some((c: { source?: string; registrationNumber: string }) => c.registrationNumber === imp.registrationNumber)).toBe(false);
    await request(t.app).get(`/api/v1/contracts/${imp._id}`).set(bearer(applicant.token)).expect(404);
    const bureau = await request(t.app).get(`/api/v1/contracts/${imp._id}`).set(bearer(admin)).expect(200);
    expect(bureau.body).toMatchObject({ status: 'registered', registrationNumber: imp.registrationNumber, version: 1, decision: { kind: 'registered' } });
    // No certificate is rendered for an import in the background; the first download renders it.
    expect(imp.certificateFileId).toBeUndefined();
    const pdf = await request(t.app).get(`/api/v1/contracts/${imp._id}/certificate.pdf`).set(bearer(admin)).buffer(true).parse(binary).expect(200);
    expect((pdf.body as Buffer).subarray(0, 5).toString()).toBe('%PDF-');
    const before = await totalsOf(thisYear - 3);
    await request(t.app).post(`/api/v1/contracts/${imp._id}/revoke`).set(bearer(admin)).send({ reason: '重复登记' }).expect(200);
    const after = await totalsOf(thisYear - 3);
    expect([after.count - before.count, after.contractFen - before.contractFen]).toEqual([-1, -imp.contractAmountFen!]);
    const run = await reconcile({ redis: t.redis, prefix: t.config.queuePrefix, targetFen: t.config.turnoverTargetFen, agencyCode: '630100' }, 'test');
    expect([run.missingEntries, run.corrected, run.unresolved]).toEqual([0, [], []]);
  });
});

describe('who may import', () => {
  it('is the bureau admin only, on every route', async () => {
    const reviewer = await reviewerToken(t.app);
    const applicant = (await verifiedApplicant(t.app)).token;
    const some = (await ImportJob.findOne().lean())!;
    const routes: [string, string][] = [['get', '/api/v1/imports/template.xlsx'], ['post', '/api/v1/imports'], ['get', '/api/v1/imports'], ['get', `/api/v1/imports/${some._id}`], ['get', `/api/v1/imports/${some._id}/errors.csv`]];
    for (const [method, path] of routes) {
      for (const [who, token, status] of [['anonymous', null, 401], ['applicant', applicant, 403], ['reviewer', reviewer, 403]] as const) {
        let req = (request(t.app) as unknown as Record<string, (p: string) => request.Test>)[method](path);
        if (token) req = req.set(bearer(token));
        expect([who, method, path, (await req).status]).toEqual([who, method, path, status]);
      }
    }
    await request(t.app).get(`/api/v1/imports/${new Types.ObjectId()}`).set(bearer(admin)).expect(404);
    await request(t.app).get('/api/v1/imports/nonsense').set(bearer(admin)).expect(404);
  });
});

describe('the pages', () => {
  it('upload through the form and follow the import, with the figures in the page itself', async () => {
    const email = (await makeBureauUser('admin')).email;
    const agent = await signedInAgent(t.app, email);
    const list = await agent.get('/admin/imports').expect(200);
    expect(list.text).toContain('/api/v1/imports/template.xlsx');
    const token = csrfFrom(list.text.replace(/action="\/admin\/imports\?_csrf=([^"]+)"/, 'name="_csrf" value="$1"'));
    const year = thisYear - 9;
    const posted = await agent.post(`/admin/imports?_csrf=${token}`).attach('file', csvOf([importRow(year, 1), importRow(year, 2, { technicalAmount: 'x' })]), { filename: '表单上传.csv' }).expect(303);
    const id = posted.headers.location.split('/').pop()!;
    const queued = await agent.get(`/admin/imports/${id}`).expect(200);
    expect(queued.text).toContain('排队中');
    expect(queued.text).toContain('/static/js/import-progress.js');
    expect(queued.text).toMatch(/<progress class="bar" data-import="bar"/);
    await runImport(id, deps());
    const done = await agent.get(`/admin/imports/${id}`).expect(200);
    expect(done.text).toContain('已完成');
    expect(done.text).toMatch(/<progress class="bar" data-import="bar" max="2" value="2"/);
    expect(done.text).toContain(`/api/v1/imports/${id}/errors.csv`);
    expect(done.text).toContain('请输入金额');
    expect(done.text).not.toContain('import-progress.js');
    // The polling script reads the same figures through the API with the session.
    expect((await agent.get(`/api/v1/imports/${id}`).expect(200)).body).toMatchObject({ status: 'done', imported: 1, rejected: 1 });
    // A file that is not a table is refused on the form.
    const refused = await agent.post(`/admin/imports?_csrf=${token}`).attach('file', await makePdf(), { filename: 'x.pdf' }).expect(415);
    expect(refused.text).toContain('文件不是 Excel 工作簿');
    expect((await agent.get('/admin/imports').expect(200)).text).toContain('表单上传.csv');
    // The bureau opens an imported contract like any registered one (no PDF: it was registered elsewhere).
    const one = (await Contract.findOne({ registrationYear: year, source: 'import' }).lean())!;
    const page = await agent.get(`/review/${one._id}`).expect(200);
    expect(page.text).toContain(one.registrationNumber!);
    // The public verification knows its number.
    expect((await request(t.app).get(`/api/v1/public/certificates/${one.registrationNumber}`).expect(200)).body).toMatchObject({ status: 'registered' });
  });
});
