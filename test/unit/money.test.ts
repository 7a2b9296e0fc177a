import { fenOf, formatFenIn, formatFenLarge, formatYuan, formatYuanGrouped, parseYuan } from '../../src/domain/money';

describe('money', () => {
  it.each([
    ['0.01', 1],
    ['1', 100],
    ['1250000.5', 125_000_050],
    ['99999999999.99', 9_999_999_999_999],
    [12.34, 1234],
    [0, 0],
  ])('parses %p to %p fen', (input, fen) => {
    expect(parseYuan(input)).toEqual({ ok: true, fen });
  });

  it.each([
    ['-1', 'negative'],
    ['1.234', 'precision'],
    ['1e5', 'format'],
    ['', 'format'],
    ['01', 'format'],
    [' 1 2', 'format'],
    [Number.NaN, 'format'],
    [Number.POSITIVE_INFINITY, 'format'],
    [0.1 + 0.2, 'precision'],
    ['100000000000000', 'too_large'],
    [null, 'format'],
    [{ $gt: 0 }, 'format'],
  ])('refuses %p (%s)', (input, reason) => {
    expect(parseYuan(input)).toEqual({ ok: false, reason });
  });

  it('accepts thousands separators only when asked', () => {
    expect(parseYuan('1,250,000.00').ok).toBe(false);
    expect(parseYuan('1,250,000.00', { grouped: true })).toEqual({ ok: true, fen: 125_000_000 });
    expect(parseYuan('12,34', { grouped: true }).ok).toBe(false);
  });

  it('formats fen as yuan strings', () => {
    expect(formatYuan(1)).toBe('0.01');
    expect(formatYuan(125_000_050)).toBe('1250000.50');
    expect(formatYuanGrouped(9_999_999_999_999)).toBe('99,999,999,999.99');
    expect(() => formatYuan(1.5)).toThrow(RangeError);
  });
});

describe('sums', () => {
  /** Adds two non-negative decimal strings digit by digit: no numbers involved at all. */
  function addDecimalStrings(a: string, b: string): string {
    const [ai, af] = a.split('.');
    const [bi, bf] = b.split('.');
    const x = (ai + af).padStart(20, '0');
    const y = (bi + bf).padStart(20, '0');
    let carry = 0;
    let out = '';
    for (let i = x.length - 1; i >= 0; i--) {
      const d = Number(x[i]) + Number(y[i]) + carry;
      out = String(d % 10) + out;
      carry = d >= 10 ? 1 : 0;
    }
    const digits = (carry ? '1' : '') + out;
    const int = digits.slice(0, -2).replace(/^0+(?=\d)/, '');
    return `${int}.${digits.slice(-2)}`;
  }

  it('adds a thousand random amounts exactly in fen', () => {
    let fenTotal = 0;
    let decimalTotal = '0.00';
    for (let i = 0; i < 1000; i++) {
      // Up to 10 billion yuan each, with random fen.
      const fen = Math.floor(Math.random() * 1_000_000_000_000);
      const text = formatYuan(fen);
      const parsed = parseYuan(text);
      expect(parsed).toEqual({ ok: true, fen });
      fenTotal += (parsed as { fen: number }).fen;
      decimalTotal = addDecimalStrings(decimalTotal, text);
    }
    expect(Number.isSafeInteger(fenTotal)).toBe(true);
    expect(formatYuan(fenTotal)).toBe(decimalTotal);
  });
});

describe('fenOf', () => {
  it('reads back the amounts the system writes, without floating point', () => {
    expect(fenOf('0.29')).toBe(29); // Number('0.29') * 100 is 28.999999999999996
    expect(fenOf('1250000.57')).toBe(125_000_057);
    expect(fenOf('-1500.10')).toBe(-150_010);
    expect(fenOf('9999999999999.99')).toBe(999_999_999_999_999);
  });
  it('refuses what is not an amount', () => {
    for (const bad of ['', '1e3', '1.234', 'abc', '--1', 'NaN']) expect(() => fenOf(bad)).toThrow(RangeError);
  });
});

describe('万元 and 亿元', () => {
  it.each([
    [0, '0.00', 'yuan'],
    [1, '0.01', 'yuan'],
    [999_999, '9,999.99', 'yuan'],
    [1_000_000, '1.00', 'wan'],
    [12_345_678_901, '1.23', 'yi'],
    [10_000_000_000, '1.00', 'yi'],
    [24_680_000_050, '2.47', 'yi'],
    [246_800_050, '246.80', 'wan'], // 2,468,000.50 yuan
    // Rounding carries 9,999.99… 万 up to the next unit.
    [9_999_999_999, '1.00', 'yi'],
    [9_999_994_999, '9,999.99', 'wan'],
    [999_999_999_999_999, '100,000.00', 'yi'], // the largest amount: 99,999.9999… 亿
    [-1_000_000, '-1.00', 'wan'],
  ])('%p fen reads %s in %s', (fen, value, unit) => {
    expect(formatFenLarge(fen)).toEqual({ value, unit });
  });

  it('rounds half up to two decimals of the unit, on integers only', () => {
    expect(formatFenIn(1_234_500, 'wan')).toBe('1.23'); // 12,345.00 yuan = 1.2345 万
    expect(formatFenIn(1_235_000, 'wan')).toBe('1.24'); // 1.2350 万: half rounds up
    expect(formatFenIn(1_234_999, 'wan')).toBe('1.23'); // 1.23499 万
    expect(formatFenIn(5_000, 'wan')).toBe('0.01'); // 50 yuan = 0.005 万
    expect(formatFenIn(4_999, 'wan')).toBe('0.00');
    expect(formatFenIn(50_000_000, 'yi')).toBe('0.01'); // 500,000 yuan = 0.005 亿
    expect(formatFenIn(49_999_999, 'yi')).toBe('0.00');
    expect(formatFenIn(12_345_678_901, 'yuan')).toBe('123,456,789.01');
    expect(formatFenIn(-1_235_000, 'wan')).toBe('-1.24');
    expect(formatFenIn(-4_999, 'wan')).toBe('0.00');
    // A value whose float division would misround: 0.285 万 is 28.499999… in binary.
    expect(formatFenIn(285_000, 'wan')).toBe('0.29');
    expect(() => formatFenIn(0.5, 'wan')).toThrow(RangeError);
  });

  it('reads English figures in million and billion yuan', () => {
    expect(formatFenLarge(24_680_000_050, 'en')).toEqual({ value: '246.80', unit: 'million' });
    expect(formatFenLarge(100_000_000_000, 'en')).toEqual({ value: '1.00', unit: 'billion' });
    expect(formatFenLarge(99_999_999, 'en')).toEqual({ value: '999,999.99', unit: 'yuan' });
  });

  it('agrees with an exact decimal rounding for random amounts', () => {
    for (let i = 0; i < 2000; i++) {
      const fen = Math.floor(Math.random() * 1_000_000_000_000_000);
      // The same rounding done on the decimal digits of the amount: 亿 are 10 digits of fen.
      const digits = String(fen).padStart(11, '0');
      const whole = digits.slice(0, -10);
      const frac = digits.slice(-10);
      const hundredths = BigInt(whole + frac.slice(0, 2)) + (Number(frac[2]) >= 5 ? 1n : 0n);
      const expected = `${(hundredths / 100n).toLocaleString('en-US')}.${String(hundredths % 100n).padStart(2, '0')}`;
      expect(formatFenIn(fen, 'yi')).toBe(expected);
    }
  });
});
