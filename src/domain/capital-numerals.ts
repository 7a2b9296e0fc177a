/**
 * Amounts in Chinese capital numerals (大写金额) as written on invoices, cheques and
 * certificates, e.g. 1,000,500.00 yuan → 壹佰万零伍佰元整.
 *
 * Rules (as in the PBOC 支付结算办法 conventions):
 * - a run of zeros inside the number is written as a single 零 (壹万零伍元, 壹亿零壹元);
 *   zeros at the end of a four-digit section are absorbed by the section unit
 *   (壹拾万柒仟元, not 壹拾万零柒仟元);
 * - tens are always written with the digit: 10 → 壹拾元整, 12 亿 → 壹拾贰亿;
 * - sections are 万, 亿 and 万亿 (10^12);
 * - 元 is followed by 零 only when 角 is zero and 分 is not (壹元零伍分);
 * - below one yuan the "零元" is omitted (伍分, 伍角整); zero is 零元整;
 * - 整 ends every amount without 分 (壹元整, 壹元伍角整).
 */

const DIGITS = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'] as const;
const UNITS = ['', '拾', '佰', '仟'] as const;
/** Section units for 10^0, 10^4, 10^8, 10^12 — enough for every safe integer of fen. */
const SECTIONS = ['', '万', '亿', '万亿'] as const;

/** A section of 0..9999, with inner zeros collapsed; leading and trailing zeros are not written. */
function sectionText(n: number): string {
  let out = '';
  let zero = false;
  for (let pos = 3; pos >= 0; pos--) {
    const d = Math.floor(n / 10 ** pos) % 10;
    if (d === 0) {
      if (out) zero = true;
    } else {
      if (zero) out += DIGITS[0];
      zero = false;
      out += DIGITS[d] + UNITS[pos];
    }
  }
  return out;
}

/** Whole yuan (> 0) without the trailing 元. */
function integerText(yuan: number): string {
  const sections: number[] = [];
  for (let rest = yuan; rest > 0; rest = Math.floor(rest / 10_000)) sections.push(rest % 10_000);
  let out = '';
  let pendingZero = false;
  for (let i = sections.length - 1; i >= 0; i--) {
    const s = sections[i]!;
    if (s === 0) {
      if (out) pendingZero = true;
      continue;
    }
    // A zero between sections: a whole empty section, or leading zeros in this one.
    if (out && (pendingZero || s < 1000)) out += DIGITS[0];
    pendingZero = false;
    out += sectionText(s) + SECTIONS[i];
  }
  return out;
}

/** The amount of `fen` (integer, 1 yuan = 100 fen) in capital numerals. */
export function toChineseCapital(fen: number): string {
  if (typeof fen !== 'number' || !Number.isSafeInteger(fen) || fen < 0) {
    throw new RangeError(`Amount must be a non-negative safe integer of fen, got ${String(fen)}`);
  }
  if (fen === 0) return '零元整';
  const yuan = Math.floor(fen / 100);
  const jiao = Math.floor(fen / 10) % 10;
  const cents = fen % 10;

  let out = yuan > 0 ? integerText(yuan) + '元' : '';
  if (jiao > 0) out += DIGITS[jiao] + '角';
  else if (cents > 0 && yuan > 0) out += DIGITS[0];
  out += cents > 0 ? DIGITS[cents] + '分' : '整';
  return out;
}
