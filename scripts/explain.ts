/**
 * Which index serves each query the pages, the API and the workers run.
 *
 * `npm run explain` starts a throw-away embedded database (PostgreSQL + DocumentDB + FerretDB v2),
 * builds the models' indexes, seeds a realistic volume (EXPLAIN_CONTRACTS contracts, 30,000 by
 * default, across 300 organisations, with their registrations, ledger, audit log, notifications
 * and tokens), then calls the real service functions, captures every database operation they
 * issue (the exact filter, sort, skip and limit the code builds) and explains it. DocumentDB
 * answers `explain` with a PostgreSQL plan; the table shows its top nodes, the index each scan
 * used and the fields its condition constrains, and the time the operation takes.
 *
 * It explains twice: as seeded (no planner statistics yet) and after ANALYZE (what autovacuum
 * gives a running database). It exits non-zero when an operation that should be served by an
 * index is not: DocumentDB's plan reads the collection whole (a sequential scan, or `_id_`
 * constrained by nothing but the shard key), or MongoDB would find no index whose first key
 * the filter constrains (checked from the filter and the index list: see mongoIndexFor).
 *
 * The capture and classification helpers are exported for test/integration/indexes.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose, { Types } from 'mongoose';
import { CONTRACT_TYPE_CODES, ENTITY_NATURE_CODES, IP_TYPES, keysOf, PLAN_SOURCES, PRIORITY_AREAS, TECHNICAL_FIELDS } from '../src/domain/codes';
import { encodeFact, factOf } from '../src/domain/tally';
import { cstDate, cstYear } from '../src/domain/time';
import { ensureIndexes } from '../src/lib/db';
import { createLogger } from '../src/lib/logger';
import type { Queues } from '../src/lib/queues';
import '../src/models';
import { ensureBootstrapAdmin } from '../src/modules/accounts/bootstrap';
import { listBureauUsers } from '../src/modules/accounts/accounts.service';
import type { CurrentUser } from '../src/modules/accounts/current-user';
import { ApiToken } from '../src/modules/accounts/token.model';
import { revokeAllTokens, sweepExpiredTokens } from '../src/modules/accounts/tokens.service';
import { User } from '../src/modules/accounts/user.model';
import { AuditEntry } from '../src/modules/audit/audit.model';
import { auditCsvRows, searchAudit } from '../src/modules/audit/audit.service';
import { Contract, type ContractDoc, type ContractStatus } from '../src/modules/contracts/contract.model';
import { requeueSubmitted } from '../src/modules/contracts/contracts.jobs';
import { listContracts } from '../src/modules/contracts/contracts.service';
import { Notification, OutboxMail } from '../src/modules/notifications/notification.model';
import { bureauUnreadCount, createMailer, listBureauNotifications, listNotifications, listOutbox, markAllRead, requeuePendingMail, sendNotificationMail, unreadCount } from '../src/modules/notifications/notifications.service';
import { Organization } from '../src/modules/organizations/organization.model';
import { listMembers, listOrganizations } from '../src/modules/organizations/organizations.service';
import { findCertificate } from '../src/modules/public/certificates';
import { searchRegister } from '../src/modules/public/public.routes';
import { requeueMissingCertificates } from '../src/modules/review/certificate';
import { markRegistrationRevoked, numberRegistration, serialsOf } from '../src/modules/registrations/registration-numbers';
import { Registration } from '../src/modules/registrations/registration.model';
import { completeDecisions, type ReviewDeps } from '../src/modules/review/decisions.service';
import { listOverdue, listReviewQueue, watchDeadlines } from '../src/modules/review/queue.service';
import { verifySubmission } from '../src/modules/review/verification.service';
import { statsForYear } from '../src/modules/stats/stats.service';
import { registerOfYear } from '../src/modules/stats/stats.pages';
import { WorkerHeartbeat } from '../src/modules/system/heartbeat.model';
import { listWorkers } from '../src/modules/system/heartbeat.service';
import { ReconciliationRun, TallyEntry, YearTallyDoc } from '../src/modules/turnover/turnover.model';
import { applyPending, lastReconciliation, reconcile, recordTallyEvent } from '../src/modules/turnover/turnover.service';
import { DB_USER, PG_BIN, startEmbeddedDatabase } from './embedded-database';
import { freePort, mongoUriFor } from './local-services';

const AGENCY = '630100';
const DAY = 86_400_000;

// ── Capturing what the code sends ─────────────────────────────────────────────────────────

/** One database operation as a service issued it (after Mongoose's casting). */
export interface CapturedOp {
  collection: string;
  method: string;
  filter: Record<string, unknown>;
  options: Record<string, unknown>;
  pipeline?: Record<string, unknown>[];
}

const READS = new Set(['find', 'findOne', 'countDocuments', 'aggregate', 'distinct']);
const WITH_UPDATE = new Set(['updateOne', 'updateMany', 'findOneAndUpdate', 'findOneAndReplace', 'replaceOne']);
const WRITES = new Set([...WITH_UPDATE, 'deleteOne', 'deleteMany', 'findOneAndDelete']);

/** A filter that names one document by `_id` (a primary-key lookup: nothing to explain). */
function isIdLookup(filter: Record<string, unknown>): boolean {
  const id = filter._id;
  if (id === undefined) return false;
  return typeof id !== 'object' || id === null || id instanceof Types.ObjectId;
}

/**
 * Runs `fn` and returns the queries it sent that can touch more than one document: every read
 * and write by filter, without inserts and without lookups of one `_id`.
 */
export async function captureOps(fn: () => Promise<unknown>): Promise<CapturedOp[]> {
  const ops: CapturedOp[] = [];
  const listener = (e: { collectionName: string; method: string; params: unknown[] }) => {
    if (!READS.has(e.method) && !WRITES.has(e.method)) return;
    if (e.method === 'aggregate') {
      ops.push({ collection: e.collectionName, method: e.method, filter: {}, options: (e.params[1] as Record<string, unknown>) ?? {}, pipeline: e.params[0] as Record<string, unknown>[] });
      return;
    }
    const filter = (e.params[0] as Record<string, unknown>) ?? {};
    if (isIdLookup(filter)) return;
    const options = ((WITH_UPDATE.has(e.method) ? e.params[2] : e.params[1]) as Record<string, unknown>) ?? {};
    ops.push({ collection: e.collectionName, method: e.method, filter, options });
  };
  mongoose.connection.on('operation-start', listener);
  try {
    await fn();
  } finally {
    mongoose.connection.off('operation-start', listener);
  }
  // The same shape repeated (a loop over batches) is explained once.
  const seen = new Set<string>();
  return ops.filter((op) => {
    const key = `${op.collection}.${op.method}:${JSON.stringify(shapeOf(op.filter))}:${JSON.stringify(op.options.sort ?? null)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The filter's structure without its values, for telling shapes apart. */
function shapeOf(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shapeOf);
  if (v && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Types.ObjectId) && !(v instanceof RegExp)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shapeOf(x)]));
  }
  return typeof v;
}

/** The explain command for an operation; writes are explained by their filter as a find (DocumentDB explains no writes). */
export function explainCommandOf(op: CapturedOp): { command: Record<string, unknown>; as: string } {
  const projection = op.options.projection;
  if (op.method === 'find' || op.method === 'findOne') {
    const cmd: Record<string, unknown> = { find: op.collection, filter: op.filter };
    if (op.options.sort) cmd.sort = op.options.sort;
    if (op.options.skip) cmd.skip = op.options.skip;
    if (op.method === 'findOne') cmd.limit = 1;
    else if (op.options.limit) cmd.limit = op.options.limit;
    if (projection) cmd.projection = projection;
    return { command: cmd, as: op.method };
  }
  if (op.method === 'countDocuments') {
    // What the driver sends for countDocuments.
    return { command: { aggregate: op.collection, pipeline: [{ $match: op.filter }, { $group: { _id: 1, n: { $sum: 1 } } }], cursor: {} }, as: 'count' };
  }
  if (op.method === 'aggregate') return { command: { aggregate: op.collection, pipeline: op.pipeline, cursor: {} }, as: 'aggregate' };
  const cmd: Record<string, unknown> = { find: op.collection, filter: op.filter };
  if (op.options.sort) cmd.sort = op.options.sort;
  if (op.method.endsWith('One') || op.method.startsWith('findOneAnd')) cmd.limit = 1;
  return { command: cmd, as: `${op.method}→find` };
}

// ── Reading a DocumentDB plan ─────────────────────────────────────────────────────────────
//
// DocumentDB stores a MongoDB index as a multi-column RUM index with one single-path column per
// key (`USING documentdb_rum (document bson_rum_single_path_ops (path=a), … (path=b))`): like a
// multi-column GIN index it answers a condition on any of its keys from that key's own entries,
// so the order of the keys does not matter to it. It also sorts whatever the index returns (its
// order-by pushdown is off), so the sort part of an index serves MongoDB only. Hence two checks:
// DocumentDB's plan must reach the rows through index conditions, and (statically, from the
// filter and the index list) MongoDB must have an index whose first key the filter constrains.

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Relation Name'?: string;
  Filter?: string;
  Plans?: PlanNode[];
}

export interface IndexScan {
  index: string;
  /** The document fields the scan's condition constrains (none: the whole collection through `_id_`). */
  fields: string[];
}

export interface PlanSummary {
  /** Node types from the top down (the first child at each level). */
  top: string;
  scans: IndexScan[];
  seqScans: number;
  /** Every branch reaches its rows through an index condition on a document field. */
  indexed: boolean;
}

/** Each index's keys with their directions, by collection then index name. */
/** Per collection, per index: its keys, and the fields its partial filter names (if any). */
export type IndexKeys = Map<string, Map<string, IndexSpec>>;
export type IndexSpec = [string, number][] & { partial?: string[] };

export async function indexKeysOf(collections: Iterable<string>): Promise<IndexKeys> {
  const out: IndexKeys = new Map();
  for (const name of collections) {
    const list = (await mongoose.connection.db!.collection(name).listIndexes().toArray().catch(() => [])) as {
      name: string;
      key: Record<string, number>;
      partialFilterExpression?: Record<string, unknown>;
    }[];
    out.set(name, new Map(list.map((i) => [i.name, Object.assign(Object.entries(i.key), { partial: Object.keys(i.partialFilterExpression ?? {}) })])));
  }
  return out;
}

/** The top-level field names of each BSON literal in a plan condition. */
function conditionFields(cond: string): string[] {
  const fields = new Set<string>();
  for (const m of cond.matchAll(/'BSONHEX([0-9a-f]+)'/gi)) {
    try {
      for (const k of Object.keys(mongoose.mongo.BSON.deserialize(Buffer.from(m[1], 'hex')))) if (k) fields.add(k);
    } catch {
      // not a document
    }
  }
  if (/\bobject_id\b/.test(cond)) fields.add('_id');
  return [...fields];
}

const SHORT: Record<string, string> = {
  'Bitmap Heap Scan': 'BitmapHeap',
  'Bitmap Index Scan': 'BitmapIndex',
  'Index Scan': 'IndexScan',
  'Index Only Scan': 'IndexOnly',
  'Seq Scan': 'SEQ SCAN',
  'Subquery Scan': 'Subquery',
  'Custom Scan': 'Custom',
};

export function summarizePlan(plan: PlanNode): PlanSummary {
  const scans: IndexScan[] = [];
  let seqScans = 0;
  const good = (n: PlanNode): boolean => {
    const type = n['Node Type'];
    if (type === 'Seq Scan') {
      seqScans++;
      return false;
    }
    if (n['Index Name']) {
      // "_id_" constrained by the collection's shard key only is the whole collection.
      const fields = conditionFields(n['Index Cond'] ?? '');
      scans.push({ index: n['Index Name'], fields });
      return fields.length > 0;
    }
    const results = (n.Plans ?? []).map(good);
    return type === 'BitmapAnd' ? results.some(Boolean) : results.every(Boolean);
  };
  const indexed = good(plan);
  const top: string[] = [];
  for (let n: PlanNode | undefined = plan; n; n = n.Plans?.[0]) top.push(SHORT[n['Node Type']] ?? n['Node Type']);
  return { top: top.join('›'), scans, seqScans, indexed };
}

// ── What MongoDB could use ────────────────────────────────────────────────────────────────

type Use = 'eq' | 'range' | 'none';

/** How an index could use each field's condition (MongoDB's rules, roughly). */
function usesOf(filter: Record<string, unknown>): Map<string, Use> {
  const out = new Map<string, Use>();
  for (const [k, v] of Object.entries(filter)) {
    if (k.startsWith('$')) continue;
    const isOps = v !== null && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Types.ObjectId) && !(v instanceof RegExp) && !Array.isArray(v) && Object.keys(v).every((o) => o.startsWith('$'));
    if (!isOps) {
      out.set(k, v instanceof RegExp ? (v.source.startsWith('^') ? 'range' : 'none') : 'eq');
      continue;
    }
    const ops = v as Record<string, unknown>;
    if ('$eq' in ops) out.set(k, 'eq');
    else if (['$in', '$gt', '$gte', '$lt', '$lte', '$ne', '$type'].some((o) => o in ops)) out.set(k, 'range');
    else if ('$regex' in ops) out.set(k, String(ops.$regex).startsWith('^') ? 'range' : 'none');
    else out.set(k, 'none');
  }
  return out;
}

function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** The filter as the conjunctions MongoDB plans separately (one per `$or` branch). */
function branchesOf(filter: Record<string, unknown>): Record<string, unknown>[] {
  const { $or, $and, ...rest } = filter as { $or?: Record<string, unknown>[]; $and?: Record<string, unknown>[] };
  let base: Record<string, unknown> = rest;
  // A field named twice (an equality, and a partial index's filter repeated) keeps its first use.
  for (const part of $and ?? []) base = { ...part, ...base };
  return $or ? $or.map((b) => ({ ...base, ...b })) : [base];
}

/**
 * The index MongoDB can use for each branch of the filter: one whose first key the filter
 * constrains, preferring one that also returns the rows in the requested order, then the one
 * whose leading keys the filter constrains furthest. Null when a branch has none.
 */
export function mongoIndexFor(filter: Record<string, unknown>, sort: Record<string, number> | undefined, indexes: Map<string, IndexSpec>): string | null {
  const names: string[] = [];
  for (const branch of branchesOf(filter)) {
    const uses = usesOf(branch);
    let best: { name: string; sorted: boolean; score: number[] } | null = null;
    for (const [name, keys] of indexes) {
      // A partial index serves only queries that constrain what its filter names.
      if (keys.partial?.some((f) => !uses.has(f))) continue;
      const first = uses.get(keys[0][0]);
      if (!first || first === 'none') continue;
      let eq = 0;
      while (eq < keys.length && uses.get(keys[eq][0]) === 'eq') eq++;
      let depth = eq;
      while (depth < keys.length && uses.has(keys[depth][0]) && uses.get(keys[depth][0]) !== 'none') depth++;
      let sorted = false;
      if (sort && Object.keys(sort).length) {
        const want = Object.entries(sort).filter(([f]) => uses.get(f) !== 'eq');
        const rest = keys.slice(eq, eq + want.length);
        const same = rest.length === want.length && rest.every(([f, d], i) => f === want[i][0] && d === want[i][1]);
        const reversed = rest.length === want.length && rest.every(([f, d], i) => f === want[i][0] && d === -want[i][1]);
        sorted = same || reversed;
      }
      // An equality on the first key first, then the order, then how far the keys are constrained.
      const score = [first === 'eq' ? 1 : 0, sorted ? 1 : 0, eq, depth];
      if (!best || compareScores(score, best.score) > 0) best = { name, sorted, score };
    }
    if (!best) return null;
    names.push(best.name + (best.sorted ? ' +sort' : ''));
  }
  return [...new Set(names)].join(' | ');
}

export interface Explained {
  op: CapturedOp;
  as: string;
  summary: PlanSummary;
  plan: PlanNode;
  /** The index MongoDB could use (see mongoIndexFor); null if none. */
  mongo: string | null;
}

export async function explainOp(op: CapturedOp, keys: IndexKeys): Promise<Explained> {
  const { command, as } = explainCommandOf(op);
  const res = await mongoose.connection.db!.command({ explain: command, verbosity: 'queryPlanner' });
  const plan = (res.queryPlanner as { Plan: PlanNode }).Plan;
  const indexes = keys.get(op.collection) ?? new Map();
  const filter = op.method === 'aggregate' ? ((op.pipeline?.[0]?.$match as Record<string, unknown>) ?? {}) : op.filter;
  const sort = op.method === 'find' || op.method === 'findOne' ? (op.options.sort as Record<string, number> | undefined) : undefined;
  return { op, as, plan, summary: summarizePlan(plan), mongo: mongoIndexFor(filter, sort, indexes) };
}

/** Captures what `fn` sends and explains each operation. */
export async function explainCall(fn: () => Promise<unknown>): Promise<Explained[]> {
  const ops = await captureOps(fn);
  const keys = await indexKeysOf(new Set(ops.map((o) => o.collection)));
  const out: Explained[] = [];
  for (const op of ops) out.push(await explainOp(op, keys));
  return out;
}

/** "name[field,field]" for each index scan of a plan; "SEQ SCAN" for each sequential scan. */
export function describeScans(s: PlanSummary): string {
  const parts = s.scans.map((x) => `${x.index}[${x.fields.join(',') || 'shard key only: whole collection'}]`);
  for (let i = 0; i < s.seqScans; i++) parts.push('SEQ SCAN');
  return parts.join(' + ') || '—';
}

// ── Seeding ───────────────────────────────────────────────────────────────────────────────

export interface Volume {
  organizations: number;
  contracts: number;
  auditEntries: number;
  notifications: number;
  tokens: number;
}

export const FULL_VOLUME: Volume = { organizations: 300, contracts: 30_000, auditEntries: 60_000, notifications: 30_000, tokens: 3_000 };

/** What the query shapes need to know about the seeded data. */
export interface SeedContext {
  applicant: CurrentUser;
  bureau: CurrentUser;
  admin: CurrentUser;
  /** The organisation with the most contracts (the applicant's). */
  organizationId: string;
  registrationNumber: string;
  registeredContractId: string;
  year: number;
  /** A submitted filing for the verification's duplicate search. */
  submitted: { id: string; submission: number };
  /** Just registered: no number, no ledger entry yet (a decision whose effects are pending). */
  freshRegisteredId: string;
  pendingNotificationId: string;
  queues: Queues;
  reviewDeps: ReviewDeps;
}

function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)],
    chance: (p: number) => next() < p,
  };
}

const STATUS_WEIGHTS: [ContractStatus, number][] = [
  ['draft', 0.1], ['submitted', 0.03], ['in_review', 0.12], ['registered', 0.55], ['returned', 0.05], ['refused', 0.04], ['withdrawn', 0.05], ['revoked', 0.06],
];

async function insertAll(model: mongoose.Model<any>, docs: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < docs.length; i += 2000) await model.collection.insertMany(docs.slice(i, i + 2000) as never[], { ordered: false });
}

/** A queue stand-in: the sweepers enqueue into it and nothing happens. */
export const discardingQueues = (): Queues => {
  const q = { add: async () => undefined } as unknown as Queues['maintenance'];
  return { maintenance: q, verification: q, certificates: q, notifications: q, turnover: q, imports: q, close: async () => undefined };
};

/** Fills the connected database with `volume` (deterministically). */
export async function seed(volume: Volume, seedNumber = 1): Promise<SeedContext> {
  const r = prng(seedNumber);
  const now = Date.now();
  const year = cstYear(new Date());
  const fields = keysOf(TECHNICAL_FIELDS);
  const ipTypes = keysOf(IP_TYPES);
  const planSources = keysOf(PLAN_SOURCES);
  const priorities = keysOf(PRIORITY_AREAS);
  const uscc = (i: number, kind: string) => `91630100${kind}${String(i).padStart(8, '0')}`;

  // Organisations and their members; the bureau.
  const orgs = Array.from({ length: volume.organizations }, (_, i) => {
    const createdAt = new Date(now - r.int(5 * 365) * DAY);
    const status = i % 20 === 19 ? 'pending' : i % 50 === 7 ? 'rejected' : 'verified';
    return {
      _id: new Types.ObjectId(), name: `青海第${i}科技研究院有限公司`, uscc: uscc(i, 'MA'), nature: r.pick(ENTITY_NATURE_CODES), regionCode: '630102',
      address: `西宁市城东区${i}号`, status, usccCheckFailed: false, rejectionReason: status === 'rejected' ? '材料不全' : null,
      reviewedAt: status === 'pending' ? null : createdAt, reviewedBy: null, version: status === 'pending' ? 0 : 1, history: [], createdAt, updatedAt: createdAt,
    };
  });
  const users: Record<string, unknown>[] = [];
  const membersOf = new Map<string, Types.ObjectId[]>();
  orgs.forEach((o, i) => {
    const ids: Types.ObjectId[] = [];
    for (let k = 0; k < 3; k++) {
      const _id = new Types.ObjectId();
      ids.push(_id);
      users.push({
        _id, email: `m${k}@org${i}.test`, name: `经办人${k}`, role: 'applicant', organizationId: o._id, organizationManager: k === 0, passwordHash: 'x',
        mustChangePassword: false, sessionEpoch: 0, disabled: k === 2 && i % 4 === 0, lastSignInAt: null, createdAt: new Date(o.createdAt.getTime() + k * DAY), updatedAt: o.createdAt,
      });
    }
    membersOf.set(String(o._id), ids);
  });
  const bureau = Array.from({ length: 15 }, (_, k) => ({
    _id: new Types.ObjectId(), email: `${k < 12 ? 'reviewer' : 'admin'}${k}@bureau.test`, name: `审核员${k}`, role: k < 12 ? 'reviewer' : 'admin', organizationId: null,
    organizationManager: false, passwordHash: 'x', mustChangePassword: false, sessionEpoch: 0, disabled: k === 5, lastSignInAt: null, createdAt: new Date(now - 900 * DAY), updatedAt: new Date(now - 900 * DAY),
  }));
  users.push(...bureau);

  // Contracts: a few organisations file most of them.
  const contracts: (Record<string, unknown> & { _id: Types.ObjectId; status: ContractStatus; registeredAt: Date | null; organizationId: Types.ObjectId })[] = [];
  const amounts = [5_000_000, 10_000_000, 20_000_000, 50_000_000, 100_000_000, 300_000_000];
  for (let i = 0; i < volume.contracts; i++) {
    const org = orgs[Math.floor(volume.organizations * r.next() ** 2)];
    let x = r.next();
    let status: ContractStatus = 'draft';
    for (const [s, w] of STATUS_WEIGHTS) {
      if (x < w) {
        status = s;
        break;
      }
      x -= w;
    }
    const createdAt = new Date(now - (10 + r.int(4 * 365)) * DAY);
    const open = status === 'submitted' || status === 'in_review';
    const submittedAt = status === 'draft' ? null : open ? new Date(now - r.int(40) * DAY) : new Date(createdAt.getTime() + r.int(20) * DAY);
    const deadline = submittedAt ? cstDate(new Date(submittedAt.getTime() + 21 * DAY)) : null;
    const decided = ['registered', 'returned', 'refused', 'revoked'].includes(status);
    const registeredAt = status === 'registered' || status === 'revoked' ? new Date(submittedAt!.getTime() + (1 + r.int(15)) * DAY) : null;
    const type = r.pick(CONTRACT_TYPE_CODES);
    const amount = r.chance(0.3) ? r.pick(amounts) : 100_000 + r.int(50_000) * 1000;
    const signedOn = cstDate(new Date(createdAt.getTime() - r.int(60) * DAY));
    const title = `${r.pick(['新型', '智能', '高效', '绿色', '高原'])}${r.pick(['材料', '能源', '农业', '医药', '信息'])}技术${type === 'service' ? '服务' : '开发'}合同${i}`;
    const buyers = Array.from({ length: 1 + r.int(2) }, (_, b) => ({ name: `买方单位${r.int(2000)}`, uscc: uscc(r.int(2000), 'MB'), nature: r.pick(ENTITY_NATURE_CODES), regionCode: b ? '110108' : '630103' }));
    const updatedAt = new Date(Math.max(createdAt.getTime(), (registeredAt ?? submittedAt ?? createdAt).getTime()));
    const c = {
      _id: new Types.ObjectId(), organizationId: org._id, status, version: 3, title, contractNumber: `HT-${signedOn.slice(0, 4)}-${i}`, type, subtype: null, signedOn,
      validFrom: signedOn, validTo: `${Number(signedOn.slice(0, 4)) + 2}-12-31`, contractAmountFen: amount, technicalAmountFen: Math.round(amount * 0.8),
      paymentMethod: 'lump_sum', relatedParty: false, planSource: r.pick(planSources), ipType: r.pick(ipTypes), technicalField: r.pick(fields), socioEconomicObjective: 'social',
      priorityArea: r.pick(priorities), seller: { name: org.name, uscc: org.uscc, nature: org.nature, regionCode: org.regionCode, contactPerson: '联系人', phone: '0971-1234567', email: 'seller@org.test', address: org.address },
      buyers, declaration: true, draftRaw: [], attachments: [],
      findings: status === 'draft' ? [] : Array.from({ length: r.int(3) }, () => ({ code: 'amount_round', severity: r.pick(['info', 'warning', 'error']), message: '提示', messageEn: 'note', related: [] })),
      history: [{ at: createdAt, actorId: null, actorName: '经办人', action: 'created', note: null }, ...(submittedAt ? [{ at: submittedAt, actorId: null, actorName: '经办人', action: 'submitted', note: null }] : [])],
      submissionCount: submittedAt ? 1 : 0, submittedAt, decisionDeadline: deadline, expertReview: false, overdue: open && deadline! < cstDate(new Date(now)),
      decision: decided ? { action: status === 'revoked' ? 'registered' : status, reasonCode: null, note: null, at: registeredAt ?? updatedAt, actorId: bureau[0]._id, actorName: '审核员0' } : null,
      pendingEffects: null as string | null, ...(registeredAt ? { certificateFileId: r.chance(0.995) ? `cert${i}` : null } : {}), revokedAt: status === 'revoked' ? new Date(registeredAt!.getTime() + 30 * DAY) : null,
      registrationNumber: null as string | null, registeredAt, registrationYear: registeredAt ? cstYear(registeredAt) : null, signedYear: Number(signedOn.slice(0, 4)),
      searchText: '', createdBy: membersOf.get(String(org._id))![0], createdAt, updatedAt,
    };
    contracts.push(c);
  }
  // Registration numbers, the register and the ledger, in order of registration.
  const registered = contracts.filter((c) => c.registeredAt).sort((a, b) => a.registeredAt!.getTime() - b.registeredAt!.getTime());
  const serials = new Map<number, number>();
  const seqs = new Map<number, number>();
  const registrations: Record<string, unknown>[] = [];
  const ledger: Record<string, unknown>[] = [];
  const nextSeq = (y: number) => {
    const s = (seqs.get(y) ?? 0) + 1;
    seqs.set(y, s);
    return `${y}-${String(s).padStart(9, '0')}`;
  };
  for (const c of registered) {
    const y = c.registrationYear as number;
    const serial = (serials.get(y) ?? 0) + 1;
    serials.set(y, serial);
    c.registrationNumber = `${y}${AGENCY}${String(serial).padStart(6, '0')}`;
    registrations.push({ _id: `${y}-${String(serial).padStart(6, '0')}`, year: y, serial, number: c.registrationNumber, contractId: String(c._id), at: c.registeredAt, revokedAt: c.revokedAt });
    const fact = factOf(c as never, AGENCY);
    ledger.push({ _id: nextSeq(fact.year), e: `registered:${c._id}`, s: 1, f: encodeFact(fact) });
    if (c.revokedAt) ledger.push({ _id: nextSeq(fact.year), e: `revoked:${c._id}`, s: -1, f: encodeFact(fact) });
  }
  for (const c of contracts) {
    const party = c.seller as { name: string };
    c.searchText = [c.title, c.contractNumber, c.registrationNumber, party.name, ...(c.buyers as { name: string }[]).map((b) => b.name)].filter(Boolean).join(' ').toLowerCase();
  }
  // A few decisions whose follow-up is still running (changed just now, so no sweep picks them up).
  for (const c of registered.slice(-5)) Object.assign(c, { pendingEffects: 'registered', updatedAt: new Date(now) });
  // A decision just won: registered, not numbered, no ledger entry yet.
  const applicantOrg = orgs[0];
  const fresh = contracts.find((c) => c.status === 'in_review' && String(c.organizationId) === String(applicantOrg._id))!;
  Object.assign(fresh, { status: 'registered', registeredAt: new Date(now), registrationYear: year, pendingEffects: 'registered', updatedAt: new Date(now) });
  // A submitted filing whose seller has filed many, with a common amount.
  const submitted = contracts.find((c) => c.status === 'submitted' && String(c.organizationId) === String(applicantOrg._id))!;
  submitted.contractAmountFen = amounts[1];

  const notifications: Record<string, unknown>[] = [];
  for (let i = 0; i < volume.notifications; i++) {
    const c = contracts[r.int(contracts.length)];
    const members = membersOf.get(String(c.organizationId))!;
    const createdAt = new Date(now - r.int(3 * 365) * DAY - 120_000);
    const pending = r.chance(0.005);
    notifications.push({
      _id: `contract:${c._id}:n${i}`, organizationId: c.organizationId, contractId: c._id, kind: 'registered', subject: '技术合同登记：准予登记', subjectEn: 'Technology contract registered',
      body: '您提交的技术合同已准予登记。', bodyEn: 'Your technology contract was registered.', createdAt, readBy: r.chance(0.7) ? [members[0]] : [],
      email: pending ? { status: 'pending', to: [] } : { status: 'sent', to: ['m0@org.test'], sentAt: createdAt, via: 'smtp' }, version: 1,
    });
  }
  const firstPending = notifications.find((n) => (n.email as { status: string }).status === 'pending');
  const pendingNotificationId = String(firstPending?._id ?? notifications[0]._id);
  if (!firstPending) notifications[0].email = { status: 'pending', to: [] };

  const actions = ['auth.signin', 'contract.registered', 'contract.returned', 'contract.refused', 'contract.revoked', 'organization.verified', 'organization.rejected', 'user.created', 'turnover.reconcile'];
  const audit = Array.from({ length: volume.auditEntries }, () => {
    const actor = r.pick(bureau);
    return {
      _id: new Types.ObjectId(), at: new Date(now - r.int(2 * 365 * 24) * 3600_000), actorId: actor._id, actorEmail: actor.email, actorRole: actor.role, action: r.pick(actions),
      targetType: 'contract', targetId: String(contracts[r.int(contracts.length)]._id), details: null, ip: '10.0.0.1',
    };
  });
  const tokens = Array.from({ length: volume.tokens }, () => {
    const u = users[r.int(users.length)];
    const createdAt = new Date(now - r.int(60) * DAY);
    return { _id: randomBytes(32).toString('hex'), userId: u._id, createdAt, expiresAt: new Date(createdAt.getTime() + 30 * DAY) };
  });
  const outbox = Array.from({ length: 300 }, (_, i) => ({ _id: `mail-${i}`, to: ['m0@org.test'], from: 'registry@bureau.test', subject: '通知', text: '…', createdAt: new Date(now - i * 3600_000) }));
  const runs = Array.from({ length: 60 }, (_, i) => ({ _id: new Types.ObjectId(), at: new Date(now - i * DAY), finishedAt: new Date(now - i * DAY + 2000), ms: 2000, trigger: 'schedule', actorEmail: null, contracts: registered.length, years: [year], missingEntries: 0, corrected: [], timings: null, unresolved: [] }));
  const tallies = [...seqs.entries()].map(([y, s]) => ({ _id: `turnover-${y}`, year: y, appliedSeq: Math.max(0, s - 3), tally: { year: y, totals: { count: 0, contractFen: 0, technicalFen: 0 }, by: { month: {}, type: {}, field: {}, nature: {}, ipType: {}, priorityArea: {}, planSource: {} }, large: { count: 0, contractFen: 0, technicalFen: 0 }, buyerSide: { count: 0, contractFen: 0, technicalFen: 0 } }, updatedAt: new Date(now) }));

  await insertAll(Organization, orgs);
  await insertAll(User, users);
  await insertAll(Contract, contracts);
  await insertAll(Registration, registrations);
  await insertAll(TallyEntry, ledger);
  await insertAll(YearTallyDoc, tallies);
  await insertAll(Notification, notifications);
  await insertAll(OutboxMail, outbox);
  await insertAll(AuditEntry, audit);
  await insertAll(ApiToken, tokens);
  await insertAll(ReconciliationRun, runs);
  await insertAll(WorkerHeartbeat, [{ _id: 'worker-1', host: 'h', pid: 1, queues: ['maintenance'], startedAt: new Date(now), seenAt: new Date(now) }]);

  const asUser = (u: Record<string, unknown>): CurrentUser => ({
    id: String(u._id), email: u.email as string, name: u.name as string, role: u.role as CurrentUser['role'], organizationId: u.organizationId ? String(u.organizationId) : null,
    organizationManager: Boolean(u.organizationManager), mustChangePassword: false, sessionEpoch: 0, via: 'session',
  });
  const someRegistered = registered.find((c) => c.status === 'registered' && c !== fresh)!;
  const queues = discardingQueues();
  return {
    applicant: asUser(users.find((u) => String(u.organizationId) === String(applicantOrg._id))!),
    bureau: asUser(bureau[0]),
    admin: asUser(bureau[13]),
    organizationId: String(applicantOrg._id),
    registrationNumber: someRegistered.registrationNumber as string,
    registeredContractId: String(someRegistered._id),
    year,
    submitted: { id: String(submitted._id), submission: 1 },
    freshRegisteredId: String(fresh._id),
    pendingNotificationId,
    queues,
    reviewDeps: {
      queues: null,
      logger: createLogger({ level: 'silent', pretty: false }),
      config: { agency: { code: AGENCY, nameZh: '科技局', nameEn: 'Bureau' }, publicUrl: 'http://localhost', queuePrefix: 'explain', turnoverTargetFen: 100_000_000_000 },
    },
  };
}

// ── The query shapes ──────────────────────────────────────────────────────────────────────

export interface QueryShape {
  name: string;
  /** `index`: must be served by an index; `scan`: reads (nearly) everything by design (no filter). */
  expect: 'index' | 'scan';
  note?: string;
  run(ctx: SeedContext): Promise<unknown>;
}

const drain = async (rows: AsyncIterable<unknown>, n = 3) => {
  let i = 0;
  for await (const _ of rows) if (++i >= n) break;
};

const loadContract = async (id: string) => (await Contract.findById(id).lean()) as ContractDoc;
const isoDay = (msAgo: number) => cstDate(new Date(Date.now() - msAgo));

export const QUERY_SHAPES: QueryShape[] = [
  // The applicant's contracts (pages /contracts and GET /api/v1/contracts).
  { name: 'applicant list', expect: 'index', run: (c) => listContracts(c.applicant, {}) },
  { name: 'applicant list, status', expect: 'index', run: (c) => listContracts(c.applicant, { status: 'registered' }) },
  { name: 'applicant list, year', expect: 'index', run: (c) => listContracts(c.applicant, { year: String(c.year - 1) }) },
  { name: 'applicant list, status+year+q', expect: 'index', note: 'q: regex filtered within the organisation', run: (c) => listContracts(c.applicant, { status: 'registered', year: String(c.year - 1), q: '技术' }) },
  { name: 'applicant list, q', expect: 'index', note: 'q: regex filtered within the organisation', run: (c) => listContracts(c.applicant, { q: '智能' }) },
  // The bureau's GET /api/v1/contracts.
  { name: 'bureau contracts, no filter', expect: 'scan', note: 'every contract, and counts them all', run: (c) => listContracts(c.bureau, {}) },
  { name: 'bureau contracts, status', expect: 'index', run: (c) => listContracts(c.bureau, { status: 'returned' }) },
  { name: 'bureau contracts, year', expect: 'index', run: (c) => listContracts(c.bureau, { year: String(c.year - 2) }) },
  { name: 'bureau contracts, q only', expect: 'scan', note: 'unanchored regex on searchText: no index can serve it', run: (c) => listContracts(c.bureau, { q: '智能' }) },
  // The review queue (page /review and GET /api/v1/review).
  { name: 'review queue (default: in review)', expect: 'index', run: () => listReviewQueue({}) },
  { name: 'review queue, submitted', expect: 'index', run: () => listReviewQueue({ status: 'submitted' }) },
  { name: 'review queue, registered', expect: 'index', run: () => listReviewQueue({ status: 'registered' }) },
  { name: 'review queue, all statuses', expect: 'index', note: 'status $ne draft', run: () => listReviewQueue({ status: 'all' }) },
  { name: 'review queue, type', expect: 'index', run: () => listReviewQueue({ type: 'service' }) },
  { name: 'review queue, overdue', expect: 'index', run: () => listReviewQueue({ deadline: 'overdue' }) },
  { name: 'review queue, due soon', expect: 'index', run: () => listReviewQueue({ deadline: 'soon' }) },
  { name: 'review queue, findings', expect: 'index', run: () => listReviewQueue({ findings: 'error' }) },
  { name: 'review queue, no findings', expect: 'index', run: () => listReviewQueue({ findings: 'none' }) },
  { name: 'review queue, amount range', expect: 'index', run: () => listReviewQueue({ minAmount: '1000', maxAmount: '200000' }) },
  { name: 'review queue, all + q', expect: 'index', note: 'q: regex filtered within status ≠ draft', run: () => listReviewQueue({ status: 'all', q: '高原' }) },
  { name: 'review queue, q', expect: 'index', note: 'q: regex filtered within the status', run: () => listReviewQueue({ q: '高原' }) },
  // Deadlines (worker deadline-watch, page /admin/overdue).
  { name: 'deadline watch', expect: 'index', run: () => watchDeadlines() },
  { name: 'overdue list', expect: 'index', run: () => listOverdue() },
  // The public register and certificate verification.
  { name: 'public register', expect: 'index', run: () => searchRegister({}) },
  { name: 'public register, year', expect: 'index', run: (c) => searchRegister({ year: String(c.year - 1) }) },
  { name: 'public register, type+field', expect: 'index', run: () => searchRegister({ type: 'development', field: keysOf(TECHNICAL_FIELDS)[0] }) },
  { name: 'public register, q', expect: 'index', note: 'q: regex filtered within the registered', run: () => searchRegister({ q: '新型材料' }) },
  { name: 'certificate verification', expect: 'index', run: (c) => findCertificate(c.registrationNumber) },
  {
    name: 'stats: register export of a year',
    expect: 'index',
    run: (c) => drain(registerOfYear(c.year - 1)),
  },
  { name: 'stats tables', expect: 'index', note: 'tallies read by _id', run: (c) => statsForYear(c.year) },
  // Verification and the sweepers (worker jobs).
  { name: 'verification: duplicate search', expect: 'index', run: (c) => verifySubmission(c.submitted.id, c.submitted.submission, AGENCY) },
  // A long grace, so that the decisions seeded as still running are not carried out here (the filter's shape is the same).
  { name: 'sweep: pending decision effects', expect: 'index', run: (c) => completeDecisions(c.reviewDeps, 3_600_000) },
  { name: 'sweep: missing certificates', expect: 'index', run: (c) => requeueMissingCertificates(c.queues) },
  { name: 'sweep: submitted, not verified', expect: 'index', run: (c) => requeueSubmitted(c.queues) },
  { name: 'sweep: pending mail', expect: 'index', run: (c) => requeuePendingMail(c.queues) },
  { name: 'sweep: expired tokens', expect: 'index', run: () => sweepExpiredTokens() },
  { name: "revoke a user's tokens", expect: 'index', run: (c) => revokeAllTokens(c.bureau.id) },
  // Registration numbers and the turnover ledger.
  { name: 'registration: number a contract', expect: 'index', run: async (c) => numberRegistration(await loadContract(c.freshRegisteredId), AGENCY) },
  { name: 'registration: mark revoked', expect: 'index', run: (c) => markRegistrationRevoked(c.registeredContractId, new Date()) },
  { name: 'registration: serials of a year', expect: 'index', run: (c) => serialsOf(c.year - 1) },
  { name: 'ledger: record an event', expect: 'index', note: 'by event key; highest sequence by _id range', run: async (c) => recordTallyEvent('registered', await loadContract(c.freshRegisteredId), AGENCY) },
  { name: 'ledger: fact of a registration', expect: 'index', run: async (c) => recordTallyEvent('registered', await loadContract(c.registeredContractId), AGENCY) },
  { name: 'ledger: apply pending', expect: 'index', note: '_id range of a year', run: (c) => applyPending(c.year - 1) },
  { name: 'reconciliation', expect: 'scan', note: 'reads the register and the ledger whole, by design', run: () => reconcile({ prefix: 'explain', targetFen: 100_000_000_000, agencyCode: AGENCY }, 'explain') },
  { name: 'last reconciliation', expect: 'scan', note: 'newest of a small collection (no filter)', run: () => lastReconciliation() },
  // Audit log (page /admin/audit and its CSV export).
  { name: 'audit log', expect: 'scan', note: 'no filter: counts every entry', run: () => searchAudit({}) },
  { name: 'audit log, action', expect: 'index', note: 'anchored regex', run: () => searchAudit({ action: 'contract.' }) },
  { name: 'audit log, dates', expect: 'index', run: () => searchAudit({ from: isoDay(30 * DAY), to: isoDay(0) }) },
  { name: 'audit log, actor + dates', expect: 'index', note: 'actor: regex filtered within the dates', run: () => searchAudit({ actor: 'reviewer3', from: isoDay(30 * DAY), to: isoDay(0) }) },
  { name: 'audit log, actor only', expect: 'scan', note: 'unanchored regex on actorEmail: no index can serve it', run: () => searchAudit({ actor: 'reviewer3' }) },
  { name: 'audit CSV export, dates', expect: 'index', run: () => drain(auditCsvRows({ from: isoDay(7 * DAY), to: isoDay(0) })) },
  // Notifications.
  { name: 'notifications list', expect: 'index', run: (c) => listNotifications(c.organizationId) },
  { name: 'notifications unread count', expect: 'index', run: (c) => unreadCount(c.organizationId, c.applicant.id) },
  { name: 'notifications mark all read', expect: 'index', run: (c) => markAllRead(c.organizationId, c.applicant.id) },
  // The bureau's (page /bureau/notifications): through the partial index of those of no organisation.
  { name: 'bureau notifications list', expect: 'index', run: () => listBureauNotifications('reviewer') },
  { name: 'bureau notifications unread', expect: 'index', run: (c) => bureauUnreadCount('reviewer', c.bureau.id) },
  { name: 'notification mail: recipients', expect: 'index', run: (c) => sendNotificationMail(createMailer({ smtpUrl: undefined, mailFrom: 'registry@bureau.test' }), c.pendingNotificationId) },
  { name: 'outbox', expect: 'scan', note: 'newest of the local outbox (no filter)', run: () => listOutbox() },
  // Organisations and people.
  { name: 'organisations, all', expect: 'scan', note: 'no filter', run: () => listOrganizations(undefined) },
  { name: 'organisations, pending', expect: 'index', run: () => listOrganizations('pending') },
  { name: 'organisation members', expect: 'index', run: (c) => listMembers(c.organizationId) },
  { name: 'bureau users', expect: 'index', run: () => listBureauUsers() },
  { name: 'bootstrap admin check', expect: 'index', run: () => ensureBootstrapAdmin({ bootstrapAdmin: { email: 'admin@bureau.test', password: 'x' } } as never) },
  { name: 'workers', expect: 'scan', note: 'a handful of heartbeats (no filter)', run: () => listWorkers() },
];

// ── Running it ────────────────────────────────────────────────────────────────────────────

interface Row {
  shape: QueryShape;
  ops: CapturedOp[];
  fresh: Explained[];
  analyzed: Explained[];
  ms: (number | null)[];
}

async function timeOp(op: CapturedOp): Promise<number> {
  const coll = mongoose.connection.db!.collection(op.collection);
  const run = async () => {
    if (op.method === 'countDocuments') return coll.countDocuments(op.filter);
    if (op.method === 'aggregate') return coll.aggregate(op.pipeline).toArray();
    const o = op.options;
    const single = op.method !== 'find' && op.method !== 'updateMany' && op.method !== 'deleteMany';
    // Writes are timed by reading what their filter matches.
    return coll.find(op.filter, { sort: o.sort as never, skip: o.skip as number, limit: single ? 1 : (o.limit as number), projection: READS.has(op.method) ? (o.projection as never) : { _id: 1 } }).toArray();
  };
  await run();
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[1];
}

function clusterUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  return { uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) };
}

function psql(runDir: string, port: number, sql: string): string {
  return execFileSync(path.join(PG_BIN, 'psql'), ['-h', runDir, '-p', String(port), '-U', DB_USER, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { stdio: 'pipe', ...clusterUser() }).toString();
}

/**
 * Gathers the planner's statistics of every table (what autovacuum does a minute or so after
 * a table changes), through the cluster's Unix socket in `<dataDir>/run`: the MongoDB protocol
 * offers no way to.
 */
export function analyzeDatabase(dataDir: string, postgresPort: number): void {
  psql(path.join(dataDir, 'run'), postgresPort, 'ANALYZE');
}

const pad = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s + ' '.repeat(n - s.length));

function verdictOf(shape: QueryShape, e: Explained): { text: string; bad: boolean } {
  if (shape.expect === 'scan' && !e.summary.indexed) return { text: 'scan (expected)', bad: false };
  if (!e.summary.indexed) return { text: 'NOT INDEXED', bad: true };
  if (!e.mongo) return { text: 'NO MONGO INDEX', bad: shape.expect === 'index' };
  return { text: 'index', bad: false };
}

async function main(): Promise<void> {
  const contracts = Number(process.env.EXPLAIN_CONTRACTS ?? FULL_VOLUME.contracts);
  const scale = contracts / FULL_VOLUME.contracts;
  const volume: Volume = {
    organizations: Math.max(10, Math.round(FULL_VOLUME.organizations * Math.min(1, scale * 3))),
    contracts,
    auditEntries: Math.round(FULL_VOLUME.auditEntries * scale),
    notifications: Math.round(FULL_VOLUME.notifications * scale),
    tokens: Math.round(FULL_VOLUME.tokens * scale),
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-explain-'));
  // The cluster runs as the unprivileged postgres user when this runs as root.
  fs.chmodSync(dir, 0o755);
  const dataDir = path.join(dir, 'db');
  const log = (s: string) => process.stdout.write(s + '\n');
  const db = await startEmbeddedDatabase({ dataDir, port: await freePort(), postgresPort: await freePort(), credentials: null, durable: false, logDir: dir });
  // The throw-away database goes away however this ends: interrupted, or its output cut short (`| head`).
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      await mongoose.disconnect().catch(() => undefined);
      await db.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    })());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => void stop().finally(() => process.exit(130)));
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  let failures = 0;
  try {
    await mongoose.connect(mongoUriFor(db.ferret.url, 'explain'));
    await ensureIndexes();
    const t0 = Date.now();
    const ctx = await seed(volume);
    log(`Seeded ${volume.contracts} contracts, ${volume.organizations} organisations, ${volume.auditEntries} audit entries, ${volume.notifications} notifications, ${volume.tokens} tokens in ${((Date.now() - t0) / 1000).toFixed(1)} s.`);

    const rows: Row[] = [];
    for (const shape of QUERY_SHAPES) rows.push({ shape, ops: await captureOps(() => shape.run(ctx)), fresh: [], analyzed: [], ms: [] });
    const collections = new Set(rows.flatMap((r) => r.ops.map((o) => o.collection)));

    const autoAnalyzed = psql(path.join(dataDir, 'run'), db.postgres.port, "SELECT count(*) FROM pg_stat_user_tables WHERE last_autoanalyze IS NOT NULL AND schemaname = 'documentdb_data'").trim();
    const keys = await indexKeysOf(collections);
    for (const row of rows) for (const op of row.ops) row.fresh.push(await explainOp(op, keys));

    const ta = Date.now();
    analyzeDatabase(dataDir, db.postgres.port);
    log(`ANALYZE took ${((Date.now() - ta) / 1000).toFixed(1)} s (before it, autovacuum had analyzed ${autoAnalyzed} data tables).`);
    for (const row of rows) {
      for (const op of row.ops) {
        row.analyzed.push(await explainOp(op, keys));
        row.ms.push(await timeOp(op));
      }
    }

    log('\nAfter ANALYZE. "index scans": the index each scan used [the fields its condition constrains]; SEQ SCAN: the whole table.');
    log('"MongoDB index": the index MongoDB can use (first key constrained by the filter), "+sort" when it also returns the requested order.');
    log('Writes (updateMany, deleteMany, …) are explained and timed as a find with their filter: DocumentDB explains no writes.');
    log('ms: median of 3 runs of the operation as sent (writes: of the find), after one warm-up.\n');
    const header = `${pad('query', 34)} ${pad('op', 20)} ${pad('plan (top nodes)', 42)} ${pad('index scans (DocumentDB)', 66)} ${pad('MongoDB index', 48)} ${pad('verdict', 15)} ${'ms'.padStart(6)}`;
    log(header);
    log('─'.repeat(header.length));
    const changed: string[] = [];
    for (const row of rows) {
      if (!row.ops.length) {
        log(`${pad(row.shape.name, 34)} ${pad('—', 20)} ${pad('(only _id lookups)', 42)}`);
        continue;
      }
      row.analyzed.forEach((e, i) => {
        const v = verdictOf(row.shape, e);
        const f = verdictOf(row.shape, row.fresh[i]);
        if (v.bad || f.bad) failures++;
        if (describeScans(row.fresh[i].summary) !== describeScans(e.summary) || f.text !== v.text) {
          changed.push(`  ${row.shape.name} (${e.as}): as seeded ${row.fresh[i].summary.top} ${describeScans(row.fresh[i].summary)} [${f.text}] → analyzed ${e.summary.top} ${describeScans(e.summary)} [${v.text}]`);
        }
        const name = i === 0 ? row.shape.name : '';
        log(`${pad(name, 34)} ${pad(`${e.op.collection}.${e.as}`, 20)} ${pad(e.summary.top, 42)} ${pad(describeScans(e.summary), 66)} ${pad(e.mongo ?? '—', 48)} ${pad(v.text, 15)} ${row.ms[i] === null ? '' : row.ms[i]!.toFixed(1).padStart(6)}`);
      });
      if (row.shape.note) log(`${pad('', 34)} ↳ ${row.shape.note}`);
    }
    log(changed.length ? `\nPlans that differ before ANALYZE (no statistics):\n${changed.join('\n')}` : '\nThe plans are the same before ANALYZE (no statistics) as after.');
    log(failures ? `\n${failures} operation(s) that should use an index do not.` : '\nEvery operation that should use an index does.');
  } finally {
    await stop();
  }
  process.exitCode = failures ? 1 : 0;
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
