import {
  CALENDAR_FILES,
  addWorkingDays,
  calendarCoverage,
  isWorkingDay,
  workingDaysBetween,
} from '../../src/domain/calendar';

describe('working-day calendar', () => {
  describe('isWorkingDay', () => {
    it('treats make-up Saturdays (调休上班) as working days', () => {
      expect(isWorkingDay('2026-10-10')).toBe(true); // Sat after National Day
      expect(isWorkingDay('2026-02-14')).toBe(true); // Sat before Spring Festival
      expect(isWorkingDay('2026-02-28')).toBe(true);
      expect(isWorkingDay('2026-09-20')).toBe(true); // Sun
      expect(isWorkingDay('2025-01-26')).toBe(true); // Sun
    });

    it('treats holiday weekdays as days off', () => {
      expect(isWorkingDay('2026-10-05')).toBe(false); // Mon in National Day
      expect(isWorkingDay('2026-01-02')).toBe(false); // Fri
      expect(isWorkingDay('2026-04-06')).toBe(false); // Mon, 清明
      expect(isWorkingDay('2025-10-08')).toBe(false); // Wed, National Day + Mid-Autumn 2025
    });

    it('uses Monday–Friday for ordinary days', () => {
      expect(isWorkingDay('2026-03-06')).toBe(true); // Fri
      expect(isWorkingDay('2026-03-07')).toBe(false); // Sat
      expect(isWorkingDay('2026-03-08')).toBe(false); // Sun
      expect(isWorkingDay('2026-03-09')).toBe(true); // Mon
    });

    it('covers the whole 2026 Spring Festival span Feb 15–23', () => {
      for (let d = 15; d <= 23; d++) expect(isWorkingDay(`2026-02-${d}`)).toBe(false);
      expect(isWorkingDay('2026-02-13')).toBe(true);
      expect(isWorkingDay('2026-02-24')).toBe(true);
    });

    it('falls back to plain weekdays for a year without data', () => {
      expect(calendarCoverage().map((c) => c.year)).not.toContain(2030);
      expect(isWorkingDay('2030-01-01')).toBe(true); // Tue, no holiday data
      expect(isWorkingDay('2030-10-01')).toBe(true); // Tue
      expect(isWorkingDay('2030-01-05')).toBe(false); // Sat
      expect(isWorkingDay('2030-01-06')).toBe(false); // Sun
      expect(addWorkingDays('2030-01-04', 1)).toBe('2030-01-07');
      expect(addWorkingDays('2030-01-04', 5)).toBe('2030-01-11');
      expect(workingDaysBetween('2030-01-04', '2030-01-14')).toBe(6);
    });

    it('rejects malformed or impossible dates', () => {
      expect(() => isWorkingDay('2026-02-30')).toThrow(RangeError);
      expect(() => isWorkingDay('2026-2-3')).toThrow(RangeError);
      expect(() => isWorkingDay('2026-02-03T00:00:00Z')).toThrow(RangeError);
    });
  });

  describe('addWorkingDays', () => {
    it('counts 15 working days across the 2026 National Day holiday', () => {
      // Sep 29, 30 | Oct 1–7 off | Oct 8, 9, 10 (Sat, workday), 12–16, 19–23
      expect(addWorkingDays('2026-09-28', 2)).toBe('2026-09-30');
      expect(addWorkingDays('2026-09-28', 3)).toBe('2026-10-08');
      expect(addWorkingDays('2026-09-28', 5)).toBe('2026-10-10');
      expect(addWorkingDays('2026-09-28', 6)).toBe('2026-10-12');
      expect(addWorkingDays('2026-09-28', 15)).toBe('2026-10-23');
    });

    it('counts 30 working days across 清明 and 劳动节 2026', () => {
      // Apr 2, 3 | 4–6 off | 7–10, 13–17, 20–24, 27–30 (20) | May 1–5 off |
      // May 6, 7, 8, 9 (Sat, workday) (24) | 11–15 (29) | 18 (30)
      expect(addWorkingDays('2026-04-01', 20)).toBe('2026-04-30');
      expect(addWorkingDays('2026-04-01', 21)).toBe('2026-05-06');
      expect(addWorkingDays('2026-04-01', 24)).toBe('2026-05-09');
      expect(addWorkingDays('2026-04-01', 30)).toBe('2026-05-18');
    });

    it('does not count the start day; Friday + 1 is Monday unless a holiday', () => {
      expect(addWorkingDays('2026-03-06', 1)).toBe('2026-03-09');
      expect(addWorkingDays('2026-04-03', 1)).toBe('2026-04-07'); // Mon Apr 6 is 清明
      expect(addWorkingDays('2025-01-24', 1)).toBe('2025-01-26'); // Sun Jan 26 is a workday
      expect(addWorkingDays('2026-03-07', 1)).toBe('2026-03-09'); // from a Saturday
    });

    it('spans the Spring Festival 2026', () => {
      expect(addWorkingDays('2026-02-13', 1)).toBe('2026-02-14');
      expect(addWorkingDays('2026-02-14', 1)).toBe('2026-02-24');
      expect(addWorkingDays('2026-02-12', 5)).toBe('2026-02-26');
    });

    it('crosses year boundaries', () => {
      expect(addWorkingDays('2025-09-30', 1)).toBe('2025-10-09');
      expect(addWorkingDays('2026-12-31', 1)).toBe('2027-01-04'); // 2027-01-01 Fri is a holiday
      expect(addWorkingDays('2025-12-31', 1)).toBe('2026-01-04'); // Jan 1–3 off, Sun Jan 4 is a workday
    });

    it('returns start for n = 0 and rejects bad n', () => {
      expect(addWorkingDays('2026-10-03', 0)).toBe('2026-10-03');
      expect(() => addWorkingDays('2026-10-03', -1)).toThrow(RangeError);
      expect(() => addWorkingDays('2026-10-03', 1.5)).toThrow(RangeError);
      expect(() => addWorkingDays('2026-10-03', Number.NaN)).toThrow(RangeError);
    });
  });

  describe('workingDaysBetween', () => {
    it('counts working days in (from, to]', () => {
      expect(workingDaysBetween('2026-09-28', '2026-10-23')).toBe(15);
      expect(workingDaysBetween('2026-09-30', '2026-10-07')).toBe(0);
      expect(workingDaysBetween('2026-09-30', '2026-10-08')).toBe(1);
      expect(workingDaysBetween('2026-02-14', '2026-02-24')).toBe(1);
      expect(workingDaysBetween('2026-04-01', '2026-05-18')).toBe(30);
    });

    it('is 0 when to <= from', () => {
      expect(workingDaysBetween('2026-10-23', '2026-10-23')).toBe(0);
      expect(workingDaysBetween('2026-10-23', '2026-09-28')).toBe(0);
    });

    it('inverts addWorkingDays', () => {
      for (const start of ['2025-01-20', '2025-09-26', '2026-02-10', '2026-09-18', '2026-12-25']) {
        for (const n of [0, 1, 3, 7, 15, 20, 30, 60]) {
          expect(workingDaysBetween(start, addWorkingDays(start, n))).toBe(n);
        }
      }
    });
  });

  describe('data files', () => {
    it('cover 2025–2027, with only 2027 provisional', () => {
      expect(calendarCoverage()).toEqual([
        { year: 2025, provisional: false },
        { year: 2026, provisional: false },
        { year: 2027, provisional: true },
      ]);
      const y2027 = CALENDAR_FILES.find((f) => f.year === 2027)!;
      expect(y2027.workdays).toEqual([]);
      expect(y2027.source).toMatch(/replace/i);
    });

    it.each(CALENDAR_FILES.map((f) => [f.year, f] as const))('%i: dates are valid, in the year, and disjoint', (year, file) => {
      expect(file.source.length).toBeGreaterThan(0);
      for (const date of [...file.holidays, ...file.workdays]) {
        expect(date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10)).toBe(date);
        expect(Number(date.slice(0, 4))).toBe(year);
      }
      expect(new Set(file.holidays).size).toBe(file.holidays.length);
      expect(new Set(file.workdays).size).toBe(file.workdays.length);
      const holidays = new Set(file.holidays);
      expect(file.workdays.filter((d) => holidays.has(d))).toEqual([]);
      // A make-up workday only makes sense on a weekend.
      for (const d of file.workdays) expect([0, 6]).toContain(new Date(`${d}T00:00:00Z`).getUTCDay());
    });

    it('has the expected number of days off per official arrangement', () => {
      const count = (y: number) => CALENDAR_FILES.find((f) => f.year === y)!;
      expect(count(2025).holidays).toHaveLength(28); // 1 + 8 + 3 + 5 + 3 + 8
      expect(count(2025).workdays).toHaveLength(5);
      expect(count(2026).holidays).toHaveLength(33); // 3 + 9 + 3 + 5 + 3 + 3 + 7
      expect(count(2026).workdays).toHaveLength(6);
      expect(count(2027).holidays).toHaveLength(13); // statutory days only
    });
  });
});
