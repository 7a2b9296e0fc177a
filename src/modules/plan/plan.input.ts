/**
 * What the bureau sends: an indicator's value for a year ({value, source, asOf}) and a year's
 * targets ({plan, targets: [{key, target, comparison}]}). Read at the edge into typed values;
 * every problem is reported at once, each at its field, with a message key.
 */
import { z } from 'zod';
import { isCalendarDate } from '../../domain/contract-input';
import { COMPARISONS, figureText, INDICATORS, isIndicatorKey, parseFigure, type Comparison, type IndicatorKey } from '../../domain/indicators';
import { cstDate, cstYear } from '../../domain/time';
import { AppError, type ErrorDetail } from '../../lib/errors';

/** The years a value or a target may be entered for. */
export const FIRST_YEAR = 2000;
export const LAST_TARGET_YEAR = 2100;
export const SOURCE_MAX = 200;
export const PLAN_NAME_MAX = 40;

export interface FigureInput {
  /** The value as given (a decimal string), and in hundredths. */
  value: string;
  hundredths: number;
  source: string;
  asOf: string;
}

export interface TargetInput {
  key: IndicatorKey;
  target: string;
  hundredths: number;
  comparison: Comparison;
}

export interface TargetsInput {
  plan: string;
  targets: TargetInput[];
}

const failed = (details: ErrorDetail[]) => new AppError('VALIDATION_FAILED', { details });

// Control characters have no place in a source line (and would corrupt CSV exports).
const clean = (s: string) => s.replace(/[\u0000-\u001F\u007F]/g, ' ').trim();

function requiredText(raw: unknown, path: string, max: number, details: ErrorDetail[]): string {
  if (raw === undefined || raw === null || (typeof raw === 'string' && !clean(raw))) {
    details.push({ path, message: 'validation.required' });
    return '';
  }
  if (typeof raw !== 'string') {
    details.push({ path, message: 'validation.invalidType' });
    return '';
  }
  const v = clean(raw);
  if ([...v].length > max) details.push({ path, message: 'validation.tooLong', params: { max } });
  return v;
}

function figure(raw: unknown, path: string, key: IndicatorKey, details: ErrorDetail[], grouped: boolean): { text: string; hundredths: number } {
  if (raw === undefined || raw === null || (typeof raw === 'string' && !raw.trim())) {
    details.push({ path, message: 'validation.required' });
    return { text: '', hundredths: 0 };
  }
  const def = INDICATORS[key];
  const p = parseFigure(raw, def.maxHundredths, { grouped });
  if (p.ok) return { text: p.text, hundredths: p.hundredths };
  const max = def.unit === 'yuan' ? '9999999999999.99' : figureText(def.maxHundredths);
  details.push({ path, message: `plan.errors.figure_${p.reason}`, params: { max } });
  return { text: '', hundredths: 0 };
}

const body = (input: unknown): Record<string, unknown> => (input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {});

/**
 * A value for `year`: a non-negative figure with at most two decimals and at most the
 * indicator's sensible maximum, a source (≤ 200 characters), and the date it stands at, a real
 * date neither in the future (CST) nor before the year it is for.
 */
export function readFigure(input: unknown, year: number, key: IndicatorKey, opts: { forms?: boolean; now?: Date } = {}): FigureInput {
  const b = body(input);
  const details: ErrorDetail[] = [];
  const value = figure(b.value, 'value', key, details, Boolean(opts.forms));
  const source = requiredText(b.source, 'source', SOURCE_MAX, details);
  let asOf = '';
  const rawDate = b.asOf;
  if (rawDate === undefined || rawDate === null || (typeof rawDate === 'string' && !rawDate.trim())) details.push({ path: 'asOf', message: 'validation.required' });
  else if (typeof rawDate !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(rawDate.trim())) details.push({ path: 'asOf', message: 'validation.date' });
  else if (!isCalendarDate(rawDate.trim())) details.push({ path: 'asOf', message: 'validation.dateNotReal', params: { value: rawDate.trim() } });
  else {
    asOf = rawDate.trim();
    const today = cstDate(opts.now ?? new Date());
    if (asOf > today) details.push({ path: 'asOf', message: 'plan.errors.asOfFuture', params: { today } });
    else if (asOf < `${year}-01-01`) details.push({ path: 'asOf', message: 'plan.errors.asOfBeforeYear', params: { year } });
  }
  if (details.length) throw failed(details);
  return { value: value.text, hundredths: value.hundredths, source, asOf };
}

/** A year's targets: the plan's name and, for each indicator named once, its target and comparison. */
export function readTargets(input: unknown, opts: { forms?: boolean } = {}): TargetsInput {
  const b = body(input);
  const details: ErrorDetail[] = [];
  const plan = requiredText(b.plan, 'plan', PLAN_NAME_MAX, details);
  const list = b.targets;
  const targets: TargetInput[] = [];
  if (!Array.isArray(list) || list.length === 0) {
    details.push({ path: 'targets', message: Array.isArray(list) ? 'validation.required' : 'validation.invalidType' });
  } else if (list.length > 50) {
    details.push({ path: 'targets', message: 'validation.tooMany', params: { max: 50 } });
  } else {
    const seen = new Set<string>();
    list.forEach((raw, i) => {
      const r = body(raw);
      const at = `targets.${i}`;
      if (!isIndicatorKey(r.key)) {
        details.push({ path: `${at}.key`, message: 'validation.choice' });
        return;
      }
      if (seen.has(r.key)) {
        details.push({ path: `${at}.key`, message: 'plan.errors.duplicateKey' });
        return;
      }
      seen.add(r.key);
      const target = figure(r.target, `${at}.target`, r.key, details, Boolean(opts.forms));
      const comparison = (COMPARISONS as readonly unknown[]).includes(r.comparison) ? (r.comparison as Comparison) : null;
      if (!comparison) details.push({ path: `${at}.comparison`, message: r.comparison === undefined || r.comparison === '' ? 'validation.required' : 'validation.choice' });
      targets.push({ key: r.key, target: target.text, hundredths: target.hundredths, comparison: comparison ?? 'gt' });
    });
  }
  if (details.length) throw failed(details);
  return { plan, targets };
}

/** A year in a path: four digits (anything else is not a page: 404), then within the range it may be (422). */
export function yearParam(raw: unknown, last: number): number {
  if (typeof raw !== 'string' || !/^\d{4}$/.test(raw)) throw new AppError('NOT_FOUND');
  const year = Number(raw);
  if (year < FIRST_YEAR || year > last) throw failed([{ path: 'year', message: 'plan.errors.yearRange', params: { first: FIRST_YEAR, last } }]);
  return year;
}

/** Values stand for a year that has begun: at most the current CST year. */
export const lastValueYear = (now = new Date()) => cstYear(now);

/** The `?year=` of a page or the public API (default: the current CST year). */
export const yearQuery = z.object({ year: z.coerce.number().int().min(FIRST_YEAR).max(LAST_TARGET_YEAR).optional().or(z.literal('').transform(() => undefined)) });
