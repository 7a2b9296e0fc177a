/**
 * The steps of a filing for its status bar: 填报 → 提交 → 核查 → 审核 → 办结, with the date each
 * happened (from the history) and the legal deadline under 审核. The bar shows the current
 * round: a filing returned for correction is back at 填报, and its next submission starts the
 * steps (and the deadline) again. Pure: the view only renders what this returns.
 */
import { cstDate } from '../../domain/time';

export const STEP_KEYS = ['fill', 'submit', 'verify', 'review', 'done'] as const;
export type StepKey = (typeof STEP_KEYS)[number] | 'revoked' | 'cancelled';
export type StepState = 'done' | 'current' | 'upcoming' | 'skipped';
/** How a step ended when it did not simply pass on to the next. */
export type Outcome = 'returned' | 'refused' | 'withdrawn' | 'registered' | 'revoked' | 'cancelled';

export interface StatusStep {
  key: StepKey;
  state: StepState;
  /** "YYYY-MM-DD" (CST) when the step happened; null when it has not (or is not recorded). */
  date: string | null;
  /** The legal decision deadline, under 审核. */
  deadline: string | null;
  outcome: Outcome | null;
  /** When the outcome happened, if other than `date`. */
  outcomeDate: string | null;
}

export interface StatusStepsInput {
  status: string;
  history?: readonly { action: string; at: Date | string }[] | null;
  decisionDeadline?: string | null;
  acceptance?: { deadline?: string | null } | null;
}

const dateOf = (at: Date | string | undefined) => (at === undefined ? null : cstDate(new Date(at)));

export function statusSteps(c: StatusStepsInput): StatusStep[] {
  const history = c.history ?? [];
  const lastIndex = (action: string, after = -1) => {
    for (let i = history.length - 1; i > after; i--) if (history[i].action === action) return i;
    return -1;
  };
  const at = (i: number) => (i < 0 ? null : dateOf(history[i].at));

  // The current round starts after the last return (a returned filing is in a new, empty round).
  const lastReturned = lastIndex('returned');
  const submitted = lastIndex('submitted', lastReturned);
  const verified = submitted < 0 ? -1 : lastIndex('verified', submitted);
  const registered = lastIndex('registered');

  const step = (key: StepKey, date: string | null = null): StatusStep => ({ key, state: 'upcoming', date, deadline: null, outcome: null, outcomeDate: null });
  const steps = [step('fill', at(history.findIndex((h) => h.action === 'created'))), step('submit', at(submitted)), step('verify', at(verified)), step('review'), step('done')];
  const [fill, , , review, done] = steps;
  const deadline = c.decisionDeadline ?? c.acceptance?.deadline ?? null;
  if (submitted >= 0) review.deadline = deadline;

  /** Marks the steps before `current` done (or skipped, when they were not reached) and `current` current. */
  const upTo = (current: number, reached = current) => {
    steps.forEach((s, i) => {
      if (i < current) s.state = i < reached ? 'done' : 'skipped';
    });
    steps[current].state = 'current';
  };
  const decide = (outcome: Outcome, index: number) => {
    done.outcome = outcome;
    done.date = at(index);
    review.date = done.date;
  };

  switch (c.status) {
    case 'submitted':
      upTo(2); // verification is under way
      break;
    case 'in_review':
      upTo(3);
      break;
    case 'returned':
      fill.outcome = 'returned';
      fill.outcomeDate = at(lastReturned);
      upTo(0);
      break;
    case 'registered':
      decide('registered', registered);
      upTo(4);
      break;
    case 'refused':
      decide('refused', lastIndex('refused'));
      upTo(4);
      break;
    case 'withdrawn': {
      // Only the steps of the round that were reached before the withdrawal.
      const reached = verified >= 0 ? 3 : submitted >= 0 ? 2 : 1;
      done.outcome = 'withdrawn';
      done.date = at(lastIndex('withdrawn'));
      upTo(4, reached);
      if (review.state === 'skipped') review.deadline = null;
      break;
    }
    case 'revoked':
    case 'cancelled': {
      decide('registered', registered);
      upTo(4);
      done.state = 'done';
      const after = step(c.status, at(lastIndex(c.status)));
      after.state = 'current';
      after.outcome = c.status;
      steps.push(after);
      break;
    }
    default: // draft, and any status this bar does not know yet
      upTo(0);
  }
  return steps;
}

/** The step the filing is at (the one the bar marks with aria-current). */
export const currentStep = (steps: StatusStep[]) => steps.find((s) => s.state === 'current') ?? null;
