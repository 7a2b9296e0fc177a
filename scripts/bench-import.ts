/**
 * Import benchmark (not a test): generates workbooks of earlier registrations (10,000 and
 * 100,000 rows, shared strings as Excel writes them), uploads each to the registry `npm start`
 * runs (embedded PostgreSQL + DocumentDB + FerretDB with durable writes, Redis, one web process
 * and one worker from dist/), and times each import from the upload to its last row, sampling
 * the resident memory of the worker and of the process it runs the import in every 200 ms. Then
 * checks that each year's published turnover counts every row once.
 *
 *   npm run bench:import                         (10,000 and 100,000 rows)
 *   BENCH_IMPORT_SIZES=10000,30000 npm run bench:import
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { cstYear } from '../src/domain/time';
import { columnLabel, IMPORT_COLUMNS } from '../src/modules/imports/columns';
import { api, ApiError, log, request, sleep, startStack } from './stack';

const SIZES = (process.env.BENCH_IMPORT_SIZES ?? '10000,100000').split(',').map(Number).filter((n) => n > 0);

/** One generated row: registration `serial` of `year`, every column filled as a clerk would. */
function row(year: number, serial: number): (string | number)[] {
  const v: Record<string, string | number> = {
    registrationNumber: `${year}630100${String(serial).padStart(6, '0')}`,
    registeredAt: `${year}-${String(1 + (serial % 12)).padStart(2, '0')}-${String(1 + (serial % 28)).padStart(2, '0')}`,
    title: `盐湖资源综合利用第${serial}号技术开发合同`,
    contractNumber: `QH-${year}-${serial}`,
    type: '技术开发',
    subtype: '委托开发',
    signedOn: `${year}-01-02`,
    validFrom: `${year}-01-02`,
    validTo: `${year + 1}-12-31`,
    contractAmount: 50_000 + (serial % 1000) * 100,
    technicalAmount: 45_000 + (serial % 1000) * 100,
    sellerName: `青海第${serial % 300}研究院`,
    sellerUscc: '',
    sellerNature: '科研机构',
    sellerRegionCode: '630102',
    buyerName: `柴达木第${serial}新材料有限公司`,
    buyerUscc: '',
    buyerNature: '有限责任公司',
    buyerRegionCode: '632800',
    buyerCountry: '',
    technicalField: '新材料及其应用',
    ipType: '技术秘密',
    socioEconomicObjective: '工业生产与技术',
    priorityArea: '锂电产业',
    paymentMethod: '分期支付',
    planSource: '计划外',
    relatedParty: '否',
  };
  return IMPORT_COLUMNS.map((k) => v[k]);
}

async function writeWorkbook(file: string, year: number, n: number): Promise<void> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: true });
  const ws = wb.addWorksheet('登记数据');
  ws.addRow(IMPORT_COLUMNS.map((k) => columnLabel(k))).commit();
  for (let i = 1; i <= n; i++) ws.addRow(row(year, i)).commit();
  ws.commit();
  await wb.commit();
}

/** The processes a process started (the import's own process, started by the worker). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)]).toString().split('\n').map(Number).filter(Boolean);
  } catch {
    return [];
  }
}

/** A process's current and peak resident memory in MB (/proc), or null once it is gone. */
function memoryOf(pid: number): { rss: number; peak: number } | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

function multipart(filename: string, bytes: Buffer) {
  const boundary = `----import${Math.random().toString(16).slice(2)}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n`;
  return { body: Buffer.concat([Buffer.from(head), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]), contentType: `multipart/form-data; boundary=${boundary}` };
}

async function main() {
  const stack = await startStack();
  const results: string[] = [];
  try {
    const admin = await stack.adminToken();
    const workerPid = stack.worker.pid!;
    log(`registry on ${stack.base} (1 web, 1 worker pid ${workerPid}, FerretDB v2 + PostgreSQL 15, durable); machine: ${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GB`);
    log(`worker at rest: ${memoryOf(workerPid)?.rss.toFixed(0)} MB resident`);
    let year = cstYear(new Date()) - 1;
    for (const n of SIZES) {
      const file = path.join(stack.dir, `import-${n}.xlsx`);
      const t0 = Date.now();
      await writeWorkbook(file, year, n);
      const bytes = fs.readFileSync(file);
      log(`\n${n.toLocaleString('en-US')} rows: ${(bytes.length / 1024 / 1024).toFixed(1)} MB workbook for ${year} (generated in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);

      // The worker's own memory, its import process's (where the import runs), and both together.
      let peak = 0;
      let childPeak = 0;
      let childHwm = 0;
      let sumPeak = 0;
      const sampler = setInterval(() => {
        const m = memoryOf(workerPid);
        const kids = childrenOf(workerPid).map(memoryOf).filter((k): k is NonNullable<typeof k> => k !== null);
        const kidRss = kids.reduce((a, k) => a + k.rss, 0);
        if (m) peak = Math.max(peak, m.rss);
        childPeak = Math.max(childPeak, kidRss);
        childHwm = Math.max(childHwm, ...kids.map((k) => k.peak));
        sumPeak = Math.max(sumPeak, (m?.rss ?? 0) + kidRss);
      }, 200);
      const started = Date.now();
      const form = multipart(`bench-${n}.xlsx`, bytes);
      const up = await request(`${stack.base}/api/v1/imports`, 'POST', { authorization: `Bearer ${admin}`, 'content-type': form.contentType }, form.body);
      if (up.status !== 202) throw new ApiError(up.status, up.text, 'upload');
      const id = JSON.parse(up.text).id as string;
      const uploadedMs = Date.now() - started;
      let status: { status: string; total: number | null; processed: number; imported: number; skipped: number; rejected: number; failure: string | null };
      let lastLine = 0;
      for (;;) {
        status = await api(stack.base, 'GET', `/api/v1/imports/${id}`, undefined, admin);
        if (status.status === 'done' || status.status === 'failed') break;
        if (Date.now() - lastLine > 10_000) {
          lastLine = Date.now();
          const kids = childrenOf(workerPid).map(memoryOf);
          log(`  ${((Date.now() - started) / 1000).toFixed(0)} s: ${status.processed.toLocaleString('en-US')} of ${status.total?.toLocaleString('en-US') ?? '?'} rows, worker ${memoryOf(workerPid)?.rss.toFixed(0)} MB, import process ${kids.map((k) => k?.rss.toFixed(0)).join('+') || '–'} MB`);
        }
        await sleep(250);
      }
      const seconds = (Date.now() - started) / 1000;
      clearInterval(sampler);
      const m = memoryOf(workerPid);
      peak = Math.max(peak, m?.rss ?? 0);
      if (status.status !== 'done') throw new Error(`import of ${n} rows ${status.status}: ${status.failure}`);
      const turnover = await api(stack.base, 'GET', `/api/v1/public/turnover?year=${year}`);
      const line = `${n.toLocaleString('en-US').padStart(7)} rows: ${seconds.toFixed(1).padStart(6)} s (upload ${uploadedMs} ms), ${Math.round(n / seconds).toLocaleString('en-US').padStart(6)} rows/s; peak RSS: worker ${peak.toFixed(0)} MB (${m?.peak.toFixed(0)} MB since it started), import process ${childPeak.toFixed(0)} MB sampled (${childHwm.toFixed(0)} MB its own high-water mark), both together ${sumPeak.toFixed(0)} MB`;
      log(line);
      log(`  imported ${status.imported}, skipped ${status.skipped}, rejected ${status.rejected}; published turnover of ${year}: ${turnover.contracts} contracts, ${turnover.contractAmount} yuan`);
      if (status.imported !== n || turnover.contracts !== n) throw new Error(`expected ${n} imported and counted, got ${status.imported} and ${turnover.contracts}`);
      results.push(line);
      year -= 1;
    }
    log(`\nSummary:\n${results.join('\n')}`);
  } finally {
    await stack.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
