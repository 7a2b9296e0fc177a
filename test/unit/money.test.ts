import { fenOf, formatYuan, formatYuanGrouped, parseYuan } from '../../src/domain/money';

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
