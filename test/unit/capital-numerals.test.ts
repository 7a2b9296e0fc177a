import { toChineseCapital } from '../../src/domain/capital-numerals';

describe('toChineseCapital', () => {
  it.each([
    [0, '零元整'],
    [1, '壹分'],
    [5, '伍分'],
    [50, '伍角整'],
    [55, '伍角伍分'],
    [100, '壹元整'],
    [105, '壹元零伍分'],
    [150, '壹元伍角整'],
    [1000, '壹拾元整'],
    [1005, '壹拾元零伍分'],
    [1200, '壹拾贰元整'],
    [10100, '壹佰零壹元整'],
    [1000500, '壹万零伍元整'],
    [10700053, '壹拾万柒仟元伍角叁分'],
    [125000000, '壹佰贰拾伍万元整'],
    [100050000, '壹佰万零伍佰元整'],
    [1000000500, '壹仟万零伍元整'],
    [1010000000, '壹仟零壹拾万元整'],
    [360000000, '叁佰陆拾万元整'],
    [10000000000, '壹亿元整'],
    [10000000100, '壹亿零壹元整'],
    [10000500000, '壹亿零伍仟元整'],
    [10005000000, '壹亿零伍万元整'],
    [123456789012, '壹拾贰亿叁仟肆佰伍拾陆万柒仟捌佰玖拾元壹角贰分'],
    [100000000000000, '壹万亿元整'],
    [100000005000000, '壹万亿零伍万元整'],
    [999999999999999, '玖万亿玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分'],
  ])('%i fen → %s', (fen, text) => {
    expect(toChineseCapital(fen)).toBe(text);
  });

  it('handles the largest safe integer', () => {
    // 90,071,992,547,409.91 yuan = 90|0719|9254|7409
    expect(toChineseCapital(Number.MAX_SAFE_INTEGER)).toBe('玖拾万亿零柒佰壹拾玖亿玖仟贰佰伍拾肆万柒仟肆佰零玖元玖角壹分');
  });

  it('uses only the financial characters', () => {
    for (const fen of [123456789012, 999999999999999, 100050000]) {
      expect(toChineseCapital(fen)).toMatch(/^[零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整]+$/);
    }
  });

  it.each([
    ['negative', -1],
    ['fractional', 1.5],
    ['unsafe', Number.MAX_SAFE_INTEGER + 1],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('throws RangeError for %s input', (_label, fen) => {
    expect(() => toChineseCapital(fen)).toThrow(RangeError);
  });
});
