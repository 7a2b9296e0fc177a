import { cstDate, cstDateTime, cstIso, cstYear } from '../../src/domain/time';

describe('China Standard Time', () => {
  it('puts 2026-12-31T16:30Z into 2027', () => {
    const d = new Date('2026-12-31T16:30:00Z');
    expect(cstYear(d)).toBe(2027);
    expect(cstDate(d)).toBe('2027-01-01');
    expect(cstDateTime(d)).toBe('2027-01-01 00:30');
    expect(cstIso(d)).toBe('2027-01-01T00:30:00+08:00');
  });

  it('keeps 2026-12-31T15:59Z in 2026', () => {
    expect(cstYear(new Date('2026-12-31T15:59:59Z'))).toBe(2026);
  });
});
