/**
 * The dashboard in words and figures, for a language: the API's JSON, the page's figures and
 * the Excel workbook all come from the same plain values (dashboard.service).
 */
import type { TFunction } from 'i18next';
import { PRIORITY_AREAS } from '../../domain/codes';
import { COMPARISON_SIGNS, figureOut, figureText, isMet, type Comparison, type IndicatorUnit } from '../../domain/indicators';
import { formatFenLarge, formatYuan, formatYuanGrouped } from '../../domain/money';
import { cstDateTime, cstIso } from '../../domain/time';
import type { SheetSpec } from '../../lib/http/xlsx';
import type { AreaRow, Dashboard, IndicatorState } from './dashboard.service';

type Status = 'met' | 'notMet' | 'inProgress' | 'noData' | 'noTarget';

const areaLabel = (code: string, t: TFunction, lang: string) => {
  const l = PRIORITY_AREAS[code as keyof typeof PRIORITY_AREAS];
  return l ? (lang === 'en' ? l.en : l.zh) : t('plan.areas.none');
};

export const unitLabel = (t: TFunction, unit: IndicatorUnit) => t(`plan.units.${unit}`);

/** A figure with its unit for people: "2.31%", "7.5 件/万人", "3.52 亿元". */
export function figureWithUnit(t: TFunction, lang: string, unit: IndicatorUnit, hundredths: number): string {
  if (unit === 'yuan') {
    const l = formatFenLarge(hundredths, lang === 'en' ? 'en' : 'cn');
    return `${l.value} ${t(`lists.unit_${l.unit}`)}`;
  }
  if (unit === 'percent') return `${figureText(hundredths)}%`;
  return `${figureText(hundredths)} ${unitLabel(t, unit)}`;
}

/** "高于 1.5%" / "above 1.5%". */
export function targetWords(t: TFunction, lang: string, unit: IndicatorUnit, comparison: Comparison | null, hundredths: number | null): string {
  if (comparison === null || hundredths === null) return t('plan.noTarget');
  return `${t(`plan.comparisons.${comparison}`)} ${figureWithUnit(t, lang, unit, hundredths)}`;
}

function statusOf(i: IndicatorState, year: number, thisYear: number): Status {
  if (i.targetHundredths === null) return 'noTarget';
  if (i.met === null) return 'noData';
  if (i.met) return 'met';
  return year >= thisYear ? 'inProgress' : 'notMet';
}

const amount = (fen: number) => formatYuan(fen);

/** GET /api/v1/public/indicators: API.md's fields, plus the comparison, the trend and the priority areas. */
export function indicatorsPayload(d: Dashboard, t: TFunction, lang: string) {
  const source = (i: IndicatorState) => (i.live ? t('plan.registrySource') : i.source);
  return {
    year: d.year,
    plan: d.targets.plan,
    /** The year the targets were entered for: earlier than `year` when they are carried forward. */
    targetsFrom: d.targets.fromYear,
    carried: d.targets.carried,
    indicators: d.indicators.map((i) => ({
      key: i.key,
      label: t(`plan.indicators.${i.key}`),
      unit: i.unit,
      unitLabel: unitLabel(t, i.unit),
      comparison: i.comparison,
      target: figureOut(i.unit, i.targetHundredths),
      value: figureOut(i.unit, i.value),
      source: source(i),
      asOf: i.asOf,
      met: i.met,
      live: i.live,
      updatedAt: i.updatedAt ? cstIso(new Date(i.updatedAt)) : null,
      latest: i.latest ? { year: i.latest.year, value: figureOut(i.unit, i.latest.value), source: i.latest.source, asOf: i.latest.asOf } : null,
      trend: i.trend.map((p) => ({ year: p.year, value: figureOut(i.unit, p.value), target: figureOut(i.unit, p.target), comparison: p.comparison, met: isMetPoint(p) })),
    })),
    priorityAreas: {
      contracts: d.areas.contracts,
      contractAmount: amount(d.areas.contractFen),
      items: d.areas.rows.map((r) => ({ code: r.code, label: areaLabel(r.code, t, lang), contracts: r.contracts, contractAmount: amount(r.contractFen), share: r.share, contractsShare: r.contractsShare })),
    },
  };
}

const isMetPoint = (p: { value: number | null; target: number | null; comparison: Comparison | null }) => (p.comparison ? isMet(p.value, p.target, p.comparison) : null);

/** What the page shows. */
export function pageModel(d: Dashboard, t: TFunction, lang: string, thisYear: number) {
  const ladder = lang === 'en' ? 'en' : 'cn';
  const indicators = d.indicators.map((i) => {
    const status = statusOf(i, d.year, thisYear);
    const large = i.unit === 'yuan' && i.value !== null ? formatFenLarge(i.value, ladder) : null;
    return {
      key: i.key,
      label: t(`plan.indicators.${i.key}`),
      live: i.live,
      unit: i.unit,
      status,
      statusText: t(`plan.status.${status}`),
      targetText: targetWords(t, lang, i.unit, i.comparison, i.targetHundredths),
      valueText: i.value === null ? null : figureWithUnit(t, lang, i.unit, i.value),
      exactText: large && large.unit !== 'yuan' ? `¥ ${formatYuanGrouped(i.value!)}` : null,
      source: i.live ? t('plan.registrySource') : i.source,
      asOf: i.asOf,
      latest: i.latest ? { year: i.latest.year, text: figureWithUnit(t, lang, i.unit, i.latest.value), source: i.latest.source, asOf: i.latest.asOf } : null,
      trend: i.trend.map((p) => ({
        year: p.year,
        valueText: p.value === null ? '—' : figureWithUnit(t, lang, i.unit, p.value),
        targetText: targetWords(t, lang, i.unit, p.comparison, p.target),
        metText: (() => {
          const m = isMetPoint(p);
          return m === null ? '—' : m ? t('plan.status.met') : p.year >= thisYear ? t('plan.status.inProgress') : t('plan.status.notMet');
        })(),
      })),
      chart: {
        labels: i.trend.map((p) => String(p.year)),
        // Hundredths as numbers to draw (money stays integer fen, read by the money axis).
        values: i.trend.map((p) => (p.value === null ? null : i.unit === 'yuan' ? p.value : p.value / 100)),
        targets: i.trend.map((p) => (p.target === null ? null : i.unit === 'yuan' ? p.target : p.target / 100)),
        money: i.unit === 'yuan',
        unit: i.unit === 'percent' ? '%' : i.unit === 'yuan' ? '' : ` ${unitLabel(t, i.unit)}`,
        empty: i.trend.every((p) => p.value === null),
      },
    };
  });
  const areas = d.areas.rows.map((r: AreaRow) => ({
    ...r,
    label: areaLabel(r.code, t, lang),
    contractText: formatYuanGrouped(r.contractFen),
    shareText: r.share === null ? '—' : `${r.share.toFixed(1)}%`,
    contractsShareText: r.contractsShare === null ? '—' : `${r.contractsShare.toFixed(1)}%`,
  }));
  return {
    indicators,
    met: indicators.filter((i) => i.status === 'met').length,
    areas,
    areasTotal: { contracts: d.areas.contracts, contractText: formatYuanGrouped(d.areas.contractFen) },
    updatedAt: d.tallyUpdatedAt ? cstDateTime(new Date(d.tallyUpdatedAt)) : null,
  };
}

/** A figure in a sheet's cell: hundredths to the decimal (yuan for money), the cell's one division. */
const cell = (h: number | null): number | null => (h === null ? null : h / 100);

/**
 * The workbook: the indicators (Chinese headers, as the other exports), the priority areas
 * with a totals row, and the trends year by year.
 */
export function dashboardSheets(d: Dashboard, t: TFunction, thisYear: number): SheetSpec[] {
  const zh = (key: string) => t(key, { lng: 'zh-CN' });
  const time = cstDateTime(new Date());
  const title = (what: string) => t('lists.sheetTitle', { title: `${t('plan.title')} · ${what}`, year: d.year, time });
  const indicators: SheetSpec = {
    name: '规划指标',
    title: title(t('plan.indicatorsHeading')),
    columns: [{ header: '指标' }, { header: '单位' }, { header: '比较' }, { header: '目标值' }, { header: '当前值' }, { header: '是否达标' }, { header: '来源' }, { header: '截至日期' }, { header: '规划' }],
    rows: d.indicators.map((i) => [
      zh(`plan.indicators.${i.key}`),
      zh(`plan.units.${i.unit}`),
      i.comparison ? `${zh(`plan.comparisons.${i.comparison}`)}（${COMPARISON_SIGNS[i.comparison]}）` : '',
      cell(i.targetHundredths),
      cell(i.value),
      zh(`plan.status.${statusOf(i, d.year, thisYear)}`),
      i.live ? zh('plan.registrySource') : (i.source ?? ''),
      i.asOf ?? '',
      d.targets.plan ?? '',
    ]),
  };
  const areas: SheetSpec = {
    name: '重点领域',
    title: title(t('plan.areasHeading')),
    columns: [{ header: '重点领域' }, { header: '合同数', kind: 'count' }, { header: '合同数占比（%）' }, { header: '成交额（元）', kind: 'money' }, { header: '成交额占比（%）' }],
    rows: d.areas.rows.map((r) => [areaLabel(r.code, t, 'zh-CN'), r.contracts, r.contractsShare, r.contractFen, r.share]),
    totals: { label: () => '合计', derive: (sums) => ({ 2: sums[1] > 0 ? 100 : null, 4: sums[3] > 0 ? 100 : null }) },
  };
  const years = d.indicators[0]?.trend.map((p) => p.year) ?? [];
  const trend: SheetSpec = {
    name: '历年趋势',
    title: title(t('plan.trendHeading')),
    columns: [{ header: '年份' }, ...d.indicators.map((i) => ({ header: `${zh(`plan.indicators.${i.key}`)}（${zh(`plan.units.${i.unit}`)}）` }))],
    rows: years.map((y, n) => [String(y), ...d.indicators.map((i) => cell(i.trend[n].value))]),
  };
  return [indicators, areas, trend];
}

/** Columns of the sheets that hold shares (per cent), for their number format. */
export const SHARE_COLUMNS: Record<string, number[]> = { 重点领域: [3, 5] };
