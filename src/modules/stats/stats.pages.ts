/** The bureau's statistics: tables by year with year-on-year change, exports, reconciliation. */
import { Router, type Response } from 'express';
import type { TFunction } from 'i18next';
import { z } from 'zod';
import { codeLabel, CONTRACT_TYPES, TECHNICAL_FIELDS } from '../../domain/codes';
import { formatYuan, formatYuanGrouped } from '../../domain/money';
import { cstDate, cstDateTime, cstYear, cstYearBounds } from '../../domain/time';
import type { AppDeps } from '../../lib/deps';
import { AppError } from '../../lib/errors';
import { authorize, requireUser } from '../../lib/http/authorize';
import { sendCsv } from '../../lib/http/csv';
import { sendXlsx, type SheetCell, type SheetColumn } from '../../lib/http/xlsx';
import { flash } from '../../lib/http/forms';
import { enqueue } from '../../lib/queues';
import { parseInput } from '../../lib/validation';
import { recordAudit } from '../audit/audit.service';
import { Contract } from '../contracts/contract.model';
import { lastReconciliation } from '../turnover/turnover.service';
import { buildTables, changePct, statsForYear, TABLES, tableCells, tableSheet, type StatTable } from './stats.service';
import { chartSeries, headlineFigure, tableLabels } from './stats.view';

const yearSchema = z.object({ year: z.coerce.number().int().min(2000).max(2200).optional() });
const exportSchema = yearSchema.extend({ table: z.enum(TABLES).default('summary') });

const TABLE_TITLES: Record<string, string> = {
  summary: 'stats.total', type: 'stats.byType', field: 'stats.byField', nature: 'stats.byNature', ipType: 'stats.byIpType',
  priorityArea: 'stats.byPriorityArea', planSource: 'stats.byPlanSource', month: 'stats.byMonth',
};

function tablesFor(res: Response, data: Awaited<ReturnType<typeof statsForYear>>) {
  const t = res.locals.t as TFunction;
  const lang = res.locals.lang as string;
  return buildTables(data.tally, data.prev, lang, tableLabels(t, lang));
}

const REGISTER_COLUMNS: SheetColumn[] = [
  { header: '登记编号' }, { header: '合同名称' }, { header: '合同编号' }, { header: '合同类别' }, { header: '技术领域' },
  { header: '卖方' }, { header: '卖方统一社会信用代码' }, { header: '买方' },
  { header: '成交额（元）', kind: 'money' }, { header: '技术交易额（元）', kind: 'money' }, { header: '登记日期' }, { header: '状态' },
];
const REVOKED = '已撤销';

/** The year's register for the export, by number (the year as a range of registration instants). */
export const registerOfYear = (year: number) =>
  Contract.find({ status: { $in: ['registered', 'revoked'] }, registeredAt: cstYearBounds(year) })
    .sort({ registrationNumber: 1 })
    .select({ registrationNumber: 1, title: 1, contractNumber: 1, type: 1, technicalField: 1, 'seller.name': 1, 'seller.uscc': 1, 'buyers.name': 1, contractAmountFen: 1, technicalAmountFen: 1, registeredAt: 1, status: 1 })
    .lean()
    .cursor();

/** The year's register, one row per registration, amounts in integer fen. */
async function* registerRecords(year: number): AsyncGenerator<SheetCell[]> {
  for await (const c of registerOfYear(year)) {
    yield [
      c.registrationNumber ?? '', c.title ?? '', c.contractNumber ?? '', codeLabel(CONTRACT_TYPES, c.type, 'zh'), codeLabel(TECHNICAL_FIELDS, c.technicalField, 'zh'),
      c.seller?.name ?? '', c.seller?.uscc ?? '', (c.buyers ?? []).map((b) => b.name).join('；'),
      c.contractAmountFen ?? 0, c.technicalAmountFen ?? 0, c.registeredAt ? cstDate(c.registeredAt) : '', c.status === 'revoked' ? REVOKED : '有效',
    ];
  }
}

/** The same as CSV rows: the header, then amounts as plain yuan decimals, streamed. */
async function* registerCsvRows(year: number): AsyncGenerator<(string | number)[]> {
  yield REGISTER_COLUMNS.map((c) => c.header);
  for await (const r of registerRecords(year)) yield r.map((v, i) => (REGISTER_COLUMNS[i].kind === 'money' ? formatYuan(v as number) : (v ?? '')));
}


export function statsPages(deps: AppDeps): Router {
  const router = Router();
  const reading = authorize('stats.read');

  /** GET /stats?year=: the year at a glance, its charts, and every table beside the year before. */
  router.get('/stats', reading, async (req, res) => {
    const t = res.locals.t as TFunction;
    const lang = res.locals.lang as string;
    const { year } = parseInput(yearSchema, req.query);
    const y = year ?? cstYear(new Date());
    const data = await statsForYear(y);
    const tables = tablesFor(res, data);
    const run = await lastReconciliation();
    const fmt = (tbl: StatTable) => ({
      ...tbl,
      title: t(TABLE_TITLES[tbl.name]),
      rows: tbl.rows.map((r) => ({ ...r, contractText: formatYuanGrouped(r.contractFen), technicalText: formatYuanGrouped(r.technicalFen), lastYearText: formatYuanGrouped(r.lastYearFen) })),
    });
    const { totals, buyerSide, large } = data.tally;
    const byName = (name: string) => tables.find((x) => x.name === name);
    const thisYear = cstYear(new Date());
    res.render('stats/index', {
      year: y,
      years: Array.from({ length: 6 }, (_, i) => thisYear - i).concat(y < thisYear - 5 || y > thisYear ? [y] : []),
      tables: tables.map(fmt),
      run,
      isAdmin: requireUser(res).role === 'admin',
      glance: {
        contracts: totals.count,
        contract: headlineFigure(t, lang, totals.contractFen),
        technical: headlineFigure(t, lang, totals.technicalFen),
        buyerSide: { contracts: buyerSide.count, ...headlineFigure(t, lang, buyerSide.contractFen) },
        large: { contracts: large.count, ...headlineFigure(t, lang, large.contractFen) },
        change: changePct(totals.contractFen, data.prev.totals.contractFen),
      },
      updatedAt: data.updatedAt ? cstDateTime(data.updatedAt) : null,
      charts: { month: chartSeries(byName('month')), type: chartSeries(byName('type')), field: chartSeries(byName('field')) },
    });
  });

  /** GET /stats/export.csv|xlsx?year=&table=: one table, Chinese headers; in Excel with a title row and totals. */
  router.get('/stats/export.:format', reading, async (req, res) => {
    const t = res.locals.t as TFunction;
    const { year, table } = parseInput(exportSchema, req.query);
    const y = year ?? cstYear(new Date());
    const tbl = tablesFor(res, await statsForYear(y)).find((x) => x.name === table)!;
    const name = `stats-${y}-${table}`;
    if (req.params.format === 'csv') return sendCsv(res, `${name}.csv`, tableCells(tbl));
    if (req.params.format === 'xlsx') {
      const title = t('lists.sheetTitle', { title: `${t('lists.statsSheet')} · ${t(TABLE_TITLES[table])}`, year: y, time: cstDateTime(new Date()) });
      return sendXlsx(res, `${name}.xlsx`, [tableSheet(tbl, title)]);
    }
    throw new AppError('NOT_FOUND');
  });

  /** GET /stats/register.csv|xlsx?year=: the full register of a year (Excel: totals of the registrations in force). */
  router.get('/stats/register.:format', reading, async (req, res) => {
    const t = res.locals.t as TFunction;
    const { year } = parseInput(yearSchema, req.query);
    const y = year ?? cstYear(new Date());
    if (req.params.format === 'csv') return sendCsv(res, `register-${y}.csv`, registerCsvRows(y));
    if (req.params.format === 'xlsx') {
      const rows: SheetCell[][] = [];
      for await (const r of registerRecords(y)) rows.push(r);
      const status = REGISTER_COLUMNS.length - 1;
      return sendXlsx(res, `register-${y}.xlsx`, [{
        name: `${y}`,
        title: t('lists.sheetTitle', { title: t('lists.registerSheet'), year: y, time: cstDateTime(new Date()) }),
        columns: REGISTER_COLUMNS,
        rows,
        // Revoked registrations are listed but count for nothing, as in the statistics.
        totals: { label: (n) => t('lists.totalsRegistered', { count: n }), counts: (r) => r[status] !== REVOKED },
      }]);
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
