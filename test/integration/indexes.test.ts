/**
 * The main lists, lookups and sweeps are served by indexes. Each runs through the real service
 * on a seeded database; what it sends is captured and explained (scripts/explain.ts), and the
 * plan must reach the rows through a condition on the named index, never a sequential scan,
 * both as seeded (no planner statistics) and after ANALYZE. MongoDB's side is checked from the
 * filter and the index list: the index whose first key the filter constrains, and whether it
 * also returns the requested order ("+sort").
 *
 * DocumentDB keeps each key of an index as a column of its own and filters through any of them,
 * so for a filter on `status` alone it may take any index holding `status`: those are named as
 * a set, and the MongoDB check names the one intended.
 */
import path from 'node:path';
import { Contract } from '../../src/modules/contracts/contract.model';
import { analyzeDatabase, captureOps, describeScans, explainOp, indexKeysOf, QUERY_SHAPES, seed, type CapturedOp, type Explained } from '../../scripts/explain';
import { startTestApp, type TestApp } from '../support/harness';

const VOLUME = { organizations: 40, contracts: 2500, auditEntries: 300, notifications: 300, tokens: 50 };

const STATUS_INDEXES = ['status_1_decisionDeadline_1_submittedAt_1__id_1', 'status_1_registeredAt_-1__id_-1', 'organizationId_1_status_1_updatedAt_-1__id_-1'];

interface Expected {
  /** "collection.op" as the explain table shows it (count: the countDocuments aggregation). */
  op: string;
  /** The field whose condition the index must carry, and the index (or indexes) allowed to. */
  served: [field: string, index: string | string[]][];
  /** The index MongoDB can use (see mongoIndexFor), or those it may choose between. */
  mongo: string | string[];
}

const CASES: { shape: string; expect: Expected[] }[] = [
  {
    shape: 'applicant list',
    expect: [
      { op: 'contracts.find', served: [['organizationId', 'organizationId_1_status_1_updatedAt_-1__id_-1']], mongo: 'organizationId_1_status_1_updatedAt_-1__id_-1' },
      { op: 'contracts.count', served: [['organizationId', 'organizationId_1_status_1_updatedAt_-1__id_-1']], mongo: 'organizationId_1_status_1_updatedAt_-1__id_-1' },
    ],
  },
  {
    shape: 'applicant list, status',
    expect: [{ op: 'contracts.find', served: [['organizationId', 'organizationId_1_status_1_updatedAt_-1__id_-1']], mongo: 'organizationId_1_status_1_updatedAt_-1__id_-1 +sort' }],
  },
  {
    shape: 'review queue (default: in review)',
    expect: [
      { op: 'contracts.find', served: [['status', STATUS_INDEXES]], mongo: 'status_1_decisionDeadline_1_submittedAt_1__id_1 +sort' },
      { op: 'contracts.count', served: [['status', STATUS_INDEXES]], mongo: ['status_1_decisionDeadline_1_submittedAt_1__id_1', 'status_1_registeredAt_-1__id_-1'] },
    ],
  },
  {
    shape: 'review queue, overdue',
    expect: [{ op: 'contracts.find', served: [['decisionDeadline', 'status_1_decisionDeadline_1_submittedAt_1__id_1']], mongo: 'status_1_decisionDeadline_1_submittedAt_1__id_1 +sort' }],
  },
  {
    shape: 'public register',
    expect: [{ op: 'contracts.find', served: [['status', STATUS_INDEXES]], mongo: 'status_1_registeredAt_-1__id_-1 +sort' }],
  },
  {
    shape: 'certificate verification',
    expect: [{ op: 'contracts.findOne', served: [['registrationNumber', 'registrationNumber_1']], mongo: 'registrationNumber_1' }],
  },
  {
    shape: 'verification: duplicate search',
    expect: [{ op: 'contracts.find', served: [['seller.uscc', 'seller.uscc_1'], ['contractAmountFen', 'contractAmountFen_1']], mongo: 'seller.uscc_1 | contractAmountFen_1' }],
  },
  {
    shape: 'public register, year',
    expect: [{ op: 'contracts.find', served: [['registeredAt', 'status_1_registeredAt_-1__id_-1']], mongo: 'status_1_registeredAt_-1__id_-1 +sort' }],
  },
  {
    shape: 'sweep: missing certificates',
    expect: [{ op: 'contracts.find', served: [['registeredAt', 'awaiting_certificate']], mongo: 'awaiting_certificate' }],
  },
  {
    shape: 'sweep: pending decision effects',
    expect: [{ op: 'contracts.find', served: [['updatedAt', 'pending_effects']], mongo: 'pending_effects' }],
  },
  {
    shape: 'ledger: fact of a registration',
    expect: [{ op: 'tallyentries.findOne', served: [['e', 'e_1']], mongo: 'e_1' }],
  },
  {
    shape: 'registration: number a contract',
    expect: [
      { op: 'registrations.findOne', served: [['contractId', 'contractId_1']], mongo: 'contractId_1' },
      { op: 'registrations.findOne', served: [['year', 'year_1_serial_-1']], mongo: 'year_1_serial_-1 +sort' },
    ],
  },
];

let t: TestApp;
/** What each shape sent, captured once (running some of them again sends nothing: a contract numbered is numbered). */
const sent = new Map<string, CapturedOp[]>();

beforeAll(async () => {
  t = await startTestApp();
  const ctx = await seed(VOLUME);
  for (const { shape } of CASES) {
    const found = QUERY_SHAPES.find((s) => s.name === shape);
    if (!found) throw new Error(`no query shape "${shape}" in scripts/explain.ts`);
    sent.set(shape, await captureOps(() => found.run(ctx)));
  }
}, 60_000);
afterAll(async () => {
  await t?.close();
});

async function explain(shape: string): Promise<Explained[]> {
  const ops = sent.get(shape)!;
  const keys = await indexKeysOf(new Set(ops.map((o) => o.collection)));
  return Promise.all(ops.map((op) => explainOp(op, keys)));
}

/** What a check failed on, with the plan, so a failure says what the planner did instead. */
function problems(e: Explained, want: Expected): string[] {
  const out: string[] = [];
  if (!e.summary.indexed) out.push('reads the collection whole');
  for (const [field, index] of want.served) {
    const allowed = typeof index === 'string' ? [index] : index;
    if (!e.summary.scans.some((s) => allowed.includes(s.index) && s.fields.includes(field))) out.push(`no condition on ${field} through ${allowed.join(' or ')}`);
  }
  const mongo = typeof want.mongo === 'string' ? [want.mongo] : want.mongo;
  if (!mongo.includes(e.mongo ?? '')) out.push(`MongoDB index ${e.mongo ?? 'none'}, expected ${mongo.join(' or ')}`);
  return out.map((p) => `${e.op.collection}.${e.as}: ${p} (plan ${e.summary.top}: ${describeScans(e.summary)})`);
}

async function check(shape: string, expected: Expected[]): Promise<string[]> {
  const explained = await explain(shape);
  const out: string[] = [];
  const left = [...explained];
  for (const want of expected) {
    const i = left.findIndex((e) => `${e.op.collection}.${e.as}` === want.op && problems(e, want).length === 0);
    if (i >= 0) {
      left.splice(i, 1);
      continue;
    }
    const same = left.filter((e) => `${e.op.collection}.${e.as}` === want.op);
    out.push(...(same.length ? same.flatMap((e) => problems(e, want)) : [`${want.op}: not sent (sent: ${explained.map((e) => `${e.op.collection}.${e.as}`).join(', ')})`]));
  }
  return out;
}

describe.each([
  ['as seeded', false],
  ['after ANALYZE', true],
])('query plans %s', (_label, analyze) => {
  beforeAll(() => {
    if (analyze) analyzeDatabase(path.join(process.env.TEST_TMP_DIR!, 'db'), Number(process.env.TEST_PG_PORT));
  });

  it.each(CASES.map((c) => [c.shape, c.expect] as const))('%s is served by its index', async (shape, expected) => {
    expect(await check(shape, expected)).toEqual([]);
  });
});

describe('the check itself', () => {
  it('notices a missing index', async () => {
    const shape = 'sweep: pending decision effects';
    const [want] = CASES.find((c) => c.shape === shape)!.expect;
    await Contract.collection.dropIndex('pending_effects');
    try {
      const found = await check(shape, [want]);
      expect(found).toEqual(
        expect.arrayContaining([expect.stringContaining('no condition on updatedAt through pending_effects'), expect.stringContaining('MongoDB index none')]),
      );
    } finally {
      await Contract.createIndexes();
    }
    expect(await check(shape, [want])).toEqual([]);
  });
});
