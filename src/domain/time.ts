/**
 * Calendar dates and years are China Standard Time (UTC+8, no daylight saving):
 * a contract registered at 2026-12-31T16:30Z belongs to 2027.
 */
const CST_OFFSET_MS = 8 * 3600_000;

/** "YYYY-MM-DD" of an instant, in CST. */
export function cstDate(d: Date): string {
  return new Date(d.getTime() + CST_OFFSET_MS).toISOString().slice(0, 10);
}

/** The CST calendar year of an instant. */
export function cstYear(d: Date): number {
  return new Date(d.getTime() + CST_OFFSET_MS).getUTCFullYear();
}

/** The instants of a CST calendar year: `$gte` its first, `$lt` the next year's first. */
export function cstYearBounds(year: number): { $gte: Date; $lt: Date } {
  return { $gte: new Date(Date.UTC(year, 0, 1) - CST_OFFSET_MS), $lt: new Date(Date.UTC(year + 1, 0, 1) - CST_OFFSET_MS) };
}

/** "YYYY-MM-DD HH:mm" of an instant, in CST. */
export function cstDateTime(d: Date): string {
  return new Date(d.getTime() + CST_OFFSET_MS).toISOString().slice(0, 16).replace('T', ' ');
}

/** ISO 8601 with the +08:00 offset, e.g. 2026-03-05T10:00:00+08:00. */
export function cstIso(d: Date): string {
  return new Date(d.getTime() + CST_OFFSET_MS).toISOString().slice(0, 19) + '+08:00';
}
