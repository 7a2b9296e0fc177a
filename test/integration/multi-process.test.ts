/**
 * The registry as several processes on one Redis and one database, as on several machines:
 * two web processes (A and B) and two worker processes, real child processes of the built
 * entries (dist/, which the test command builds first), on the suite's FerretDB and Redis with
 * a database and queue prefix of their own. It shows:
 * 1. a registration approved through A reaches a live-counter (SSE) client connected to B,
 *    with the figures to the fen (the delay is printed, not asserted);
 * 2. a session made on A works on B, and signing out on B ends it on A (sessions live in Redis);
 * 3. with 20 contracts filed and approved across both web processes, every verification,
 *    certificate and turnover job ran exactly once (BullMQ's started/finished attempt counts,
 *    nothing failed or stalled, and the data: one `verified` entry per contract, one stored
 *    certificate each), both workers took part, registration serials run 1..N without a gap,
 *    and the tally and the figure both web processes stream equal a recount.
 * The tests run in order and build on each other (one registry, one year's register).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import mongoose from 'mongoose';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { PROCESS_NODE_FLAGS } from '../../scripts/process-flags';
import { freePort, mongoUriFor } from '../../scripts/local-services';
import { eventStreamReader } from '../../scripts/sse';
import { api, fileContract, reviewerToken, verifiedOrganisation } from '../../scripts/stack';
import { formatYuan } from '../../src/domain/money';
import { cstYear } from '../../src/domain/time';
import { projectRoot } from '../../src/lib/paths';
import { createQueues, QUEUES, type Queues } from '../../src/lib/queues';
import { Contract } from '../../src/modules/contracts/contract.model';
import { verificationJobId } from '../../src/modules/contracts/contracts.jobs';
import { Registration } from '../../src/modules/registrations/registration.model';
import { certificateJobId } from '../../src/modules/review/certificate';
import { WorkerHeartbeat } from '../../src/modules/system/heartbeat.model';
import { tallyId } from '../../src/modules/turnover/turnover.service';
import { YearTallyDoc } from '../../src/modules/turnover/turnover.model';
import { uniqueName, waitFor } from '../support/harness';
import { csrfFrom } from '../support/fixtures';
import '../../src/models';

const root = projectRoot();
const WEB_ENTRY = path.join(root, 'dist', 'src', 'server.js');
const WORKER_ENTRY = path.join(root, 'dist', 'workers', 'main.js');
const ADMIN = { email: 'admin@multi-process.test', password: 'Multi-Process-Desk-2026' };
const CONTRACTS = 20;
const say = (s: string) => process.stdout.write(`[multi-process] ${s}\n`);

interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
}
const procs: Proc[] = [];
let logDir: string;
let env: Record<string, string>;
let A: string;
let B: string;
let redis: Redis;
let queues: Queues;
let adminToken: string;
let reviewers: string[];
let orgs: Awaited<ReturnType<typeof verifiedOrganisation>>[];
const year = cstYear(new Date());
/** Every contract registered in this registry, with its amount. */
const registered: { id: string; amountFen: number }[] = [];

function spawnLogged(name: string, entry: string, extra: Record<string, string>): Proc {
  const log = path.join(logDir, `${name}.log`);
  const out = fs.openSync(log, 'a');
  const child = spawn(process.execPath, [...PROCESS_NODE_FLAGS, entry], { env: { ...process.env, ...env, ...extra }, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const p = { name, child, log };
  procs.push(p);
  return p;
}

/** Resolves true once the process has logged `text`, false if it exits first. */
async function logged(p: Proc, text: string, ms = 60_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (fs.readFileSync(p.log, 'utf8').includes(text)) return true;
    if (p.child.exitCode !== null || p.child.signalCode !== null) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/**
 * A web process on a free port. The port is free when chosen, but another test file's server
 * may take it first: that process then exits and another port is tried (as the journey does).
 * Waiting for its own "listening" line, not /readyz, so that another server on the port never passes for it.
 */
async function startWeb(name: string): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const p = spawnLogged(`${name}-${attempt}`, WEB_ENTRY, { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` });
    if (await logged(p, 'registry web listening')) return `http://127.0.0.1:${port}`;
    p.child.kill('SIGKILL');
  }
  throw new Error(`web process ${name} did not start (logs in ${logDir})`);
}

async function startWorker(name: string): Promise<void> {
  const p = spawnLogged(name, WORKER_ENTRY, {
    // Each verification holds its job a moment, so that 20 submitted at once cannot all fit
    // into one worker's slots (4 per queue): both workers must take some.
    FAULT_VERIFY_DELAY_MS: '300',
  });
  if (!(await logged(p, 'registry workers running'))) throw new Error(`worker ${name} did not start (see ${p.log})`);
}

/** An SSE client of the live counter, with each `turnover` event and when it arrived. */
function openStream(base: string) {
  const events: { at: number; data: { year: number; contracts: number; contractAmount: string; technicalAmount: string; sequence: number } }[] = [];
  const req = http.get(`${base}/api/v1/public/turnover/stream?year=${year}`, { agent: false }, (res) => {
    const read = eventStreamReader((name, data) => {
      if (name === 'turnover') events.push({ at: performance.now(), data: data as (typeof events)[number]['data'] });
    });
    res.on('data', read);
    res.on('error', () => undefined);
  });
  req.on('error', () => undefined);
  return { events, latest: () => events[events.length - 1]?.data, close: () => req.destroy() };
}
let streamA: ReturnType<typeof openStream>;
let streamB: ReturnType<typeof openStream>;

const statusOf = async (id: string) => (await Contract.findById(id).select({ status: 1 }).lean())?.status;

/**
 * The ids of the BullMQ Worker instances holding the locks of a queue's active jobs: a lock's
 * value is the token `<worker id>:<n>` of the Worker that took the job.
 */
async function lockHolders(queue: Queue): Promise<string[]> {
  const active = await queue.getActive();
  const tokens = await Promise.all(active.map((j) => redis.get(`${env.QUEUE_PREFIX}:${queue.name}:${j.id}:lock`)));
  return tokens.filter((t): t is string => Boolean(t)).map((t) => t.slice(0, t.lastIndexOf(':')));
}

beforeAll(async () => {
  for (const entry of [WEB_ENTRY, WORKER_ENTRY]) if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: the test command builds it (npm run build)`);
  const started = Date.now();
  logDir = fs.mkdtempSync(path.join(process.env.TEST_TMP_DIR ?? os.tmpdir(), 'multi-process-'));
  env = {
    NODE_ENV: 'test',
    MONGODB_URI: mongoUriFor(process.env.TEST_MONGO_URL!, uniqueName('mp_')),
    REDIS_URL: process.env.TEST_REDIS_URL!,
    QUEUE_PREFIX: uniqueName('mp'),
    SESSION_SECRET: 'multi-process-session-secret-'.repeat(2),
    SECURE_COOKIES: 'false',
    LOG_LEVEL: 'info',
    LOG_PRETTY: 'false',
    BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    SIGNUP_MAX_PER_IP_PER_HOUR: '100000',
  };
  // A first (it creates the indexes and the admin), then the others side by side.
  A = await startWeb('web-a');
  [B] = await Promise.all([startWeb('web-b'), startWorker('worker-1'), startWorker('worker-2')]);
  say(`2 web processes (${A}, ${B}) and 2 workers started in ${Date.now() - started} ms; logs in ${logDir}`);

  await mongoose.connect(env.MONGODB_URI);
  redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
  queues = createQueues(redis, env.QUEUE_PREFIX);
  adminToken = (await api(A, 'POST', '/api/v1/tokens', ADMIN)).token;
  // One reviewer and one organisation made through each web process.
  reviewers = await Promise.all([reviewerToken(A, adminToken, 'reviewer-a@multi-process.test', '审核员甲'), reviewerToken(B, adminToken, 'reviewer-b@multi-process.test', '审核员乙')]);
  orgs = await Promise.all([verifiedOrganisation(A, adminToken, '多进程测试研究院甲'), verifiedOrganisation(B, adminToken, '多进程测试研究院乙')]);
}, 120_000);

afterAll(async () => {
  streamA?.close();
  streamB?.close();
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  const exited = (p: Proc) => p.child.exitCode !== null || p.child.signalCode !== null;
  await waitFor(() => procs.every(exited), 10_000, 50).catch(() => undefined);
  for (const p of procs) if (!exited(p)) p.child.kill('SIGKILL');
  await queues?.close();
  redis?.disconnect();
  if (mongoose.connection.readyState === 1) {
    await mongoose.connection.dropDatabase().catch(() => undefined);
    await mongoose.disconnect();
  }
}, 30_000);

it('a registration approved through web process A reaches an SSE client of web process B', async () => {
  streamA = openStream(A);
  streamB = openStream(B);
  await waitFor(() => streamA.events.length > 0 && streamB.events.length > 0, 10_000, 10);
  expect(streamB.latest()).toMatchObject({ year, contracts: 0, contractAmount: '0.00' });

  const amountFen = 1_234_567_89;
  const id = await fileContract(A, orgs[0].token, amountFen, 'MP-SSE');
  await waitFor(async () => (await statusOf(id)) === 'in_review', 20_000, 50);
  const sent = performance.now();
  const answer = await api(A, 'POST', `/api/v1/contracts/${id}/approve`, {}, reviewers[0]);
  const answered = performance.now();
  expect(answer.status).toBe('registered');
  registered.push({ id, amountFen });

  await waitFor(() => streamB.latest()?.contracts === 1, 15_000, 5);
  const event = streamB.events.find((e) => e.data.contracts === 1)!;
  expect(event.data.contractAmount).toBe(formatYuan(amountFen));
  expect(event.data.contractAmount).toBe('1234567.89');
  expect(event.data.technicalAmount).toBe(formatYuan(amountFen));
  say(`approval on A → event on B: ${(event.at - sent).toFixed(0)} ms after the request was sent, ${(event.at - answered).toFixed(0)} ms after its answer (approve took ${(answered - sent).toFixed(0)} ms)`);
});

it('a session made on web process A works on web process B, and ends on both', async () => {
  const cookieOf = (res: Response) => res.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('tcr.sid='));
  // Sign in through the form on A.
  const form = await fetch(`${A}/login`);
  const first = cookieOf(form)!;
  expect(first).toBeTruthy();
  const login = await fetch(`${A}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: first },
    body: new URLSearchParams({ _csrf: csrfFrom(await form.text()), email: orgs[0].email, password: 'Stack-Applicant-77' }).toString(),
  });
  expect(login.status).toBe(303);
  const cookie = cookieOf(login)!;
  expect(cookie).toBeTruthy();

  // The cookie alone, on B.
  const me = await fetch(`${B}/api/v1/me`, { headers: { cookie } });
  expect(me.status).toBe(200);
  expect((await me.json()).user.email).toBe(orgs[0].email);
  // A page on B, with the session's CSRF token (kept in the same session) …
  const page = await fetch(`${B}/contracts`, { headers: { cookie }, redirect: 'manual' });
  expect(page.status).toBe(200);
  // … which A accepts for signing out.
  const logout = await fetch(`${A}/logout`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ _csrf: csrfFrom(await page.text()) }).toString(),
  });
  expect(logout.status).toBe(303);
  expect((await fetch(`${B}/api/v1/me`, { headers: { cookie } })).status).toBe(401);
  expect((await fetch(`${A}/api/v1/me`, { headers: { cookie } })).status).toBe(401);
});

it('runs each job once across two workers: 20 contracts filed and approved through both web processes', async () => {
  const t0 = Date.now();
  const webs = [A, B];
  const amounts = Array.from({ length: CONTRACTS }, (_, i) => 10_000_00 + i * 1_111_11 + (i % 7));
  // Filed through A and B in turn, 5 at a time per web process.
  const ids: string[] = new Array(CONTRACTS);
  const holders = new Set<string>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const h of await lockHolders(queues.verification)) holders.add(h);
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      for (let i = next++; i < CONTRACTS; i = next++) ids[i] = await fileContract(webs[i % 2], orgs[i % 2].token, amounts[i], `MP-${i}`);
    }),
  );
  const filed = Date.now();
  await waitFor(async () => (await Contract.countDocuments({ _id: { $in: ids }, status: 'in_review' })) === CONTRACTS, 30_000, 50);
  sampling = false;
  await sampler;
  const verified = Date.now();

  // Approved all at once: the first half through A, the second through B (so each web process
  // approves filings made through either), each by its own reviewer.
  const answers = await Promise.all(ids.map((id, i) => api(webs[i < CONTRACTS / 2 ? 0 : 1], 'POST', `/api/v1/contracts/${id}/approve`, {}, reviewers[i < CONTRACTS / 2 ? 0 : 1])));
  expect(answers.every((a) => a.status === 'registered')).toBe(true);
  ids.forEach((id, i) => registered.push({ id, amountFen: amounts[i] }));
  const approved = Date.now();
  const all = registered.map((r) => r.id);
  const N = registered.length;

  // Everything settles: certificates stored, the three queues idle, both streams at N.
  // (Not counting delayed turnover jobs: the daily reconciliation waits there for 02:30.)
  const idle = async () => {
    for (const q of [queues.verification, queues.certificates, queues.turnover]) {
      const c = await q.getJobCounts('waiting', 'active', 'prioritized', ...(q === queues.turnover ? [] : (['delayed'] as const)));
      if (Object.values(c).some((n) => n > 0)) return false;
    }
    return true;
  };
  await waitFor(async () => (await Contract.countDocuments({ _id: { $in: all }, certificateFileId: { $type: 'string' } })) === N && (await idle()), 30_000, 100);
  await waitFor(() => streamA.latest()?.contracts === N && streamB.latest()?.contracts === N, 10_000, 20);
  say(`${CONTRACTS} filed in ${filed - t0} ms, verified ${verified - filed} ms later, approved in ${approved - verified} ms, settled ${Date.now() - approved} ms later`);

  // The data: each contract verified once, registered, with exactly one stored certificate.
  const docs = await Contract.find({ _id: { $in: all } }).select({ status: 1, history: 1, registrationNumber: 1, certificateFileId: 1 }).lean();
  expect(docs).toHaveLength(N);
  for (const d of docs) {
    expect(d.status).toBe('registered');
    expect(d.history.filter((h) => h.action === 'verified')).toHaveLength(1);
    expect(d.history.filter((h) => h.action === 'registered')).toHaveLength(1);
  }
  const files = await mongoose.connection.db!.collection('attachments.files').find({ 'metadata.kind': 'certificate' }).project({ 'metadata.contractId': 1 }).toArray();
  const filesPer = new Map<string, number>();
  for (const f of files) filesPer.set(String(f.metadata.contractId), (filesPer.get(String(f.metadata.contractId)) ?? 0) + 1);
  expect(files).toHaveLength(N);
  expect(all.filter((id) => filesPer.get(id) !== 1)).toEqual([]);
  expect(new Set(docs.map((d) => d.certificateFileId))).toEqual(new Set(files.map((f) => String(f._id))));

  // The queues: each job of these contracts exists once, completed, started once and finished
  // once (BullMQ's `ats` and `atm`), never stalled; nothing failed in any queue.
  const expectOnce = async (queue: Queue, jobId: string, result: (r: unknown) => void) => {
    const job = await queue.getJob(jobId);
    expect({ jobId, found: Boolean(job) }).toEqual({ jobId, found: true });
    expect({ jobId, state: await job!.getState(), started: job!.attemptsStarted, finished: job!.attemptsMade, stalled: job!.stalledCounter }).toEqual({ jobId, state: 'completed', started: 1, finished: 1, stalled: 0 });
    result(job!.returnvalue);
  };
  for (const id of all) {
    await expectOnce(queues.verification, verificationJobId(id, 1), (r) => expect(r).toEqual({ result: 'verified' }));
    await expectOnce(queues.certificates, certificateJobId(id, 1), (r) => expect(r).toMatchObject({ rendered: true }));
    await expectOnce(queues.turnover, `tally-registered-${id}`, (r) => expect(r).toMatchObject({ year }));
  }
  for (const [name, q] of [['verification', queues.verification], ['certificates', queues.certificates], ['turnover', queues.turnover]] as const) {
    const counts = await q.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed');
    const completed = await q.getCompleted(0, -1);
    const distinct = new Set(completed.map((j) => j.id));
    say(`${name}: ${JSON.stringify(counts)}; ${completed.length} completed jobs, ${distinct.size} distinct ids`);
    expect(distinct.size).toBe(completed.length);
    // Nothing else ran in these queues (the turnover queue's other job, the reconciliation, runs at 02:30).
    expect(completed.filter((j) => j.name !== 'reconcile')).toHaveLength(N);
  }
  // Nothing failed, in any queue (mail, maintenance and imports included).
  for (const key of Object.keys(QUEUES) as (keyof typeof QUEUES)[]) {
    expect({ queue: key, failed: await queues[key].getFailedCount() }).toEqual({ queue: key, failed: 0 });
  }

  // Both workers took part: the verification locks were held by two Worker instances, one per
  // process (each process runs one Worker per queue, and the test process runs none).
  const heartbeats = await WorkerHeartbeat.find().lean();
  say(`verification locks held by ${holders.size} Worker instances (${[...holders].join(", ")}); heartbeats recorded by ${heartbeats.length} worker processes (${heartbeats.map((h) => `pid ${h.pid}`).join(', ')})`);
  expect(holders.size).toBe(2);

  // Serials 1..N without a gap, one registration per contract.
  const regs = await Registration.find({ year }).select({ serial: 1, number: 1, contractId: 1 }).lean();
  expect(regs.map((r) => r.serial).sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
  expect(new Set(regs.map((r) => r.contractId))).toEqual(new Set(all));
  expect(new Set(docs.map((d) => d.registrationNumber))).toEqual(new Set(regs.map((r) => r.number)));

  // The tally equals a recount, and both web processes stream that figure.
  const recountFen = registered.reduce((s, r) => s + r.amountFen, 0);
  const tally = (await YearTallyDoc.findById(tallyId(year)).lean()) as { tally: { totals: { count: number; contractFen: number; technicalFen: number } } } | null;
  expect(tally!.tally.totals).toMatchObject({ count: N, contractFen: recountFen, technicalFen: recountFen });
  for (const s of [streamA, streamB]) expect(s.latest()).toMatchObject({ contracts: N, contractAmount: formatYuan(recountFen), technicalAmount: formatYuan(recountFen) });
  say(`tally ${year}: ${N} contracts, ${formatYuan(recountFen)} yuan = recount; serials 1..${N}`);
}, 90_000);
