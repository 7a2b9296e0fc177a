/**
 * Working-day calendar for statutory decision deadlines ("N 个工作日").
 *
 * One data file per year under ./calendar/: `holidays` are the days off of the State
 * Council's arrangement (放假调休), `workdays` the weekend days made working days
 * (调休上班). A listed workday is working, a listed holiday is not, any other day is
 * working Monday to Friday. Years without a data file fall back to plain Monday–Friday.
 *
 * Dates are calendar dates "YYYY-MM-DD"; arithmetic is done in UTC on the date itself,
 * so no time zone is involved (convert instants with `cstDate` from ./time first).
 */
import y2025 from './calendar/2025.json';
import y2026 from './calendar/2026.json';
import y2027 from './calendar/2027.json';

export interface CalendarFile {
  year: number;
  source: string;
  provisional: boolean;
  holidays: string[];
  workdays: string[];
}

/** The raw data files, in year order (exported for tests and diagnostics). */
export const CALENDAR_FILES: readonly CalendarFile[] = [y2025, y2026, y2027];

interface YearData {
  provisional: boolean;
  holidays: ReadonlySet<string>;
  workdays: ReadonlySet<string>;
}

const YEARS = new Map<number, YearData>(
  CALENDAR_FILES.map((f) => [f.year, { provisional: f.provisional, holidays: new Set(f.holidays), workdays: new Set(f.workdays) }]),
);

const DAY_MS = 86_400_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Milliseconds since the epoch of a "YYYY-MM-DD" at 00:00 UTC; RangeError if not a real date. */
function parseDate(date: string): number {
  const m = typeof date === 'string' ? DATE_RE.exec(date) : null;
  if (!m) throw new RangeError(`Invalid date: ${String(date)}`);
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const t = Date.UTC(y, mo - 1, d);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
    throw new RangeError(`Invalid date: ${date}`);
  }
  return t;
}

function formatDate(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

function isWorkingAt(t: number): boolean {
  const date = formatDate(t);
  const year = YEARS.get(Number(date.slice(0, 4)));
  if (year) {
    if (year.workdays.has(date)) return true;
    if (year.holidays.has(date)) return false;
  }
  const dow = new Date(t).getUTCDay();
  return dow !== 0 && dow !== 6;
}

/** Whether "YYYY-MM-DD" is a working day. */
export function isWorkingDay(date: string): boolean {
  return isWorkingAt(parseDate(date));
}

/**
 * The n-th working day after `start` (start itself is not counted): a filing accepted on
 * a Friday with n = 1 is due the next Monday, unless that is a holiday. n = 0 returns start.
 */
export function addWorkingDays(start: string, n: number): string {
  let t = parseDate(start);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  let left = n;
  while (left > 0) {
    t += DAY_MS;
    if (isWorkingAt(t)) left--;
  }
  return formatDate(t);
}

/** Number of working days d with from < d <= to; 0 when to <= from. */
export function workingDaysBetween(from: string, to: string): number {
  const a = parseDate(from);
  const b = parseDate(to);
  let count = 0;
  for (let t = a + DAY_MS; t <= b; t += DAY_MS) {
    if (isWorkingAt(t)) count++;
  }
  return count;
}

/** The years that have a data file, and whether each is still provisional. */
export function calendarCoverage(): { year: number; provisional: boolean }[] {
  return [...YEARS.entries()].sort(([a], [b]) => a - b).map(([year, d]) => ({ year, provisional: d.provisional }));
}
