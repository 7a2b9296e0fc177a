/** The plan's indicators and targets in the JSON API (API.md "The city plan's indicators"). */
import { Router, type RequestHandler } from 'express';
import type { TFunction } from 'i18next';
import { figureOut, hundredthsOf, INDICATORS, isIndicatorKey, type IndicatorKey } from '../../domain/indicators';
import { cstIso, cstYear } from '../../domain/time';
import type { AppDeps } from '../../lib/deps';
import { AppError } from '../../lib/errors';
import { authorize, openToAnyone, requireUser } from '../../lib/http/authorize';
import { parseInput } from '../../lib/validation';
import { planDashboard } from './dashboard.service';
import { figureWithHistory, setIndicatorValue, type FigureWithHistory } from './indicators.service';
import { LAST_TARGET_YEAR, lastValueYear, readFigure, readTargets, yearParam, yearQuery } from './plan.input';
import { indicatorsPayload } from './plan.view';
import { ensurePlanSeeded, setTargets, targetsFor, type YearTargets } from './targets.service';

/** An indicator key in a path: an unknown one is not found; the live one cannot be entered (422). */
function keyParam(raw: unknown): IndicatorKey {
  if (!isIndicatorKey(raw)) throw new AppError('NOT_FOUND');
  return raw;
}

function refuseLive(key: IndicatorKey): void {
  if (INDICATORS[key].origin === 'tally') {
    throw new AppError('VALIDATION_FAILED', { code: 'INDICATOR_LIVE', messageKey: 'plan.errors.live', details: [{ path: 'key', message: 'plan.errors.live' }] });
  }
}

const figureJson = (key: IndicatorKey, f: { value: string; source: string; asOf: string }) => ({ value: figureOut(INDICATORS[key].unit, hundredthsOf(f.value)), source: f.source, asOf: f.asOf });

/** Every change of a value, oldest first: who, when, old → new (with their sources). */
const historyJson = (key: IndicatorKey, f: FigureWithHistory) =>
  f.history.map((h) => ({ at: cstIso(new Date(h.at)), actorEmail: h.actorEmail, old: h.old ? figureJson(key, h.old) : null, new: figureJson(key, h.new) }));

/** The targets of a year as JSON. */
export const targetsJson = (t: YearTargets) => ({
  year: t.year,
  plan: t.plan,
  targetsFrom: t.fromYear,
  carried: t.carried,
  targets: [...t.rows.values()].map((r) => ({
    key: r.key,
    plan: r.plan,
    target: figureOut(r.unit, r.hundredths),
    comparison: r.comparison,
    unit: r.unit,
    updatedAt: r.updatedAt ? cstIso(new Date(r.updatedAt)) : null,
    updatedBy: r.updatedBy,
  })),
});

/** The seed is written by the first request that needs the targets (once per database). */
export const seeded = (deps: AppDeps): RequestHandler => async (_req, _res, next) => {
  await ensurePlanSeeded(deps.logger);
  next();
};

export function planApi(deps: AppDeps): Router {
  const router = Router();
  const manage = authorize('plan.manage');
  const seed = seeded(deps);

  /** GET /public/indicators?year=: the six indicators of a year (default: the current CST year) with their trends, and the priority areas. */
  router.get('/public/indicators', openToAnyone('the plan dashboard data'), seed, async (req, res) => {
    const { year } = parseInput(yearQuery, req.query);
    const d = await planDashboard(year ?? cstYear(new Date()));
    res.set('Cache-Control', 'no-cache');
    res.json(indicatorsPayload(d, res.locals.t as TFunction, res.locals.lang as string));
  });

  /** GET /indicators/{year}/{key}: one indicator's value for a year with its history (who, when, old → new). */
  router.get('/indicators/:year/:key', manage, seed, async (req, res) => {
    const year = yearParam(req.params.year, LAST_TARGET_YEAR);
    const key = keyParam(req.params.key);
    const d = await planDashboard(year);
    const item = indicatorsPayload(d, res.locals.t as TFunction, res.locals.lang as string).indicators.find((i) => i.key === key)!;
    const f = INDICATORS[key].origin === 'entered' ? await figureWithHistory(year, key) : null;
    res.json({ year, ...item, history: f ? historyJson(key, f) : [] });
  });

  /** PUT /indicators/{year}/{key}: a bureau admin enters a value {value, source, asOf}; audited, its history kept. */
  router.put('/indicators/:year/:key', manage, seed, async (req, res) => {
    const key = keyParam(req.params.key);
    refuseLive(key);
    const year = yearParam(req.params.year, lastValueYear());
    const input = readFigure(req.body, year, key);
    const saved = await setIndicatorValue(requireUser(res), year, key, input, req.ip);
    const d = await planDashboard(year);
    const item = indicatorsPayload(d, res.locals.t as TFunction, res.locals.lang as string).indicators.find((i) => i.key === key)!;
    res.json({ year, ...item, history: historyJson(key, saved) });
  });

  /** GET /plan-targets/{year}: the targets that apply to a year (carried forward from an earlier year when it has none). */
  router.get('/plan-targets/:year', manage, seed, async (req, res) => {
    res.json(targetsJson(await targetsFor(yearParam(req.params.year, LAST_TARGET_YEAR))));
  });

  /** PUT /plan-targets/{year}: {plan, targets: [{key, target, comparison}]}; the indicators not named keep theirs. Audited. */
  router.put('/plan-targets/:year', manage, seed, async (req, res) => {
    const year = yearParam(req.params.year, LAST_TARGET_YEAR);
    const saved = await setTargets(requireUser(res), year, readTargets(req.body), req.ip);
    res.json(targetsJson(saved));
  });

  return router;
}
