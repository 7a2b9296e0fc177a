/** The bureau's statistics: tables by year with year-on-year change, exports, reconciliation. */
import ExcelJS from 'exceljs';
import { Router, type Response } from 'express';
import type { TFunction } from 'i18next';
import { z } from 'zod';
import { codeLabel, CONTRACT_TYPES, TECHNICAL_FIELDS } from '../../domain/codes';
import { formatYuan, formatYuanGrouped } from '../../domain/money';
import { cstDate, cstYear, cstYearBounds } from '../../domain/time';
import type { AppDeps } from '../../lib/deps';
import { AppError } from '../../lib/errors';
import { authorize, requireUser } from '../../lib/http/authorize';
import { sendCsv } from '../../lib/http/csv';
import { flash } from '../../lib/http/forms';
import { enqueue } from '../../lib/queues';
import { parseInput } from '../../lib/validation';
import { recordAudit } from '../audit/audit.service';
import { Contract } from '../contracts/contract.model';
import { lastReconciliation } from '../turnover/turnover.service';
import { buildTables, statsForYear, TABLES, tableCells, type StatTable } from './stats.service';

const yearSchema = z.object({ year: z.coerce.number().int().min(2000).max(2200).optional() });
const exportSchema = yearSchema.extend({ table: z.enum(TABLES).default('summary') });

const TABLE_TITLES: Record<string, string> = {
  summary: 'stats.total', type: 'stats.byType', field: 'stats.byField', nature: 'stats.byNature', ipType: 'stats.byIpType',
  priorityArea: 'stats.byPriorityArea', planSource: 'stats.byPlanSource', month: 'stats.byMonth',
};

function tablesFor(res: Response, data: Awaited<ReturnType<typeof statsForYear>>) {
  const t = res.locals.t as TFunction;
  const lang = res.locals.lang as string;
  return buildTables(data.tally, data.prev, lang, {
    total: t('stats.total'),
    sellerSide: t('stats.sellerSide'),
    buyerSide: t('stats.buyerSide'),
    large: t('stats.large'),
    none: t('stats.none'),
    unknown: t('stats.unknown'),
    month: (m) => (lang === 'en' ? `Month ${Number(m)}` : `${Number(m)} 月`),
  });
}

async function sendXlsx(res: Response, filename: string, sheets: { name: string; rows: (string | number)[][] }[]) {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Technology contract registry';
  for (const s of sheets) {
    const ws = wb.addWorksheet(s.name.slice(0, 31));
    ws.addRows(s.rows);
    ws.getRow(1).font = { bold: true };
    ws.columns.forEach((c) => (c.width = 20));
  }
  res.set({ 'Content-Type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'Content-Disposition': `attachment; filename="${filename}"`, 'Cache-Control': 'no-store' });
  await wb.xlsx.write(res);
  res.end();
}

const REGISTER_HEADERS = ['登记编号', '合同名称', '合同编号', '合同类别', '技术领域', '卖方', '卖方统一社会信用代码', '买方', '成交额（元）', '技术交易额（元）', '登记日期', '状态'];

/** The year's register for the export, by number (the year as a range of registration instants). */
export const registerOfYear = (year: number) =>
  Contract.find({ status: { $in: ['registered', 'revoked'] }, registeredAt: cstYearBounds(year) })
    .sort({ registrationNumber: 1 })
    .select({ registrationNumber: 1, title: 1, contractNumber: 1, type: 1, technicalField: 1, 'seller.name': 1, 'seller.uscc': 1, 'buyers.name': 1, contractAmountFen: 1, technicalAmountFen: 1, registeredAt: 1, status: 1 })
    .lean()
    .cursor();

async function* registerRows(year: number): AsyncGenerator<(string | number)[]> {
  yield REGISTER_HEADERS;
  for await (const c of registerOfYear(year)) {
    yield [
      c.registrationNumber ?? '', c.title ?? '', c.contractNumber ?? '', codeLabel(CONTRACT_TYPES, c.type, 'zh'), codeLabel(TECHNICAL_FIELDS, c.technicalField, 'zh'),
      c.seller?.name ?? '', c.seller?.uscc ?? '', (c.buyers ?? []).map((b) => b.name).join('；'),
      formatYuan(c.contractAmountFen ?? 0), formatYuan(c.technicalAmountFen ?? 0), c.registeredAt ? cstDate(c.registeredAt) : '', c.status === 'revoked' ? '已撤销' : '有效',
    ];
  }
}

export function statsPages(deps: AppDeps): Router {
  const router = Router();
  const reading = authorize('stats.read');

  /** GET /stats?year=: every table for a year, beside the year before. */
  router.get('/stats', reading, async (req, res) => {
    const { year } = parseInput(yearSchema, req.query);
    const y = year ?? cstYear(new Date());
    const tables = tablesFor(res, await statsForYear(y));
    const run = await lastReconciliation();
    const fmt = (tbl: StatTable) => ({
      ...tbl,
      title: (res.locals.t as TFunction)(TABLE_TITLES[tbl.name]),
      rows: tbl.rows.map((r) => ({ ...r, contractText: formatYuanGrouped(r.contractFen), technicalText: formatYuanGrouped(r.technicalFen), lastYearText: formatYuanGrouped(r.lastYearFen) })),
    });
    res.render('stats/index', { year: y, years: Array.from({ length: 6 }, (_, i) => cstYear(new Date()) - i), tables: tables.map(fmt), run, isAdmin: requireUser(res).role === 'admin' });
  });

  /** GET /stats/export.csv|xlsx?year=&table=: one table, Chinese headers. */
  router.get('/stats/export.:format', reading, async (req, res) => {
    const { year, table } = parseInput(exportSchema, req.query);
    const y = year ?? cstYear(new Date());
    const tbl = tablesFor(res, await statsForYear(y)).find((x) => x.name === table)!;
    const name = `stats-${y}-${table}`;
    if (req.params.format === 'csv') return sendCsv(res, `${name}.csv`, tableCells(tbl));
    if (req.params.format === 'xlsx') return sendXlsx(res, `${name}.xlsx`, [{ name: table, rows: tableCells(tbl) }]);
    throw new AppError('NOT_FOUND');
  });

  /** GET /stats/register.csv|xlsx?year=: the full register of a year. */
  router.get('/stats/register.:format', reading, async (req, res) => {
    const { year } = parseInput(yearSchema, req.query);
    const y = year ?? cstYear(new Date());
    if (req.params.format === 'csv') return sendCsv(res, `register-${y}.csv`, registerRows(y));
    if (req.params.format === 'xlsx') {
      const rows: (string | number)[][] = [];
      for await (const r of registerRows(y)) rows.push(r);
      return sendXlsx(res, `register-${y}.xlsx`, [{ name: `${y}`, rows }]);
    }
    throw new AppError('NOT_FOUND');
  });

  /** POST /stats/reconcile: an admin asks for a reconciliation now (run by the worker). */
  router.post('/stats/reconcile', authorize('bureau.admin'), async (req, res) => {
    const user = requireUser(res);
    await enqueue(deps.queues, 'turnover', 'reconcile', { trigger: 'admin', actorEmail: user.email }, `reconcile-admin-${Date.now()}`);
    await recordAudit({ actor: user, action: 'turnover.reconcile_requested', ip: req.ip });
    flash(req, 'success', (res.locals.t as TFunction)('stats.reconcileQueued'));
    res.redirect(303, '/stats');
  });

  return router;
}
