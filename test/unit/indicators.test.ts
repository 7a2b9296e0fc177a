/** The plan's indicators: reading a figure, comparing it with its target, carrying targets forward. */
import { figureOut, figureText, isMet, parseFigure, plan14thSeed, targetYearFor } from '../../src/domain/indicators';

it('reads figures digit by digit: at most two decimals, not negative, not above the maximum', () => {
  expect(parseFigure('1.5', 100_00)).toEqual({ ok: true, hundredths: 150, text: '1.5' });
  expect(parseFigure(' 1.50 ', 100_00)).toEqual({ ok: true, hundredths: 150, text: '1.50' });
  expect(parseFigure(0.29, 100_00)).toEqual({ ok: true, hundredths: 29, text: '0.29' });
  expect(parseFigure(100, 100_00)).toMatchObject({ ok: true, hundredths: 100_00 });
  expect(parseFigure('1,234.5', 10_000_00, { grouped: true })).toEqual({ ok: true, hundredths: 123450, text: '1234.5' });
  expect(parseFigure('1,234.5', 10_000_00)).toEqual({ ok: false, reason: 'format' });
  expect(parseFigure(100.01, 100_00)).toEqual({ ok: false, reason: 'too_large' });
  expect(parseFigure('-0.5', 100_00)).toEqual({ ok: false, reason: 'negative' });
  expect(parseFigure('1.234', 100_00)).toEqual({ ok: false, reason: 'precision' });
  expect(parseFigure(0.1 + 0.2, 100_00)).toEqual({ ok: false, reason: 'precision' });
  for (const bad of ['1e2', 'NaN', 'abc', '', Infinity, true, {}]) expect(parseFigure(bad, 100_00)).toMatchObject({ ok: false });
});

it('compares exactly, in hundredths', () => {
  expect(isMet(150, 150, 'gt')).toBe(false);
  expect(isMet(151, 150, 'gt')).toBe(true);
  expect(isMet(700, 700, 'gte')).toBe(true);
  expect(isMet(699, 700, 'gte')).toBe(false);
  expect(isMet(10, 20, 'lt')).toBe(true);
  expect(isMet(20, 20, 'lte')).toBe(true);
  expect(isMet(null, 20, 'gt')).toBeNull();
  expect(isMet(20, null, 'gt')).toBeNull();
});

it('writes figures back: the shortest decimal, money as a yuan string', () => {
  expect(figureText(150)).toBe('1.5');
  expect(figureText(2000)).toBe('20');
  expect(figureText(5)).toBe('0.05');
  expect(figureText(0)).toBe('0');
  expect(figureOut('percent', 150)).toBe(1.5);
  expect(figureOut('yuan', 100_000_000_000)).toBe('1000000000.00');
  expect(figureOut('yuan', null)).toBeNull();
});

it('seeds the 14th Five-Year Plan for 2021–2025 and carries the latest targets forward', () => {
  const seed = plan14thSeed();
  expect(seed).toHaveLength(30);
  expect(new Set(seed.map((r) => r.year))).toEqual(new Set([2021, 2022, 2023, 2024, 2025]));
  expect(seed.find((r) => r.year === 2025 && r.key === 'contract_turnover')).toMatchObject({ plan: '十四五', target: '1000000000', comparison: 'gt', unit: 'yuan' });
  expect(targetYearFor(2026, [2021, 2022, 2023, 2024, 2025])).toBe(2025);
  expect(targetYearFor(2023, [2021, 2025, 2022])).toBe(2022);
  expect(targetYearFor(2030, [2025, 2027])).toBe(2027);
  expect(targetYearFor(2020, [2021, 2025])).toBeNull();
});
