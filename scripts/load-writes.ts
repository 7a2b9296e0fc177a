/**
 * Write-path load script (not a test): applicants filing in closed loops and reviewers
 * approving, against the stack `npm start` runs (embedded PostgreSQL + DocumentDB + FerretDB
 * v2 with authentication and durable writes, Redis, web and worker). Prints filings/s, p50/p99
 * of file+submit and approve, then where the time goes: database commands per request (counted
 * in each process) and CPU seconds per process. Checks afterwards that nothing was lost, the
 * tally equals a recount and the serials have no gap.
 *
 *   npm run load:writes                      (60 s after 10 s of warm-up, 50 applicants, 5 reviewers, 1 web process)
 *   LOAD_SECONDS=30 LOAD_APPLICANTS=20 LOAD_REVIEWERS=3 LOAD_WEB_PROCESSES=2 npm run load:writes
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mongoose from 'mongoose';
import { cstYear } from '../src/domain/time';
import { Contract } from '../src/modules/contracts/contract.model';
import { serialsOf } from '../src/modules/registrations/registration-numbers';
import { YearTallyDoc } from '../src/modules/turnover/turnover.model';
import { ApiError, api, fileContract, log, pct, reviewerToken, sleep, startStack, verifiedOrganisation } from './stack';

const SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const APPLICANTS = Number(process.env.LOAD_APPLICANTS ?? 50);
const REVIEWERS = Number(process.env.LOAD_REVIEWERS ?? 5);
const WEBS = Number(process.env.LOAD_WEB_PROCESSES ?? 1);
const WARMUP = Number(process.env.LOAD_WARMUP_SECONDS ?? 10);
const TICK = 100; // clock ticks per second in /proc/<pid>/stat (USER_HZ)

/**
 * CPU seconds (user + system) of a process, or 0 when it is gone. With `reaped`, also those of
 * its children that have exited (PostgreSQL backends that closed during the run end up there).
 */
function cpuSeconds(pid: number, reaped = false): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12]) + (reaped ? Number(fields[13]) + Number(fields[14]) : 0)) / TICK;
  } catch {
    return 0;
  }
}

/** The children of a process (PostgreSQL's backends; a web process's PDF check processes). */
function childPids(parent: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(parent)]).toString().split('\n').map(Number).filter(Boolean);
  } catch {
    return [];
  }
}

/** The postmaster and its backends (their set changes little: FerretDB keeps a pool). */
const postgresPids = (postmaster: number) => [postmaster, ...childPids(postmaster)];

async function main() {
  const statsDir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'registry-dbstats-'));
  // Fifty sign-ups from one address: lift the per-address sign-up limit for this run.
  // LOAD_BREAKDOWN=0 leaves out the count of database commands (which costs a few per cent).
  const breakdown = process.env.LOAD_BREAKDOWN !== '0';
  const stack = await startStack({
    webs: WEBS,
    env: { SIGNUP_MAX_PER_IP_PER_HOUR: '100000', ...(breakdown ? { DB_COMMAND_STATS_FILE: path.join(statsDir, '{pid}.json') } : {}) },
  });
  try {
    log(`registry: ${stack.bases.join(', ')} (${WEBS} web, 1 worker, FerretDB v2 + PostgreSQL 15) — ${SECONDS} s measured after ${WARMUP} s of warm-up, ${APPLICANTS} applicants, ${REVIEWERS} reviewers`);
    const admin = await stack.adminToken();
    const reviewers: string[] = [];
    for (let i = 0; i < REVIEWERS; i++) reviewers.push(await reviewerToken(stack.base, admin, `writes-reviewer-${i}@stack.test`, `审核员${i}`));
    const orgs: { token: string }[] = [];
    for (let i = 0; i < APPLICANTS; i++) orgs.push(await verifiedOrganisation(stack.base, admin, `写入负载机构${i}`));

    const fileLat: number[] = [];
    const stepLat = new Map<string, number[]>();
    const onStep = (name: string, ms: number) => (stepLat.get(name) ?? stepLat.set(name, []).get(name)!).push(ms);
    const approveLat: number[] = [];
    const errors: string[] = [];
    let conflicts = 0;
    const submitted: string[] = [];
    let n = 0;

    const processes: [string, () => number[]][] = [
      ...stack.webs.map((w, i) => [`web ${i + 1}`, () => [w.pid!]] as [string, () => number[]]),
      ['PDF checks (web children)', () => stack.webs.flatMap((w) => childPids(w.pid!))],
      ['worker', () => [stack.worker.pid!]],
      ['FerretDB', () => [stack.ferret.child.pid!]],
      ['PostgreSQL (all backends)', () => postgresPids(stack.postgres.child.pid!)],
      ['Redis', () => [stack.redis.child.pid!]],
    ];
    // The postmaster is counted with its exited backends; a backend that exits during the run
    // is then counted there in full, so what it had used before the run is taken off below.
    const postmaster = stack.postgres.child.pid!;
    const cpuOf = (p: number) => cpuSeconds(p, p === postmaster);
    // The same loops run through a warm-up first (JIT, connection pools, PostgreSQL backends and
    // caches filling), unmeasured; figures and CPU cover only the measured period after it.
    const started = Date.now() + WARMUP * 1000;
    const until = started + SECONDS * 1000;
    let cpuBefore: Map<number, number>[] = [];
    let selfBefore = process.cpuUsage();
    const sampled = sleep(WARMUP * 1000).then(() => {
      cpuBefore = processes.map(([, pids]) => new Map(pids().map((p) => [p, cpuOf(p)])));
      selfBefore = process.cpuUsage();
    });

    const applicant = async (i: number) => {
      while (Date.now() < until) {
        const base = stack.bases[i % stack.bases.length];
        const k = ++n;
        const measured = Date.now() >= started;
        const t0 = performance.now();
        try {
          submitted.push(await fileContract(base, orgs[i].token, 10_000 + k * 100 + (k % 100), `W-${k}`, measured ? onStep : undefined));
          if (measured) fileLat.push(performance.now() - t0);
        } catch (err) {
          errors.push(`file+submit: ${(err as Error).message}`);
        }
      }
    };
    const reviewer = async (i: number) => {
      while (Date.now() < until) {
        const base = stack.bases[i % stack.bases.length];
        let items: { id: string }[] = [];
        try {
          items = (await api(base, 'GET', '/api/v1/review?status=in_review&pageSize=20', undefined, reviewers[i])).items;
        } catch (err) {
          errors.push(`review list: ${(err as Error).message}`);
        }
        if (!items.length) {
          await sleep(50);
          continue;
        }
        const pick = items[Math.floor(Math.random() * items.length)];
        const measured = Date.now() >= started;
        const t0 = performance.now();
        try {
          await api(base, 'POST', `/api/v1/contracts/${pick.id}/approve`, {}, reviewers[i]);
          if (measured) approveLat.push(performance.now() - t0);
        } catch (err) {
          // Two reviewers picking the same filing: one wins, the other gets 409 by design.
          if (err instanceof ApiError && err.status === 409) conflicts++;
          else errors.push(`approve: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all([sampled, ...Array.from({ length: APPLICANTS }, (_, i) => applicant(i)), ...Array.from({ length: REVIEWERS }, (_, i) => reviewer(i))]);
    const elapsed = (Date.now() - started) / 1000;
    const cpuAfter = processes.map(([, pids]) => new Map(pids().map((p) => [p, cpuOf(p)])));
    const self = process.cpuUsage(selfBefore);

    fileLat.sort((a, b) => a - b);
    approveLat.sort((a, b) => a - b);
    log(`\n${'operation'.padEnd(28)} ${'count'.padStart(6)} ${'per s'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`);
    for (const [name, lat] of [['file + submit (4 requests)', fileLat], ['approve', approveLat]] as const) {
      log(`${name.padEnd(28)} ${String(lat.length).padStart(6)} ${(lat.length / elapsed).toFixed(1).padStart(7)} ${pct(lat, 50).toFixed(0).padStart(8)} ${pct(lat, 99).toFixed(0).padStart(8)} ${(lat.at(-1) ?? NaN).toFixed(0).padStart(8)}`);
    }
    for (const [name, lat] of stepLat) {
      lat.sort((a, b) => a - b);
      log(`  ${name.padEnd(26)} ${String(lat.length).padStart(6)} ${''.padStart(7)} ${pct(lat, 50).toFixed(0).padStart(8)} ${pct(lat, 99).toFixed(0).padStart(8)} ${(lat.at(-1) ?? NaN).toFixed(0).padStart(8)}`);
    }
    log(`errors: ${errors.length}${errors.length ? ' — ' + errors.slice(0, 5).join(' | ') : ''}; approve races lost (409, by design): ${conflicts}`);

    // Where the time goes: CPU per process over the run, on a machine of `nproc` cores.
    log(`\nCPU seconds during the ${elapsed.toFixed(0)} s run (${fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length} cores):`);
    processes.forEach(([name], i) => {
      let used = 0;
      for (const [pid, after] of cpuAfter[i]) used += after - (cpuBefore[i].get(pid) ?? 0);
      for (const [pid, before] of cpuBefore[i]) if (!cpuAfter[i].has(pid)) used -= before;
      log(`  ${name.padEnd(28)} ${used.toFixed(1).padStart(6)} s  (${((used / elapsed) * 100).toFixed(0)}% of one core)`);
    });
    const selfS = (self.user + self.system) / 1e6;
    log(`  ${'load generator'.padEnd(28)} ${selfS.toFixed(1).padStart(6)} s  (${((selfS / elapsed) * 100).toFixed(0)}% of one core)`);

    // Database commands per request, as counted inside the web processes and the worker.
    await sleep(1500);
    const routes = new Map<string, { requests: number; commands: Record<string, number> }>();
    for (const f of fs.readdirSync(statsDir)) {
      const counts = JSON.parse(fs.readFileSync(path.join(statsDir, f), 'utf8')) as Record<string, { requests: number; commands: Record<string, number> }>;
      const isWorker = Number(f.replace('.json', '')) === stack.worker.pid;
      for (const [route, c] of Object.entries(counts)) {
        const key = isWorker ? `worker ${route}` : route;
        const r = routes.get(key) ?? { requests: 0, commands: {} };
        r.requests += c.requests;
        for (const [cmd, k] of Object.entries(c.commands)) r.commands[cmd] = (r.commands[cmd] ?? 0) + k;
        routes.set(key, r);
      }
    }
    if (breakdown) log('\ndatabase commands per request (whole run, incl. set-up):');
    for (const [route, r] of [...routes.entries()].sort((a, b) => b[1].requests - a[1].requests)) {
      const total = Object.values(r.commands).reduce((a, b) => a + b, 0);
      if (!total) continue;
      const per = r.requests ? (total / r.requests).toFixed(1) : `${total} in all`;
      const top = Object.entries(r.commands).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([c, k]) => `${c} ${r.requests ? (k / r.requests).toFixed(1) : k}`).join(', ');
      log(`  ${route.padEnd(48)} ${String(r.requests).padStart(6)} req  ${per.padStart(6)} per req  (${top})`);
    }

    // Afterwards: every filing verified, every decision carried out, tally exact, no gap.
    await mongoose.connect(stack.mongoUri);
    const ids = submitted.map((id) => new mongoose.Types.ObjectId(id));
    const deadline = Date.now() + 120_000;
    let stuck = 0;
    let pending = 0;
    for (;;) {
      stuck = await Contract.countDocuments({ _id: { $in: ids }, status: 'submitted' });
      pending = await Contract.countDocuments({ pendingEffects: { $ne: null } });
      if ((stuck === 0 && pending === 0) || Date.now() > deadline) break;
      await sleep(1000);
    }
    const year = cstYear(new Date());
    const registered = await Contract.find({ status: 'registered', registrationYear: year }).select({ contractAmountFen: 1 }).lean();
    const recount = registered.reduce((a, c) => a + (c.contractAmountFen ?? 0), 0);
    const tally = (await YearTallyDoc.findById(`turnover-${year}`).lean()) as { tally: { totals: { contractFen: number; count: number } } } | null;
    const stored = tally?.tally.totals ?? { contractFen: 0, count: 0 };
    const serials = await serialsOf(year);
    const gapFree = serials.every((s, i) => s === i + 1);
    log(`\nfilings submitted: ${submitted.length}; still waiting for verification: ${stuck}; decisions not yet carried out: ${pending}`);
    log(`registered: ${registered.length}; serials 1…${serials.length} ${gapFree ? 'with no gap' : 'WITH GAPS'}`);
    log(`tally ${year}: ${stored.count} contracts, ${stored.contractFen} fen; recount: ${registered.length} contracts, ${recount} fen — ${stored.contractFen === recount && stored.count === registered.length ? 'equal' : 'DIFFERENT'}`);
    const filingsPerS = fileLat.length / elapsed;
    const ok = errors.length === 0 && stuck === 0 && pending === 0 && gapFree && stored.contractFen === recount && stored.count === registered.length;
    const targets = filingsPerS >= 30 && pct(fileLat, 99) <= 1000 && pct(approveLat, 99) <= 1000;
    log(`\ncorrectness: ${ok ? 'PASS' : 'FAIL'} (no errors, nothing lost, tally equals recount, serials gap-free)`);
    log(`targets (≥ 30 filings/s, file+submit p99 ≤ 1 s, approve p99 ≤ 1 s): ${targets ? 'MET' : 'NOT MET'} — ${filingsPerS.toFixed(1)} filings/s, p99 ${pct(fileLat, 99).toFixed(0)} ms / ${pct(approveLat, 99).toFixed(0)} ms${breakdown ? ' (counting commands, which costs a few per cent: LOAD_BREAKDOWN=0 for the target figures)' : ''}`);
    await mongoose.disconnect();
    process.exitCode = ok ? 0 : 1;
  } finally {
    await stack.stop();
    fs.rmSync(statsDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`load failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
