/**
 * Every pair of actions that can meet on one contract, sent at the same moment, 20 rounds
 * each: exactly one wins, the other answers 409 with the current state, the stored state is
 * the winner's, and the year's registration serials stay 1…N with no gap.
 *
 * Two pairs can also both succeed, one after the other, because the second is allowed from
 * the state the first leaves (a returned or just-submitted filing may be withdrawn): then the
 * answers must match that order and the stored state is the second's.
 */
import request from 'supertest';
import { cstYear } from '../../src/domain/time';
import { Contract } from '../../src/modules/contracts/contract.model';
import { Registration } from '../../src/modules/registrations/registration.model';
import { serialsOf } from '../../src/modules/registrations/registration-numbers';
import { verifySubmission } from '../../src/modules/review/verification.service';
import { inReviewContract, makeBureauUser, readyDraft, tokenFor, verifiedApplicant } from '../support/fixtures';
import { startTestApp, type TestApp } from '../support/harness';

jest.setTimeout(180_000);

let t: TestApp;
let applicant: string;
let reviewers: string[];
let admins: string[];

beforeAll(async () => {
  t = await startTestApp();
  applicant = (await verifiedApplicant(t.app)).token;
  reviewers = await Promise.all([1, 2].map(async () => tokenFor(t.app, (await makeBureauUser('reviewer')).email)));
  admins = await Promise.all([1, 2].map(async () => tokenFor(t.app, (await makeBureauUser('admin')).email)));
});
afterAll(async () => {
  await t.close();
});

type Action = 'submit' | 'withdraw' | 'approve' | 'return' | 'refuse' | 'revoke';
const RESULT: Record<Action, string> = { submit: 'submitted', withdraw: 'withdrawn', approve: 'registered', return: 'returned', refuse: 'refused', revoke: 'revoked' };
const BODY: Record<Action, object> = { submit: {}, withdraw: {}, approve: {}, return: { reason: '请补充技术交易额说明' }, refuse: { reasonCode: 2 }, revoke: { reason: '重复登记' } };

/** Sends `action` on contract `id` as the side it belongs to (`n` picks the second reviewer or admin). */
function send(action: Action, id: string, n: number) {
  const token = action === 'submit' || action === 'withdraw' ? applicant : action === 'revoke' ? admins[n] : reviewers[n];
  return request(t.app).post(`/api/v1/contracts/${id}/${action}`).set('Authorization', `Bearer ${token}`).send(BODY[action]);
}

async function contractIn(state: 'draft' | 'in_review' | 'registered'): Promise<string> {
  if (state === 'draft') return readyDraft(t.app, applicant);
  const id = await inReviewContract(t.app, applicant);
  if (state === 'registered') await send('approve', id, 0).expect(200);
  return id;
}

const PAIRS: [Action, Action, 'draft' | 'in_review' | 'registered'][] = [
  ['submit', 'submit', 'draft'],
  ['submit', 'withdraw', 'draft'],
  ['withdraw', 'withdraw', 'in_review'],
  ['approve', 'approve', 'in_review'],
  ['approve', 'withdraw', 'in_review'],
  ['approve', 'return', 'in_review'],
  ['approve', 'refuse', 'in_review'],
  ['return', 'refuse', 'in_review'],
  ['return', 'withdraw', 'in_review'],
  ['refuse', 'withdraw', 'in_review'],
  ['revoke', 'revoke', 'registered'],
];
const ROUNDS = 20;
/** `first>second`: the second is allowed right after the first. */
const CHAINS = new Set(['submit>withdraw', 'return>withdraw']);

describe.each(PAIRS)('%s racing %s', (a, b, state) => {
  it(`has exactly one winner in each of ${ROUNDS} rounds, and the stored state is the winner's`, async () => {
    const ids = await Promise.all(Array.from({ length: ROUNDS }, () => contractIn(state)));
    for (const id of ids) {
      const [ra, rb] = await Promise.all([send(a, id, 0), send(b, id, 1)]);
      const won = [ra, rb].filter((r) => r.status === 200 || r.status === 202);
      const lost = [ra, rb].filter((r) => r.status === 409);
      const stored = await Contract.findById(id).lean();
      if (won.length === 2 && CHAINS.has(`${a}>${b}`)) {
        // Both, in the only order that allows both: the history shows it.
        expect(stored!.status).toBe(RESULT[b]);
        expect(stored!.history.slice(-2).map((h) => h.action)).toEqual([RESULT[a], RESULT[b]]);
        continue;
      }
      expect({ won: won.length, lost: lost.length, statuses: [ra.status, rb.status] }).toEqual({ won: 1, lost: 1, statuses: expect.any(Array) });
      const winner = won[0] === ra ? a : b;
      expect(stored!.status).toBe(RESULT[winner]);
      // The loser is told the state that won, not a stale one.
      expect(lost[0].body.error.current.status).toBe(RESULT[winner]);
      if (winner === 'approve') {
        expect(won[0].body.registrationNumber).toBe(stored!.registrationNumber);
        expect(await Registration.countDocuments({ contractId: id })).toBe(1);
      } else if (state === 'in_review') {
        expect(stored!.registrationNumber).toBeNull();
        expect(await Registration.countDocuments({ contractId: id })).toBe(0);
      }
    }
  });
});

it(`lets the verification job and a withdrawal meet ${ROUNDS} times: the filing ends withdrawn, and the job says verified only if it was`, async () => {
  for (let round = 0; round < ROUNDS; round++) {
    const id = await readyDraft(t.app, applicant);
    await send('submit', id, 0).expect(202);
    const [verified, withdrawn] = await Promise.all([verifySubmission(id, 1, '630100'), send('withdraw', id, 0)]);
    expect(withdrawn.status).toBe(200);
    const stored = (await Contract.findById(id).lean())!;
    expect(stored.status).toBe('withdrawn');
    const actions = stored.history.map((h) => h.action);
    // Verified first and then withdrawn (a filing in review may be withdrawn), or withdrawn and the job skipped.
    expect(actions.slice(-2)).toEqual(verified === 'verified' ? ['verified', 'withdrawn'] : ['submitted', 'withdrawn']);
  }
});

it(`lets an edit and a submission meet ${ROUNDS} times: what was submitted is what the answers say`, async () => {
  for (let round = 0; round < ROUNDS; round++) {
    const id = await readyDraft(t.app, applicant);
    const title = `竞争修改第${round}轮`;
    const [edited, submitted] = await Promise.all([
      request(t.app).patch(`/api/v1/contracts/${id}`).set('Authorization', `Bearer ${applicant}`).send({ title }),
      send('submit', id, 0),
    ]);
    const stored = (await Contract.findById(id).lean())!;
    expect([edited.status, submitted.status].every((s) => [200, 202, 409].includes(s))).toBe(true);
    if (edited.status === 200) expect(stored.title).toBe(title); // an edit answered 200 is in the record…
    else expect(stored.title).not.toBe(title);
    if (submitted.status === 202) {
      expect(stored.status).toBe('submitted'); // …and a submission answered 202 is of the record as stored
      if (edited.status === 200) expect(stored.history.slice(-2).map((h) => h.action)).toEqual(['updated', 'submitted']);
    } else {
      expect(stored.status).toBe('draft');
      expect(submitted.body.error.current.status).toBe('draft');
    }
  }
});

it('leaves the year’s registration serials 1…N with no gap and one per registered contract', async () => {
  const year = cstYear(new Date());
  const serials = await serialsOf(year);
  expect(serials.length).toBeGreaterThan(ROUNDS);
  expect(serials).toEqual(Array.from({ length: serials.length }, (_, i) => i + 1));
  const numbered = await Contract.countDocuments({ registrationNumber: { $ne: null } });
  expect(numbered).toBe(serials.length);
});
