/**
 * The plan's targets as data. The 14th Five-Year Plan's are seeded for 2021–2025 (once, as a
 * data migration); a later year without targets of its own carries forward those of the latest
 * year before it, until the bureau enters targets for it (a later plan, such as the 15th, is
 * only that: targets entered for its years). Saving a year's targets stores the whole set for
 * that year, so a carried-forward set becomes the year's own.
 */
import mongoose, { type AnyBulkWriteOperation } from 'mongoose';
import { hundredthsOf, INDICATOR_KEYS, INDICATORS, plan14thSeed, targetYearFor, type Comparison, type IndicatorKey, type IndicatorUnit } from '../../domain/indicators';
import type { Logger } from '../../lib/logger';
import { runOnce } from '../../lib/migrations';
import { recordAudit, type Actor } from '../audit/audit.service';
import type { TargetsInput } from './plan.input';
import { PlanTarget, rowId, type PlanTargetDoc } from './plan.model';

export interface TargetRow {
  key: IndicatorKey;
  plan: string;
  /** As stored: a decimal string (yuan for the turnover). */
  target: string;
  hundredths: number;
  comparison: Comparison;
  unit: IndicatorUnit;
  updatedAt: Date | null;
  updatedBy: string | null;
}

export interface YearTargets {
  year: number;
  /** The year the targets are stored for: `year` itself, an earlier year carried forward, or null (no plan yet). */
  fromYear: number | null;
  carried: boolean;
  plan: string | null;
  rows: Map<IndicatorKey, TargetRow>;
}

/** Every stored target up to a year, by year. */
export type TargetBook = Map<number, Map<IndicatorKey, TargetRow>>;

const seeded = new Map<string, Promise<void>>();

/**
 * Seeds the 14th Five-Year Plan's targets once per database (a data migration, marked done when
 * finished). Each row is inserted only if absent, so targets the bureau changed stay as they
 * are, and two processes seeding together write each row once.
 */
export function ensurePlanSeeded(logger: Logger): Promise<void> {
  const db = mongoose.connection.db?.databaseName ?? '';
  let p = seeded.get(db);
  if (!p) {
    p = runOnce('plan-targets-14th-five-year', async () => {
      const res = await PlanTarget.bulkWrite(
        plan14thSeed().map((r) => ({
          updateOne: { filter: { _id: rowId(r.year, r.key) }, update: { $setOnInsert: { ...r, updatedAt: null, updatedBy: null } }, upsert: true },
        })),
        { ordered: false },
      );
      return res.upsertedCount;
    }, logger);
    seeded.set(db, p);
    p.catch(() => seeded.delete(db));
  }
  return p;
}

const toRow = (d: { key: string; plan: string; target: string; comparison: string; unit: string; updatedAt?: Date | null; updatedBy?: string | null }): TargetRow => ({
  key: d.key as IndicatorKey,
  plan: d.plan,
  target: d.target,
  hundredths: hundredthsOf(d.target),
  comparison: d.comparison as Comparison,
  unit: d.unit as IndicatorUnit,
  updatedAt: d.updatedAt ?? null,
  updatedBy: d.updatedBy ?? null,
});

/** Every target stored for the years up to `year` (six small documents a year). */
export async function targetBook(year: number): Promise<TargetBook> {
  const docs = await PlanTarget.find({ year: { $lte: year } }).lean();
  const book: TargetBook = new Map();
  for (const d of docs) {
    // A key no longer in the catalogue is left out, not shown half-known.
    if (!(d.key in INDICATORS)) continue;
    if (!book.has(d.year)) book.set(d.year, new Map());
    book.get(d.year)!.set(d.key as IndicatorKey, toRow(d));
  }
  return book;
}

/** The targets that apply to a year, from the book. */
export function targetsIn(book: TargetBook, year: number): YearTargets {
  const fromYear = targetYearFor(year, book.keys());
  const rows = fromYear === null ? new Map<IndicatorKey, TargetRow>() : book.get(fromYear)!;
  const plans = [...new Set([...rows.values()].map((r) => r.plan))];
  return { year, fromYear, carried: fromYear !== null && fromYear !== year, plan: plans.join('、') || null, rows };
}

export async function targetsFor(year: number): Promise<YearTargets> {
  return targetsIn(await targetBook(year), year);
}

/** The earliest year with targets (where a trend starts), or null. */
export async function firstTargetYear(): Promise<number | null> {
  const first = await PlanTarget.findOne().sort({ year: 1 }).select({ year: 1 }).lean();
  return first?.year ?? null;
}

const same = (a: TargetRow | undefined, plan: string, t: { target: string; comparison: Comparison }) =>
  Boolean(a && a.plan === plan && a.target === t.target && a.comparison === t.comparison);

/**
 * Sets a year's targets. The indicators named get the targets given; the others keep theirs
 * (those carried forward are stored for the year as they are), and all the year's rows take the
 * plan's name. One audit entry lists what changed (old → new); nothing changed, nothing written.
 */
export async function setTargets(actor: Actor, year: number, input: TargetsInput, ip?: string): Promise<YearTargets> {
  const current = await targetsFor(year);
  const given = new Map(input.targets.map((t) => [t.key, t]));
  const changed = input.targets.filter((t) => !same(current.rows.get(t.key), input.plan, t));
  const renamed = [...current.rows.values()].some((r) => !given.has(r.key) && r.plan !== input.plan);
  if (!changed.length && !renamed && !current.carried) return current;

  const now = new Date();
  const ops = INDICATOR_KEYS.flatMap((key): AnyBulkWriteOperation<PlanTargetDoc>[] => {
    const t = given.get(key);
    const kept = current.rows.get(key);
    if (t) {
      return [{ updateOne: { filter: { _id: rowId(year, key) }, update: { $set: { plan: input.plan, year, key, target: t.target, comparison: t.comparison, unit: INDICATORS[key].unit, updatedAt: now, updatedBy: actor.email } }, upsert: true } }];
    }
    if (!kept) return [];
    // Not named: the year keeps what it has (or what it carried), under the plan's name.
    return [{
      updateOne: {
        filter: { _id: rowId(year, key) },
        update: { $set: { plan: input.plan }, $setOnInsert: { year, key, target: kept.target, comparison: kept.comparison, unit: kept.unit, updatedAt: now, updatedBy: actor.email } },
        upsert: true,
      },
    }];
  });
  await PlanTarget.bulkWrite(ops, { ordered: true });

  const changes = changed.map((t) => {
    const old = current.rows.get(t.key);
    return { key: t.key, old: old ? { plan: old.plan, target: old.target, comparison: old.comparison, ...(current.carried ? { carriedFrom: current.fromYear } : {}) } : null, new: { plan: input.plan, target: t.target, comparison: t.comparison } };
  });
  await recordAudit({ actor, action: 'plan.targets_set', targetType: 'plan_targets', targetId: String(year), details: { year, plan: input.plan, changes, ...(current.carried ? { carriedFrom: current.fromYear } : {}) }, ip });
  return targetsFor(year);
}
