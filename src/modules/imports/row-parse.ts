/**
 * One row of an import: its cells read by their columns' rules and checked with the filing's
 * own validation (domain/contract-input) where it applies, plus what only a registration
 * brought in has: its registration number (16 digits: year, this agency's code, serial) and a
 * registration date in that number's year. Pure: no I/O.
 *
 * Cells keep the text the file wrote, so amounts are parsed from their decimal digits (an Excel
 * number cell included: a float's noise such as 1100000.1000000001 is rounded to the fen it
 * stands for, anything finer is refused); dates may be text (2026-03-05, 2026/3/5, 2026年3月5日),
 * an Excel date (a serial day number) or an ISO date cell.
 */
import { CONTRACT_SUBTYPES, type ContractType } from '../../domain/codes';
import { isCalendarDate, parseContractInput, submissionIssues, type ContractFields, type Party } from '../../domain/contract-input';
import { formatYuan, parseYuan } from '../../domain/money';
import { isCountryCode, countryOptions } from '../../domain/countries';
import { CODE_COLUMNS, DATE_COLUMNS, lookupCode, lookupSubtype, normalise, type ImportColumn } from './columns';
import type { Cell } from './sheet-rows';

export interface RowIssue {
  /** The column (an API key), or '' for the row as a whole. */
  path: ImportColumn | '';
  /** An i18n key. */
  message: string;
  params?: Record<string, unknown>;
}

export interface ImportedRow {
  registrationNumber: string;
  year: number;
  serial: number;
  registeredAt: Date;
  fields: ContractFields;
}

export interface RowContext {
  agencyCode: string;
  /** Today's CST date (YYYY-MM-DD). */
  today: string;
  date1904: boolean;
  /** The cell limit (characters). */
  maxChars: number;
}

export type RowCells = Partial<Record<ImportColumn, Cell>>;

/** Checks of the filing's submission rules that a registration brought in must pass as well (its completeness is not asked). */
const FILING_CHECKS = new Set([
  'validation.subtypeNone', 'validation.subtypeMismatch', 'validation.ipRequired', 'validation.amountPositive',
  'validation.technicalAboveTurnover', 'validation.validToBeforeFrom', 'validation.signedInFuture', 'validation.buyerIsSeller',
  'validation.regionAndCountry',
]);

/** Where the filing's validation reports a field, as the import's column. */
function columnOf(path: string): ImportColumn | '' {
  const party = /^(seller|buyers\.0)(?:\.(\w+))?$/.exec(path);
  if (party) {
    const who = party[1] === 'seller' ? 'seller' : 'buyer';
    const field = party[2] ?? 'name';
    const map: Record<string, string> = { name: 'Name', uscc: 'Uscc', nature: 'Nature', regionCode: 'RegionCode', country: 'Country' };
    return (map[field] ? `${who}${map[field]}` : `${who}Name`) as ImportColumn;
  }
  if (path === 'buyers') return 'buyerName';
  if (path === 'objective') return 'socioEconomicObjective';
  return (path.split('.')[0] || '') as ImportColumn | '';
}

// ── Cell readers ───────────────────────────────────────────────────────────────────────

/** A number's text in plain decimal form ("1.25E+6" → "1250000"); null when it is not a number. */
export function plainDecimal(text: string): string | null {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,3}))?$/.exec(text.trim());
  if (!m || (!m[2] && !m[3])) return null;
  let int = m[2] || '0';
  let frac = m[3] ?? '';
  let exp = m[4] ? Number(m[4]) : 0;
  while (exp > 0) {
    int += frac[0] ?? '0';
    frac = frac.slice(1);
    exp -= 1;
  }
  while (exp < 0) {
    frac = (int.slice(-1) || '0') + frac;
    int = int.slice(0, -1);
    exp += 1;
  }
  int = int.replace(/^0+(?=\d)/, '') || '0';
  frac = frac.replace(/0+$/, '');
  return `${m[1] === '-' ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

/**
 * Yuan from a number cell's digits. Excel saves what a person typed as the shortest double that
 * reads back the same, which for some amounts carries noise far below a fen (0.1 + 0.2 saves as
 * 0.30000000000000004): a fraction whose digits after the fen are all 0 or all 9 for at least six
 * places is that noise and is rounded to the fen; any other finer amount is refused.
 */
export function yuanOfNumberCell(text: string): ReturnType<typeof parseYuan> {
  const dec = plainDecimal(text);
  if (dec === null) return { ok: false, reason: 'format' };
  if (dec.startsWith('-')) return { ok: false, reason: 'negative' };
  const [int, frac = ''] = dec.split('.');
  if (frac.length <= 2) return parseYuan(dec);
  const rest = frac.slice(2);
  if (rest.length < 6 || !/^(0{6,}|9{6,})\d*$/.test(rest)) return { ok: false, reason: 'precision' };
  let fen = BigInt(int) * 100n + BigInt(frac.slice(0, 2).padEnd(2, '0'));
  if (rest.startsWith('9')) fen += 1n;
  return parseYuan(formatYuan(Number(fen)));
}

const DATE_TEXT = /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[\sT]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

export interface CellDate {
  date: string;
  /** The time of day (CST) when the cell gives one. */
  time: string | null;
}

const pad = (n: number | string) => String(n).padStart(2, '0');

/** A date from a cell: text, an Excel serial day (1900 or 1904 based) or an ISO date cell. */
export function dateOfCell(cell: Cell, date1904: boolean): CellDate | null {
  const text = cell.text.trim();
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (compact) return { date: `${compact[1]}-${compact[2]}-${compact[3]}`, time: null };
  if (cell.kind === 'n' || /^\d{5}(\.\d+)?$/.test(text)) {
    const serial = Number(text);
    if (!Number.isFinite(serial) || serial < 1 || serial > 2_958_465) return null;
    // Serial days count from 1899-12-30 (Excel's 1900 system, its 1900-02-29 included) or 1904-01-01.
    const base = date1904 ? Date.UTC(1904, 0, 1) : Date.UTC(1899, 11, 30);
    const ms = Math.round((serial * 86_400_000) / 1000) * 1000;
    const d = new Date(base + ms);
    const time = ms % 86_400_000 ? d.toISOString().slice(11, 19) : null;
    return { date: d.toISOString().slice(0, 10), time };
  }
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(text);
  if (cell.kind === 'd' && iso) return { date: `${iso[1]}-${iso[2]}-${iso[3]}`, time: iso[4] ? `${iso[4]}:${iso[5]}:${iso[6] ?? '00'}` : null };
  const m = DATE_TEXT.exec(text.normalize('NFKC'));
  if (!m) return null;
  return { date: `${m[1]}-${pad(m[2])}-${pad(m[3])}`, time: m[4] ? `${pad(m[4])}:${m[5]}:${m[6] ?? '00'}` : null };
}

const TRUE = new Set(['是', 'y', 'yes', 'true', '1', '√', '✓', 'x']);
const FALSE = new Set(['否', 'n', 'no', 'false', '0', '×', '✗', '']);

let countriesByName: Map<string, string> | null = null;
function countryCode(value: string): string | null {
  const code = value.trim().toUpperCase();
  if (isCountryCode(code)) return code;
  countriesByName ??= new Map(countryOptions('zh-CN').map((c) => [normalise(c.label), c.value]));
  return countriesByName.get(normalise(value)) ?? null;
}

// ── The row ────────────────────────────────────────────────────────────────────────────

export function parseImportRow(cells: RowCells, ctx: RowContext): { ok: true; value: ImportedRow } | { ok: false; issues: RowIssue[] } {
  const issues: RowIssue[] = [];
  const fail = (path: ImportColumn | '', message: string, params?: Record<string, unknown>) => {
    if (!issues.some((i) => i.path === path)) issues.push({ path, message, params });
  };
  // Cells that cannot be read at all, whatever their column.
  const usable: RowCells = {};
  for (const [key, cell] of Object.entries(cells) as [ImportColumn, Cell][]) {
    if (!cell) continue;
    if (cell.tooLong) fail(key, 'imports.row.tooLong', { max: ctx.maxChars });
    else if (cell.noValue) fail(key, 'imports.row.formulaNoValue');
    else if (cell.formulaText) fail(key, 'imports.row.formula');
    else if (cell.kind === 'e') fail(key, 'imports.row.errorValue', { value: cell.text });
    else if (cell.text.trim() !== '') usable[key] = cell;
  }
  const text = (k: ImportColumn) => usable[k]?.text.trim();

  // The registration number: 16 digits, this agency's, a real serial.
  let year = 0;
  let serial = 0;
  let number = '';
  const numberCell = usable.registrationNumber;
  if (!numberCell) {
    if (!issues.some((i) => i.path === 'registrationNumber')) fail('registrationNumber', 'imports.row.required');
  } else {
    const raw = numberCell.kind === 'n' ? (plainDecimal(numberCell.text) ?? numberCell.text) : numberCell.text.normalize('NFKC').replace(/\s/g, '');
    if (!/^\d{16}$/.test(raw)) fail('registrationNumber', numberCell.kind === 'n' ? 'imports.row.numberAsNumber' : 'imports.row.numberFormat');
    else if (raw.slice(4, 10) !== ctx.agencyCode) fail('registrationNumber', 'imports.row.numberAgency', { agency: ctx.agencyCode, found: raw.slice(4, 10) });
    else if (raw.endsWith('000000')) fail('registrationNumber', numberCell.kind === 'n' ? 'imports.row.numberAsNumber' : 'imports.row.numberSerial');
    else if (Number(raw.slice(0, 4)) < 1949 || Number(raw.slice(0, 4)) > Number(ctx.today.slice(0, 4))) fail('registrationNumber', 'imports.row.numberYear', { year: raw.slice(0, 4) });
    else {
      number = raw;
      year = Number(raw.slice(0, 4));
      serial = Number(raw.slice(10));
    }
  }

  // Dates: registeredAt in the number's year and not in the future; the others as the filing's.
  const dates: Partial<Record<ImportColumn, CellDate>> = {};
  for (const k of DATE_COLUMNS) {
    const cell = usable[k];
    if (!cell) continue;
    const d = dateOfCell(cell, ctx.date1904);
    if (d) dates[k] = d;
    else fail(k, 'imports.row.date');
  }
  let registeredAt: Date | null = null;
  const reg = dates.registeredAt;
  if (!usable.registeredAt) {
    if (!issues.some((i) => i.path === 'registeredAt')) fail('registeredAt', 'imports.row.required');
  } else if (reg) {
    // A day, read as CST (the registration's day there); the time of day when the cell gives one.
    const at = new Date(`${reg.date}T${reg.time ?? '00:00:00'}+08:00`);
    if (!isCalendarDate(reg.date) || Number.isNaN(at.getTime())) fail('registeredAt', 'imports.row.date');
    else if (reg.date > ctx.today) fail('registeredAt', 'imports.row.registeredInFuture');
    else if (year && Number(reg.date.slice(0, 4)) !== year) fail('registeredAt', 'imports.row.yearMismatch', { date: reg.date, year });
    else registeredAt = at;
  }

  // Codes, by key or name.
  const codes: Partial<Record<ImportColumn, string>> = {};
  for (const [k, spec] of Object.entries(CODE_COLUMNS) as [ImportColumn, NonNullable<(typeof CODE_COLUMNS)[ImportColumn]>][]) {
    const v = text(k);
    if (!v) continue;
    const code = lookupCode(spec.codes, v);
    if (code) codes[k] = code;
    else fail(k, 'imports.row.unknownCode', { value: v });
  }
  const subtypeText = text('subtype');
  if (subtypeText && codes.type) {
    const sub = lookupSubtype(codes.type as ContractType, subtypeText);
    if (sub) codes.subtype = sub;
    else if (Object.keys(CONTRACT_SUBTYPES[codes.type as ContractType]).length) fail('subtype', 'imports.row.subtypeUnknown', { value: subtypeText });
    else codes.subtype = subtypeText; // consulting has none: the filing's check says so
  }

  // Amounts: grouped text ("1,250,000.00", "¥1,250,000") or a number cell's digits.
  const amounts: Partial<Record<'contractAmount' | 'technicalAmount', string>> = {};
  for (const k of ['contractAmount', 'technicalAmount'] as const) {
    const cell = usable[k];
    if (!cell) continue;
    const res = cell.kind === 'n' ? yuanOfNumberCell(cell.text) : parseYuan(cell.text.trim().replace(/\s*元$/, ''), { grouped: true });
    if (res.ok) amounts[k] = formatYuan(res.fen);
    else fail(k, `validation.money_${res.reason}`);
  }

  let relatedParty: boolean | undefined;
  const related = usable.relatedParty;
  if (related) {
    const v = related.kind === 'b' ? related.text : normalise(related.text);
    if (TRUE.has(v)) relatedParty = true;
    else if (FALSE.has(v)) relatedParty = false;
    else fail('relatedParty', 'imports.row.boolean');
  }
  let country: string | undefined;
  if (text('buyerCountry')) {
    const c = countryCode(text('buyerCountry')!);
    if (c) country = c;
    else fail('buyerCountry', 'imports.row.unknownCode', { value: text('buyerCountry') });
  }

  // The filing's own validation of what is there.
  const party = (prefix: 'seller' | 'buyer', extra: Party = {}): Party | undefined => {
    const p: Record<string, string> = {};
    const name = text(`${prefix}Name`);
    const uscc = text(`${prefix}Uscc`);
    const region = text(`${prefix}RegionCode`);
    if (name) p.name = name;
    if (uscc) p.uscc = uscc.normalize('NFKC').toUpperCase();
    if (codes[`${prefix}Nature`]) p.nature = codes[`${prefix}Nature`]!;
    if (region) p.regionCode = region.normalize('NFKC');
    Object.assign(p, extra);
    return Object.keys(p).length ? p : undefined;
  };
  const seller = party('seller');
  const buyer = party('buyer', country ? { country } : {});
  const input: Record<string, unknown> = {
    title: text('title'),
    contractNumber: text('contractNumber'),
    type: codes.type,
    subtype: codes.subtype,
    signedOn: dates.signedOn?.date,
    validFrom: dates.validFrom?.date,
    validTo: dates.validTo?.date,
    contractAmount: amounts.contractAmount,
    technicalAmount: amounts.technicalAmount,
    paymentMethod: codes.paymentMethod,
    relatedParty,
    planSource: codes.planSource,
    ipType: codes.ipType,
    technicalField: codes.technicalField,
    socioEconomicObjective: codes.socioEconomicObjective,
    priorityArea: codes.priorityArea,
    seller,
    buyers: buyer ? [buyer] : undefined,
  };
  for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k];
  const parsed = parseContractInput(input);
  for (const i of parsed.issues) fail(columnOf(i.path), i.message, i.params);
  const fields = parsed.values as ContractFields;

  // Required for a registration brought in (API.md), then the filing's consistency checks.
  const required: [ImportColumn, unknown][] = [
    ['title', fields.title], ['type', fields.type], ['contractAmount', fields.contractAmountFen], ['technicalAmount', fields.technicalAmountFen],
    ['sellerName', fields.seller?.name], ['buyerName', fields.buyers?.[0]?.name],
  ];
  if (fields.type && Object.keys(CONTRACT_SUBTYPES[fields.type]).length) required.push(['subtype', fields.subtype]);
  for (const [k, v] of required) if (v === undefined || v === null || v === '') if (!usable[k] && !issues.some((i) => i.path === k)) fail(k, 'imports.row.required');
  for (const i of submissionIssues(fields, ctx.today)) if (FILING_CHECKS.has(i.message)) fail(columnOf(i.path), i.message, i.params);

  if (issues.length || !registeredAt) return { ok: false, issues: issues.length ? issues : [{ path: 'registeredAt', message: 'imports.row.date' }] };
  return { ok: true, value: { registrationNumber: number, year, serial, registeredAt, fields } };
}
