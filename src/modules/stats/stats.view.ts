/** How the statistics read on a page, the staff's /stats and the public /statistics alike. */
import type { TFunction } from 'i18next';
import { formatFenLarge, formatYuanGrouped } from '../../domain/money';
import type { StatTable, TableLabels } from './stats.service';

/** The tables' row labels in a language. */
export function tableLabels(t: TFunction, lang: string): TableLabels {
  return {
    total: t('stats.total'),
    sellerSide: t('stats.sellerSide'),
    buyerSide: t('stats.buyerSide'),
    large: t('stats.large'),
    none: t('stats.none'),
    unknown: t('stats.unknown'),
    month: (m) => (lang === 'en' ? `Month ${Number(m)}` : `${Number(m)} 月`),
  };
}

/** A headline amount: in 万元/亿元 (million/billion in English) with the exact yuan beside it. */
export function headlineFigure(t: TFunction, lang: string, fen: number) {
  const l = formatFenLarge(fen, lang === 'en' ? 'en' : 'cn');
  // In yuan the figure is the exact amount already: no second line for it.
  return { value: l.value, unit: t(`lists.unit_${l.unit}`), exact: formatYuanGrouped(fen), scaled: l.unit !== 'yuan' };
}

/** A chart's series from a table: labels and integer fen (all zero: nothing to draw). */
export function chartSeries(tbl: StatTable | undefined) {
  const rows = (tbl?.rows ?? []).filter((r) => r.contractFen !== 0 || tbl?.name === 'month');
  return { labels: rows.map((r) => r.label), values: rows.map((r) => r.contractFen), empty: rows.every((r) => r.contractFen === 0) };
}
