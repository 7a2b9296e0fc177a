/**
 * The plan dashboard (/plan, public; /plan.xlsx) and the bureau's page for the targets and the
 * values it enters (/admin/plan). The pages and the API share the services.
 */
import { Router, type Request, type Response } from 'express';
import type { TFunction } from 'i18next';
import { COMPARISONS, hundredthsOf, INDICATOR_KEYS, INDICATORS, type IndicatorKey } from '../../domain/indicators';
import { cstDateTime, cstYear } from '../../domain/time';
import type { AppDeps } from '../../lib/deps';
import { AppError } from '../../lib/errors';
import { authorize, currentUser, openToAnyone, requireUser } from '../../lib/http/authorize';
import { emptyForm, flash, isFormError, type FormState } from '../../lib/http/forms';
import { translate } from '../../lib/http/errors';
import { workbookOf } from '../../lib/http/xlsx';
import { parseInput } from '../../lib/validation';
import { planDashboard } from './dashboard.service';
import { figuresOfYear, setIndicatorValue } from './indicators.service';
import { FIRST_YEAR, LAST_TARGET_YEAR, lastValueYear, readFigure, readTargets, yearParam, yearQuery } from './plan.input';
import { dashboardSheets, figureWithUnit, pageModel, SHARE_COLUMNS, unitLabel } from './plan.view';
import { seeded } from './plan.api';
import { setTargets, targetsFor } from './targets.service';

/** The name of a field of the admin page's forms, for the error summary ("研发经费投入强度 · 来源"). */
function fieldLabel(t: TFunction, field: string): string | undefined {
  if (field === 'plan') return t('plan.admin.planName');
  const m = /^(target|comparison|value|source|asOf)_(.+)$/.exec(field);
  if (!m || !(INDICATOR_KEYS as readonly string[]).includes(m[2])) return undefined;
  const indicator = t(`plan.indicators.${m[2]}`);
  if (m[1] === 'target') return t('plan.admin.targetLabel', { indicator });
  if (m[1] === 'comparison') return t('plan.admin.comparisonLabel', { indicator });
  const unit = unitLabel(t, INDICATORS[m[2] as IndicatorKey].unit);
  const name = { value: t('plan.admin.valueLabel', { unit }), source: t('plan.admin.sourceLabel'), asOf: t('plan.admin.asOfLabel') }[m[1] as 'value' | 'source' | 'asOf'];
  return `${indicator} · ${name}`;
}

/** Where a field stands on the admin page: the plan's name, then row by row, each row's fields left to right. */
function fieldRank(field: string): number {
  const m = /^(comparison|target|value|asOf|source)_(.+)$/.exec(field);
  if (!m) return -1;
  return (INDICATOR_KEYS as readonly string[]).indexOf(m[2]) * 10 + ['comparison', 'target', 'value', 'asOf', 'source'].indexOf(m[1]);
}

/** The first year of the 14th Five-Year Plan: the year picker reaches back at least that far. */
const PLAN_START = 2021;

const yearOf = (req: Request) => parseInput(yearQuery, req.query).year ?? cstYear(new Date());

/** The years to pick from: this year back to the plan's start (and the year shown, if outside). */
function yearChoices(year: number, ahead = 0): number[] {
  const thisYear = cstYear(new Date());
  const oldest = Math.min(PLAN_START, thisYear - 5);
  const list = Array.from({ length: thisYear + ahead - oldest + 1 }, (_, i) => thisYear + ahead - i);
  return list.includes(year) ? list : [...list, year].sort((a, b) => b - a);
}

const SHARE_FORMAT = '0.0"%"';

export function planPages(deps: AppDeps): Router {
  const router = Router();
  const seed = seeded(deps);
  const manage = authorize('plan.manage');

  /** GET /plan?year=: the six indicators of a year against their targets, their trends, and the ten priority areas. */
  router.get('/plan', openToAnyone('the plan dashboard'), seed, async (req, res) => {
    const t = res.locals.t as TFunction;
    const lang = res.locals.lang as string;
    const year = yearOf(req);
    const thisYear = cstYear(new Date());
    const d = await planDashboard(year);
    const model = pageModel(d, t, lang, thisYear);
    res.set('Cache-Control', 'no-cache');
    res.render('plan/index', {
      year,
      years: yearChoices(year),
      targets: { plan: d.targets.plan, fromYear: d.targets.fromYear, carried: d.targets.carried },
      ...model,
      isAdmin: currentUser(res)?.role === 'admin',
      charts: {
        items: model.indicators.map((i) => ({ key: i.key, label: i.label, ...i.chart })),
        valueLabel: t('plan.valueSeries'),
        targetLabel: t('plan.targetSeries'),
        ladder: lang === 'en' ? 'en' : 'cn',
        units: { yuan: t('lists.unit_yuan'), wan: t('lists.unit_wan'), yi: t('lists.unit_yi'), million: t('lists.unit_million'), billion: t('lists.unit_billion') },
      },
    });
  });

  /** GET /plan.xlsx?year=: the dashboard as a workbook (indicators, priority areas, trends). exceljs loads at the first export. */
  router.get('/plan.xlsx', openToAnyone('the plan dashboard as Excel'), seed, async (req, res) => {
    const t = res.locals.t as TFunction;
    const year = yearOf(req);
    const d = await planDashboard(year);
    const wb = workbookOf(dashboardSheets(d, t, cstYear(new Date())));
    // Shares are per cent without a sign (the helper's percent format is a change: +12.5%).
    for (const [name, cols] of Object.entries(SHARE_COLUMNS)) for (const c of cols) wb.getWorksheet(name)!.getColumn(c).numFmt = SHARE_FORMAT;
    for (const ws of wb.worksheets) for (const r of [1, 2]) ws.getRow(r).eachCell((cell) => (cell.numFmt = 'General'));
    res.set({ 'Content-Type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'Content-Disposition': `attachment; filename="plan-${year}.xlsx"`, 'Cache-Control': 'no-store' });
    await wb.xlsx.write(res);
    res.end();
  });

  /** The admin page, with any refused form shown again at its fields. */
  async function renderAdmin(res: Response, year: number, forms: Record<string, FormState> = {}) {
    const t = res.locals.t as TFunction;
    const lang = res.locals.lang as string;
    const thisYear = cstYear(new Date());
    const [targets, figures, d] = await Promise.all([targetsFor(year), figuresOfYear(year), planDashboard(year)]);
    const model = pageModel(d, t, lang, thisYear);
    const figureOf = new Map(figures.map((f) => [f.key, f]));
    const targetValues: Record<string, unknown> = { plan: targets.plan ?? '' };
    for (const key of INDICATOR_KEYS) {
      const r = targets.rows.get(key);
      targetValues[`target_${key}`] = r?.target ?? '';
      targetValues[`comparison_${key}`] = r?.comparison ?? '';
    }
    res.render('plan/admin', {
      year,
      years: yearChoices(year, 5),
      canEnterValues: year <= lastValueYear() && year >= FIRST_YEAR,
      targets,
      targetForm: forms.targets ?? emptyForm(targetValues),
      comparisons: COMPARISONS.map((c) => ({ value: c, label: t(`plan.comparisons.${c}`) })),
      rows: INDICATOR_KEYS.map((key) => {
        const f = figureOf.get(key) ?? null;
        const shown = model.indicators.find((i) => i.key === key)!;
        return {
          key,
          label: t(`plan.indicators.${key}`),
          unit: INDICATORS[key].unit,
          unitLabel: unitLabel(t, INDICATORS[key].unit),
          live: INDICATORS[key].origin === 'tally',
          shown,
          figure: f,
          form: forms[key] ?? emptyForm(f ? { [`value_${key}`]: f.value, [`source_${key}`]: f.source, [`asOf_${key}`]: f.asOf } : {}),
          // Newest first: who, when, old → new, and the source and date of each.
          history: (f?.history ?? []).slice().reverse().map((h) => ({
            at: cstDateTime(new Date(h.at)),
            who: h.actorEmail ?? '',
            old: h.old ? { text: figureWithUnit(t, lang, INDICATORS[key].unit, hundredthsOf(h.old.value)), source: h.old.source, asOf: h.old.asOf } : null,
            new: { text: figureWithUnit(t, lang, INDICATORS[key].unit, hundredthsOf(h.new.value)), source: h.new.source, asOf: h.new.asOf },
          })),
        };
      }),
    });
  }

  /** GET /admin/plan?year=: the year's targets (a table form) and the values the bureau enters, with their histories. */
  router.get('/admin/plan', manage, seed, async (req, res) => {
    const { year } = parseInput(yearQuery, req.query);
    await renderAdmin(res, year ?? cstYear(new Date()));
  });

  /** POST /admin/plan/{year}/targets: the year's targets from the table form. */
  router.post('/admin/plan/:year/targets', manage, seed, async (req, res) => {
    const year = yearParam(req.params.year, LAST_TARGET_YEAR);
    const b = (req.body ?? {}) as Record<string, unknown>;
    const values: Record<string, unknown> = { plan: b.plan };
    for (const key of INDICATOR_KEYS) {
      values[`target_${key}`] = b[`target_${key}`];
      values[`comparison_${key}`] = b[`comparison_${key}`];
    }
    try {
      const input = readTargets({ plan: b.plan, targets: INDICATOR_KEYS.map((key) => ({ key, target: b[`target_${key}`], comparison: b[`comparison_${key}`] })) }, { forms: true });
      await setTargets(requireUser(res), year, input, req.ip);
    } catch (err) {
      if (!isFormError(err)) throw err;
      const fieldFor = (path: string) => {
        const m = /^targets\.(\d+)\.(target|comparison)$/.exec(path);
        return m ? `${m[2]}_${INDICATOR_KEYS[Number(m[1])]}` : path;
      };
      return renderAdminError(res, year, 'targets', err, values, fieldFor);
    }
    flash(req, 'success', (res.locals.t as TFunction)('plan.targetsSaved', { year }));
    res.redirect(303, `/admin/plan?year=${year}#targets`);
  });

  /** POST /admin/plan/{year}/indicators/{key}: a value with its source and date. */
  router.post('/admin/plan/:year/indicators/:key', manage, seed, async (req, res) => {
    const key = String(req.params.key);
    if (!(INDICATOR_KEYS as readonly string[]).includes(key) || INDICATORS[key as IndicatorKey].origin !== 'entered') throw new AppError('NOT_FOUND');
    const k = key as IndicatorKey;
    const year = yearParam(req.params.year, lastValueYear());
    const b = (req.body ?? {}) as Record<string, unknown>;
    const values = { [`value_${k}`]: b[`value_${k}`], [`source_${k}`]: b[`source_${k}`], [`asOf_${k}`]: b[`asOf_${k}`] };
    try {
      const input = readFigure({ value: b[`value_${k}`], source: b[`source_${k}`], asOf: b[`asOf_${k}`] }, year, k, { forms: true });
      await setIndicatorValue(requireUser(res), year, k, input, req.ip);
    } catch (err) {
      if (!isFormError(err)) throw err;
      return renderAdminError(res, year, k, err, values, (path) => `${path}_${k}`);
    }
    const t = res.locals.t as TFunction;
    flash(req, 'success', t('plan.valueSaved', { indicator: t(`plan.indicators.${k}`), year }));
    res.redirect(303, `/admin/plan?year=${year}#ind-${k}`);
  });

  /** Shows the admin page again with one form's errors at its fields (and the status of the refusal). */
  async function renderAdminError(res: Response, year: number, which: string, err: AppError, values: Record<string, unknown>, fieldFor: (p: string) => string) {
    const t = res.locals.t as TFunction;
    // The summary names each field (form-summary shows `label`).
    const form = { values, errors: {} as Record<string, string>, summary: [] as { field: string; message: string; label?: string }[], formMessage: null as string | null };
    for (const d of err.details) {
      const field = fieldFor(d.path);
      const message = translate(t, d.message, d.params);
      if (!form.errors[field]) form.errors[field] = message;
      form.summary.push({ field, message, label: fieldLabel(t, field) });
    }
    // In the order the fields stand on the page.
    form.summary.sort((a, b) => fieldRank(a.field) - fieldRank(b.field));
    if (!form.summary.length) form.formMessage = translate(t, err.messageKey, err.params);
    res.status(err.status);
    await renderAdmin(res, year, { [which]: form });
  }

  return router;
}
