/**
 * Money is integer fen inside and a decimal string in yuan outside. No binary floating
 * point ever touches an amount: parsing works on the decimal digits.
 */

/** The largest amount accepted: 9,999,999,999,999.99 yuan (about 10 trillion), far inside a safe integer. */
export const MAX_FEN = 999_999_999_999_999;

const STRICT = /^(0|[1-9]\d{0,12})(?:\.(\d{1,2}))?$/;

export type MoneyParse = { ok: true; fen: number } | { ok: false; reason: 'format' | 'negative' | 'too_large' | 'precision' };

/**
 * Parses an amount in yuan. Strings must be plain decimals ("1250000.5", "0.01");
 * JSON numbers are accepted when their shortest decimal form is such a string.
 * With `grouped`, thousands separators (",", "，", spaces) typed into forms are allowed.
 */
export function parseYuan(input: unknown, opts: { grouped?: boolean } = {}): MoneyParse {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { ok: false, reason: 'format' };
    text = String(input);
  } else if (typeof input === 'string') {
    text = input.trim();
    if (opts.grouped) {
      text = text.replace(/^[¥￥]\s*/, '');
      if (/^\d{1,3}([,， ]\d{3})+(\.\d*)?$/.test(text)) text = text.replace(/[,， ]/g, '');
    }
  } else {
    return { ok: false, reason: 'format' };
  }
  if (text.startsWith('-')) return { ok: false, reason: 'negative' };
  if (/^\d+\.\d{3,}$/.test(text)) return { ok: false, reason: 'precision' };
  if (/^[1-9]\d{13,}(\.\d{1,2})?$/.test(text)) return { ok: false, reason: 'too_large' };
  const m = STRICT.exec(text);
  if (!m) return { ok: false, reason: 'format' };
  const fen = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  if (fen > MAX_FEN) return { ok: false, reason: 'too_large' };
  return { ok: true, fen };
}

/** An amount this system wrote ("1250000.00") back to integer fen; throws on anything else. */
export function fenOf(amount: string): number {
  const p = parseYuan(amount.startsWith('-') ? amount.slice(1) : amount);
  if (!p.ok) throw new RangeError(`not an amount: ${amount}`);
  return amount.startsWith('-') ? -p.fen : p.fen;
}

/** Integer fen to "1250000.00". */
export function formatYuan(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`not an integer amount of fen: ${fen}`);
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** Integer fen to "1,250,000.00" for people. */
export function formatYuanGrouped(fen: number): string {
  const [int, dec] = formatYuan(fen).split('.');
  return `${int.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${dec}`;
}

/** The large units people read amounts in: 万元 and 亿元 (Chinese), million and billion yuan (English). */
export type AmountUnit = 'yuan' | 'wan' | 'yi' | 'million' | 'billion';

/** How many yuan one unit is. */
export const UNIT_YUAN: Record<AmountUnit, number> = { yuan: 1, wan: 10_000, yi: 100_000_000, million: 1_000_000, billion: 1_000_000_000 };

/**
 * Integer fen in a unit, to two decimals of that unit, rounded half up (away from zero for
 * debts): "2.47" for 246,800,000.50 yuan in 亿. Integer division and remainder only: a
 * hundredth of a unit of `u` yuan is exactly `u` fen, so no float ever holds the amount.
 */
export function formatFenIn(fen: number, unit: AmountUnit): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`not an integer amount of fen: ${fen}`);
  const step = UNIT_YUAN[unit];
  const abs = Math.abs(fen);
  const rest = abs % step;
  const hundredths = (abs - rest) / step + (rest * 2 >= step ? 1 : 0);
  const int = String(Math.floor(hundredths / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${fen < 0 && hundredths > 0 ? '-' : ''}${int}.${String(hundredths % 100).padStart(2, '0')}`;
}

/**
 * An amount in the largest unit it reaches, for headline figures: below 10,000 yuan in yuan
 * (exact), then 万元, from 1 亿 in 亿元 ('cn'); or yuan, million and billion yuan ('en').
 * When rounding carries a figure up to the next unit, it moves there: 99,999,999.99 yuan
 * reads "1.00 亿", not "10,000.00 万". Always show the exact amount (formatYuanGrouped) beside it.
 */
export function formatFenLarge(fen: number, units: 'cn' | 'en' = 'cn'): { value: string; unit: AmountUnit } {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`not an integer amount of fen: ${fen}`);
  const ladder: AmountUnit[] = units === 'cn' ? ['yuan', 'wan', 'yi'] : ['yuan', 'million', 'billion'];
  const abs = Math.abs(fen);
  let i = 0;
  while (i + 1 < ladder.length && abs >= UNIT_YUAN[ladder[i + 1]] * 100) i++;
  let value = formatFenIn(fen, ladder[i]);
  const next = ladder[i + 1];
  if (next && Number(value.replace(/^-/, '').split('.')[0].replace(/,/g, '')) >= UNIT_YUAN[next] / UNIT_YUAN[ladder[i]]) {
    i++;
    value = formatFenIn(fen, ladder[i]);
  }
  return { value, unit: ladder[i] };
}
