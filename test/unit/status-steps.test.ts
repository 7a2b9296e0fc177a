import { currentStep, statusSteps, type StatusStep } from '../../src/modules/contracts/status-steps';

// History times in UTC: 16:30Z is already the next day in CST.
const h = (action: string, at: string) => ({ action, at: new Date(at) });
const created = h('created', '2026-03-01T02:00:00Z');
const submitted = h('submitted', '2026-03-02T16:30:00Z'); // 2026-03-03 in CST
const verified = h('verified', '2026-03-03T03:00:00Z');
const states = (steps: StatusStep[]) => steps.map((s) => `${s.key}:${s.state}`);

describe('status bar steps', () => {
  it('puts a draft at 填报 with the day it was created', () => {
    const steps = statusSteps({ status: 'draft', history: [created] });
    expect(states(steps)).toEqual(['fill:current', 'submit:upcoming', 'verify:upcoming', 'review:upcoming', 'done:upcoming']);
    expect(steps[0].date).toBe('2026-03-01');
    expect(steps[3].deadline).toBeNull();
  });

  it('puts a submitted filing at 核查, dated in CST, with the legal deadline under 审核', () => {
    const steps = statusSteps({ status: 'submitted', history: [created, submitted], decisionDeadline: null, acceptance: { deadline: '2026-03-24' } });
    expect(currentStep(steps)?.key).toBe('verify');
    expect(states(steps)).toEqual(['fill:done', 'submit:done', 'verify:current', 'review:upcoming', 'done:upcoming']);
    expect(steps[1].date).toBe('2026-03-03');
    expect(steps[3].deadline).toBe('2026-03-24');
  });

  it('puts a verified filing at 审核; the decision deadline wins over the receipt', () => {
    const steps = statusSteps({ status: 'in_review', history: [created, submitted, verified], decisionDeadline: '2026-04-14', acceptance: { deadline: '2026-03-24' } });
    expect(currentStep(steps)?.key).toBe('review');
    expect(steps[2]).toMatchObject({ state: 'done', date: '2026-03-03' });
    expect(steps[3].deadline).toBe('2026-04-14');
  });

  it('ends a registration or refusal at 办结 with its outcome and date', () => {
    for (const outcome of ['registered', 'refused'] as const) {
      const steps = statusSteps({ status: outcome, history: [created, submitted, verified, h(outcome, '2026-03-10T01:00:00Z')], decisionDeadline: '2026-03-24' });
      expect(states(steps)).toEqual(['fill:done', 'submit:done', 'verify:done', 'review:done', 'done:current']);
      expect(steps[4]).toMatchObject({ outcome, date: '2026-03-10' });
      expect(steps[3].deadline).toBe('2026-03-24');
    }
  });

  it('sends a returned filing back to 填报 with the return, and forgets the old round', () => {
    const steps = statusSteps({
      status: 'returned',
      history: [created, submitted, verified, h('returned', '2026-03-05T02:00:00Z')],
      decisionDeadline: '2026-03-24',
    });
    expect(states(steps)).toEqual(['fill:current', 'submit:upcoming', 'verify:upcoming', 'review:upcoming', 'done:upcoming']);
    expect(steps[0]).toMatchObject({ outcome: 'returned', outcomeDate: '2026-03-05', date: '2026-03-01' });
    expect(steps[1].date).toBeNull();
    expect(steps[3].deadline).toBeNull();
  });

  it('dates a resubmission by the new round, not the first one', () => {
    const steps = statusSteps({
      status: 'submitted',
      history: [created, submitted, verified, h('returned', '2026-03-05T02:00:00Z'), h('updated', '2026-03-06T02:00:00Z'), h('submitted', '2026-03-09T02:00:00Z')],
      acceptance: { deadline: '2026-03-30' },
    });
    expect(currentStep(steps)?.key).toBe('verify');
    expect(steps[1].date).toBe('2026-03-09');
    expect(steps[2].date).toBeNull();
    expect(steps[3].deadline).toBe('2026-03-30');
  });

  it('ends a withdrawal at 办结, marking the steps it never reached as skipped', () => {
    const fromReview = statusSteps({ status: 'withdrawn', history: [created, submitted, verified, h('withdrawn', '2026-03-04T02:00:00Z')], decisionDeadline: '2026-03-24' });
    expect(states(fromReview)).toEqual(['fill:done', 'submit:done', 'verify:done', 'review:skipped', 'done:current']);
    expect(fromReview[4]).toMatchObject({ outcome: 'withdrawn', date: '2026-03-04' });
    expect(fromReview[3].deadline).toBeNull();

    const fromDraft = statusSteps({ status: 'withdrawn', history: [created, h('withdrawn', '2026-03-01T05:00:00Z')] });
    expect(states(fromDraft)).toEqual(['fill:done', 'submit:skipped', 'verify:skipped', 'review:skipped', 'done:current']);
  });

  it('adds 已撤销 or 已注销 after a registration, as the current step', () => {
    for (const status of ['revoked', 'cancelled'] as const) {
      const steps = statusSteps({
        status,
        history: [created, submitted, verified, h('registered', '2026-03-10T01:00:00Z'), h(status, '2026-06-01T01:00:00Z')],
      });
      expect(states(steps)).toEqual(['fill:done', 'submit:done', 'verify:done', 'review:done', 'done:done', `${status}:current`]);
      expect(steps[4]).toMatchObject({ outcome: 'registered', date: '2026-03-10' });
      expect(steps[5]).toMatchObject({ outcome: status, date: '2026-06-01' });
    }
  });

  it('has exactly one current step whatever the status, and copes with imported records without history', () => {
    for (const status of ['draft', 'submitted', 'in_review', 'registered', 'returned', 'refused', 'withdrawn', 'revoked', 'cancelled', 'something_new']) {
      const steps = statusSteps({ status, history: [] });
      expect(steps.filter((s) => s.state === 'current')).toHaveLength(1);
    }
    const imported = statusSteps({ status: 'registered', history: null });
    expect(imported[4]).toMatchObject({ state: 'current', outcome: 'registered', date: null });
  });
});
