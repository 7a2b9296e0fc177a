/**
 * The values the bureau enters for the indicators the registry does not count (R&D intensity,
 * patents, personnel …): one document per year and indicator with its whole history.
 *
 * A change is one conditional update on the version it was computed from, which also appends
 * the change (old → new) to the history: of two admins saving at once, one applies first and
 * the other is computed again from the result, so the history is a chain in which each change's
 * `old` is the previous change's `new`, and the value is the last change's.
 */
import type { IndicatorKey } from '../../domain/indicators';
import { conflict, isDuplicateKey } from '../../lib/errors';
import { recordAudit, type Actor } from '../audit/audit.service';
import type { FigureInput } from './plan.input';
import { IndicatorValue, rowId, type IndicatorChange } from './plan.model';

export interface StoredFigure {
  year: number;
  key: IndicatorKey;
  value: string;
  source: string;
  asOf: string;
  updatedAt: Date;
  updatedBy: string | null;
  version: number;
}

export interface FigureWithHistory extends StoredFigure {
  history: IndicatorChange[];
}

const figureOf = (f: { value: string; source: string; asOf: string }) => ({ value: f.value, source: f.source, asOf: f.asOf });
const ATTEMPTS = 20;

/**
 * Sets an indicator's value for a year: recorded in its history and the audit log. The same
 * value, source and date again change nothing (a repeated PUT is harmless).
 */
export async function setIndicatorValue(actor: Actor, year: number, key: IndicatorKey, input: FigureInput, ip?: string): Promise<FigureWithHistory> {
  const id = rowId(year, key);
  const next = figureOf(input);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const cur = (await IndicatorValue.findById(id).lean()) as FigureWithHistory | null;
    const at = new Date();
    const change = (old: ReturnType<typeof figureOf> | null) => ({ at, actorId: actor.id, actorEmail: actor.email, old, new: next });
    let saved: FigureWithHistory | null = null;
    if (!cur) {
      try {
        saved = (await IndicatorValue.create({ _id: id, year, key, ...next, updatedAt: at, updatedBy: actor.email, version: 1, history: [change(null)] })).toObject() as FigureWithHistory;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        continue; // another admin's first value came first: change that one
      }
    } else {
      const old = figureOf(cur);
      if (old.value === next.value && old.source === next.source && old.asOf === next.asOf) return cur;
      saved = (await IndicatorValue.findOneAndUpdate(
        { _id: id, version: cur.version },
        { $set: { ...next, updatedAt: at, updatedBy: actor.email, version: cur.version + 1 }, $push: { history: change(old) } },
        { returnDocument: 'after' },
      ).lean()) as FigureWithHistory | null;
      if (!saved) continue; // changed meanwhile: compute again from the newer value
    }
    await recordAudit({ actor, action: 'plan.indicator_set', targetType: 'indicator', targetId: `${year}/${key}`, details: { year, key, old: cur ? figureOf(cur) : null, new: next }, ip });
    return saved;
  }
  throw conflict('INDICATOR_BUSY', 'plan.errors.busy');
}

/** The values entered for the years `from`–`to` (without their histories). */
export async function figuresBetween(from: number, to: number): Promise<StoredFigure[]> {
  return (await IndicatorValue.find({ year: { $gte: from, $lte: to } }).select({ history: 0 }).lean()) as StoredFigure[];
}

/** One indicator's value for a year with its history, or null. */
export async function figureWithHistory(year: number, key: IndicatorKey): Promise<FigureWithHistory | null> {
  return (await IndicatorValue.findById(rowId(year, key)).lean()) as FigureWithHistory | null;
}

/** A year's values with their histories (the admin page). */
export async function figuresOfYear(year: number): Promise<FigureWithHistory[]> {
  return (await IndicatorValue.find({ year }).lean()) as FigureWithHistory[];
}
