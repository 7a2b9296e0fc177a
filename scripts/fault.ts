/**
 * Fault script (not a test): during a stream of approvals it SIGKILLs the worker, restarts
 * Redis and restarts the database server; afterwards it verifies that every approval was
 * registered exactly once, that the registration serials are gap-free, that the tallies
 * equal a recount, and that no job is stuck. It prints what it did and what it verified.
 *
 *   npm run fault                 (40 filings)
 *   FAULT_CONTRACTS=80 npm run fault
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { cstYear } from '../src/domain/time';
import { QUEUES } from '../src/lib/queues';
import { Contract } from '../src/modules/contracts/contract.model';
import { Registration } from '../src/modules/registrations/registration.model';
import { YearTallyDoc } from '../src/modules/turnover/turnover.model';
import { ApiError, api, fileContract, log, sleep, startStack, verifiedOrganisation } from './stack';

const N = Number(process.env.FAULT_CONTRACTS ?? 40);
const PREFIX = 'registry';

async function main() {
  // Short locks so a killed worker's jobs are handed on quickly.
  const stack = await startStack({ env: { WORKER_LOCK_MS: '3000', WORKER_STALLED_INTERVAL_MS: '1000' } });
  const started = Date.now();
  const say = (s: string) => log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${s}`);
  let failures = 0;
  const check = (ok: boolean, what: string) => {
    if (!ok) failures++;
    log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  };
  try {
    const admin = await stack.adminToken();
    const org = await verifiedOrganisation(stack.base, admin, '故障演练研究院');
    say(`filing and submitting ${N} contracts`);
    const ids: string[] = [];
    for (let i = 0; i < N; i++) ids.push(await fileContract(stack.base, org.token, 50_000 + i * 137, `F-${i}`));
    for (const id of ids) {
      for (let k = 0; k < 400 && (await api(stack.base, 'GET', `/api/v1/contracts/${id}`, undefined, admin)).status !== 'in_review'; k++) await sleep(50);
    }
    say('all in review; approving them, four at a time, while the faults happen');

    /** Approves, retrying through outages until the decision is known. */
    let retries = 0;
    async function approve(id: string): Promise<string> {
      for (let attempt = 0; attempt < 600; attempt++) {
        if (attempt > 0) retries++;
        try {
          return (await api(stack.base, 'POST', `/api/v1/contracts/${id}/approve`, {}, admin)).registrationNumber;
        } catch (err) {
          if (err instanceof ApiError && err.status === 409) {
            const current = JSON.parse(err.body).error.current;
            if (current.status === 'registered' && current.registrationNumber) return current.registrationNumber;
            // Our own earlier attempt won and was cut off before numbering: the sweeper finishes it.
          }
          await sleep(250);
        }
      }
      throw new Error(`approval of ${id} never settled`);
    }
    const numbers: string[] = new Array(ids.length);
    const faults: Promise<void>[] = [];
    // Four approvals in flight at a time, so the faults cut through requests, not between them.
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (i === Math.floor(N / 4)) {
        say('SIGKILL the worker (restarting it 2 s later)');
        stack.worker.kill('SIGKILL');
        faults.push(sleep(2000).then(() => void stack.startWorker({ WORKER_LOCK_MS: '3000', WORKER_STALLED_INTERVAL_MS: '1000', LOG_LEVEL: process.env.FAULT_WORKER_LOG_LEVEL ?? 'error' })));
      }
      if (i === Math.floor(N / 2)) {
        say('restart Redis');
        await stack.restartRedis();
      }
      if (i === Math.floor((3 * N) / 4)) {
        say('restart the database server (FerretDB)');
        await stack.restartFerret();
      }
      if (i === Math.floor((7 * N) / 8)) {
        say('restart PostgreSQL under it (fast shutdown: open transactions roll back)');
        await stack.restartPostgres();
      }
      const index = i;
      inFlight.push(approve(ids[i]).then((n) => void (numbers[index] = n)));
      if (inFlight.length >= 4) await Promise.race(inFlight.map((p, k) => p.then(() => k))).then((k) => inFlight.splice(k, 1));
    }
    await Promise.all(inFlight);
    await Promise.all(faults);
    say(`all ${N} approvals answered (${retries} attempts cut off by the faults and retried); letting the workers and sweepers catch up`);

    // Verification.
    await mongoose.connect(stack.mongoUri);
    const redis = new Redis(stack.redis.url, { maxRetriesPerRequest: null });
    const queues = Object.values(QUEUES).map((name) => new Queue(name, { connection: redis, prefix: PREFIX }));
    const maintenance = queues.find((q) => q.name === QUEUES.maintenance)!;
    await maintenance.add('complete-decisions', {});
    await maintenance.add('requeue-submitted', {});
    // Delayed jobs waiting out a retry (the job schedulers' next runs are delayed jobs too: not those).
    const jobCounts = async (q: Queue) => {
      const c = await q.getJobCounts('active', 'waiting', 'failed');
      const delayed = (await q.getDelayed()).filter((j) => !String(j.id).startsWith('repeat:')).length;
      return { active: c.active ?? 0, waiting: c.waiting ?? 0, failed: c.failed ?? 0, delayed };
    };
    const year = cstYear(new Date());
    let settled = false;
    // A decision cut off by a fault is finished by the complete-decisions sweeper once it is
    // 30 s old (and a ledger number lost with it is filled after 30 s): ask for the sweep often.
    for (let k = 0; k < 180 && !settled; k++) {
      const registered = await Contract.countDocuments({ _id: { $in: ids.map((id) => new mongoose.Types.ObjectId(id)) }, status: 'registered' });
      const pending = await Contract.countDocuments({ pendingEffects: { $type: 'string' } });
      const counts = await Promise.all(queues.map(jobCounts));
      const busy = counts.reduce((a, c) => a + c.active + c.waiting + c.delayed, 0);
      settled = registered === N && pending === 0 && busy === 0;
      if (!settled) {
        if (k % 10 === 9) await maintenance.add('complete-decisions', {});
        await sleep(1000);
      }
    }
    say(`settled: ${settled}`);
    say('verifying');
    const docs = await Contract.find({ _id: { $in: ids.map((id) => new mongoose.Types.ObjectId(id)) } }).lean();
    check(docs.every((d) => d.status === 'registered'), `every one of the ${N} approvals is registered`);
    check(docs.every((d) => d.history.filter((h) => h.action === 'registered').length === 1), 'each was registered exactly once (one history entry each)');
    check(new Set(numbers).size === N && numbers.every((n, i) => n === docs.find((d) => String(d._id) === ids[i])?.registrationNumber), `${N} distinct registration numbers, as answered to the reviewer`);
    const serials = (await Registration.find({ year }).select({ serial: 1 }).lean()).map((r) => r.serial).sort((a, b) => a - b);
    check(serials.length === N && serials.every((s, i) => s === i + 1), `serials of ${year} are gap-free: 1…${serials.at(-1)} (${serials.length} numbers)`);
    const recount = docs.reduce((a, d) => a + (d.contractAmountFen ?? 0), 0);
    const tally = (await YearTallyDoc.findById(`turnover-${year}`).lean()) as { tally: { totals: { count: number; contractFen: number } } } | null;
    check(tally?.tally.totals.count === N && tally.tally.totals.contractFen === recount, `tally ${year} equals a recount: ${tally?.tally.totals.count} contracts, ${tally?.tally.totals.contractFen} fen (recount ${recount} fen)`);
    const publicFigure = await api(stack.base, 'GET', '/api/v1/public/turnover');
    check(Math.round(Number(publicFigure.contractAmount) * 100) === recount, `the public figure shows the same: ${publicFigure.contractAmount} yuan`);
    const counts = await Promise.all(queues.map(async (q) => [q.name, await jobCounts(q)] as const));
    const stuck = counts.reduce((a, [, c]) => a + c.active + c.waiting + c.delayed + c.failed, 0);
    check(stuck === 0, `no job stuck: ${counts.map(([n, c]) => `${n} active ${c.active} waiting ${c.waiting} delayed ${c.delayed} failed ${c.failed}`).join('; ')}`);
    const certs = docs.filter((d) => d.certificateFileId).length;
    check(certs === N, `certificates rendered: ${certs}/${N}`);
    for (const q of queues) await q.close();
    redis.disconnect();
    await mongoose.disconnect();
    log(`\nverdict: ${failures === 0 ? 'PASS' : `FAIL (${failures} checks failed)`}`);
    process.exitCode = failures === 0 ? 0 : 1;
  } finally {
    await stack.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`fault script failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
