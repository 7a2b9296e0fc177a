/**
 * Benchmarks (not tests): prints figures, asserts nothing.
 *  1. Homepage and /api/v1/public/turnover throughput under autocannon, against a bare
 *     Express "hello world" started by this script on the same machine, as a ratio.
 *  2. With 10,000 live-counter clients (BENCH_SSE_CLIENTS) on one web process: the time from
 *     an approval request to each client's event, the approval's own response time, and the
 *     RSS of the web process and the worker idle and with the streams open.
 *  3. Reconciliation of 100,000 and of 1,000,000 generated registered contracts (BENCH_CONTRACTS), each
 *     seeded into a fresh database: seeding time, reconciliation time, its reading/summing split, peak RSS.
 * Everything runs on loopback against services this script starts in a temporary folder.
 *
 *   npm run bench                    (all three)
 *   npm run bench -- throughput sse  (some)
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import autocannon from 'autocannon';
import mongoose from 'mongoose';
import { freePort, mongoUriFor } from './local-services';
import { api, fileContract, log, pct, root, sleep, startStack, verifiedOrganisation, waitHttp, type Stack } from './stack';
import { factOf, addInPlace, emptyTally, encodeFact, type TallyFact, type YearTally } from '../src/domain/tally';
import { cstYear } from '../src/domain/time';
import { Contract } from '../src/modules/contracts/contract.model';
import { TallyEntry, YearTallyDoc } from '../src/modules/turnover/turnover.model';
import { reconcile } from '../src/modules/turnover/turnover.service';
import { Registration } from '../src/modules/registrations/registration.model';

const which = new Set(process.argv.slice(2).length ? process.argv.slice(2) : ['throughput', 'sse', 'reconcile']);

function cannon(url: string, seconds: number, connections: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, duration: seconds, connections, pipelining: 1 }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}


/** Resident memory of a process in MB (/proc: the figure `ps` shows as RSS). */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function memoryOf(stack: Stack): Promise<{ web: number; worker: number }> {
  return { web: rssOf(stack.webs[0].pid!), worker: rssOf(stack.worker.pid!) };
}

const openFds = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).length;
const fdLimit = () => /Max open files\s+(\d+)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? '?';

/**
 * `n` live-counter clients on raw sockets (an HTTP client per stream would cost this process
 * more than the server it measures), connected in slices so the listen backlog never
 * overflows; each notes when every figure (by its contract count) first arrives.
 */
async function openStreams(port: number, n: number) {
  // For each figure (by its contract count), when each client got it: pushed as they arrive.
  const arrivals = new Map<number, number[]>();
  const sockets: net.Socket[] = [];
  let refused = 0;
  let connected = 0;
  const started = performance.now();
  const KEY = Buffer.from('"contracts":');
  const DATA = Buffer.from('data: {');
  const one = () =>
    new Promise<void>((resolve) => {
      let last = -1;
      let open = false;
      const socket = net.connect(port, '127.0.0.1');
      sockets.push(socket);
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.on('connect', () => socket.write('GET /api/v1/public/turnover/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      // Each event is one small write on loopback: one chunk, searched as bytes, nothing kept.
      socket.on('data', (chunk: Buffer) => {
        const now = performance.now();
        if (!open) {
          if (chunk.toString('latin1', 0, 12) !== 'HTTP/1.1 200') {
            refused++;
            socket.destroy();
            return resolve();
          }
          open = true;
          connected++;
        }
        // The figure's own count is the first "contracts" after an event's `data: ` (the breakdowns' come later).
        let at = chunk.indexOf(DATA);
        if (at >= 0) at = chunk.indexOf(KEY, at);
        while (at >= 0) {
          let i = at + KEY.length;
          let value = 0;
          while (chunk[i] >= 48 && chunk[i] <= 57) value = value * 10 + chunk[i++] - 48;
          if (value !== last) {
            last = value;
            let list = arrivals.get(value);
            if (!list) arrivals.set(value, (list = []));
            list.push(now);
            resolve();
          }
          at = chunk.indexOf(DATA, i);
          if (at >= 0) at = chunk.indexOf(KEY, at);
        }
      });
    });
  for (let i = 0; i < n; i += 500) await Promise.all(Array.from({ length: Math.min(500, n - i) }, one));
  return {
    arrivals,
    refused,
    get connected() {
      return connected;
    },
    connectMs: performance.now() - started,
    close: () => sockets.forEach((s) => s.destroy()),
  };
}

/**
 * Ten thousand streams need ten thousand descriptors in this process and as many in the web
 * process: raise the soft limit to the hard one (allowed without privileges) by running again
 * under `ulimit -n`; the processes this script starts inherit it.
 */
function withRaisedFdLimit(): boolean {
  if (process.env.BENCH_FD_RAISED === '1') return false;
  const soft = Number(execFileSync('bash', ['-c', 'ulimit -Sn'], { encoding: 'utf8' }).trim());
  const hard = execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  const want = Number(process.env.BENCH_SSE_CLIENTS ?? 10_000) * 2 + 200;
  if (hard !== 'unlimited' && soft >= Number(hard)) return false;
  if (soft >= want) return false;
  const limit = hard === 'unlimited' ? String(want) : hard;
  log(`raising the open-file limit from ${soft} to ${limit} for this run`);
  const child = spawnSync('bash', ['-c', `ulimit -n ${limit} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_FD_RAISED: '1' },
  });
  process.exit(child.status ?? 1);
}

async function main() {
  withRaisedFdLimit();
  // Every SSE client below comes from 127.0.0.1: lift the per-address cap (200 by default) for them.
  const clients = Number(process.env.BENCH_SSE_CLIENTS ?? 10_000);
  const stack = await startStack({ env: { SSE_MAX_CLIENTS_PER_IP: String(Math.max(200, clients)) } });
  const children: ChildProcess[] = [];
  try {
    const base = stack.base;
    const port = Number(new URL(base).port);
    const ferret = stack.ferret;
    log(`registry on ${base} (FerretDB v2 on 127.0.0.1:${ferret.port}, Redis ${stack.redis.url}); machine: ${os.cpus().length} cores`);

    // Idle: started, ready, nothing asked of it yet.
    await sleep(3000);
    const fresh = await memoryOf(stack);
    if (which.has('throughput')) {
      const barePort = await freePort();
      const bare = spawn(process.execPath, ['-e', `const e=require('express');const a=e();a.get('/',(q,r)=>r.send('hello world'));a.listen(${barePort},'127.0.0.1')`], { cwd: root, stdio: 'ignore' });
      children.push(bare);
      await waitHttp(`http://127.0.0.1:${barePort}/`);
      const seconds = Number(process.env.BENCH_SECONDS ?? 10);
      const connections = 50;
      await cannon(`${base}/`, 2, 10); // warm-up
      const bareRes = await cannon(`http://127.0.0.1:${barePort}/`, seconds, connections);
      const homeRes = await cannon(`${base}/`, seconds, connections);
      const apiRes = await cannon(`${base}/api/v1/public/turnover`, seconds, connections);
      const line = (name: string, r: autocannon.Result) =>
        `${name.padEnd(34)} ${r.requests.average.toFixed(0).padStart(7)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  non-2xx ${r.non2xx}  errors ${r.errors}`;
      log(`\nThroughput (${seconds} s each, ${connections} connections):`);
      log(line('bare Express hello world', bareRes));
      log(line('homepage GET /', homeRes));
      log(line('GET /api/v1/public/turnover', apiRes));
      log(`ratio homepage / bare: ${(homeRes.requests.average / bareRes.requests.average).toFixed(2)}`);
      log(`ratio turnover API / bare: ${(apiRes.requests.average / bareRes.requests.average).toFixed(2)}`);
      await sleep(3000);
      const afterReads = await memoryOf(stack);
      log(`web RSS: ${fresh.web.toFixed(1)} MB idle after start, ${afterReads.web.toFixed(1)} MB idle after these ${Math.round(bareRes.requests.total ? (homeRes.requests.total + apiRes.requests.total) / 1000 : 0)}k requests`);
    }

    if (which.has('sse')) {
      const approvals = Number(process.env.BENCH_APPROVALS ?? 20);
      // An organisation, verified, with contracts waiting in review.
      const admin2 = await stack.adminToken();
      const org = await verifiedOrganisation(base, admin2, '基准测试研究院');
      const ids: string[] = [];
      for (let i = 0; i < approvals + 3; i++) ids.push(await fileContract(base, org.token, 100_000 + i * 100, `B-${i}`));
      // The worker moves them to review.
      for (const id of ids) {
        for (let k = 0; k < 200; k++) {
          if ((await api(base, 'GET', `/api/v1/contracts/${id}`, undefined, admin2)).status === 'in_review') break;
          await sleep(50);
        }
      }
      // Warm-up approvals (JIT, pools) before the clients connect; not counted.
      for (const id of ids.splice(0, 3)) await api(base, 'POST', `/api/v1/contracts/${id}/approve`, {}, admin2);
      const idle = await memoryOf(stack);
      const streams = await openStreams(port, clients);
      await sleep(1000);
      const loaded = await memoryOf(stack);
      const latencies: number[] = [];
      const fromStart: number[] = [];
      const approveMs: number[] = [];
      let before = (await api(base, 'GET', '/api/v1/public/turnover')).contracts as number;
      for (const id of ids) {
        const sent = performance.now();
        await api(base, 'POST', `/api/v1/contracts/${id}/approve`, {}, admin2);
        const returned = performance.now();
        approveMs.push(returned - sent);
        const want = before + 1;
        const until = Date.now() + 5_000;
        while (Date.now() < until && (streams.arrivals.get(want)?.length ?? 0) < streams.connected) await sleep(20);
        for (const at of streams.arrivals.get(want) ?? []) {
          // An event can arrive before the approval's response does (it is published first): count 0.
          latencies.push(Math.max(0, at - returned));
          fromStart.push(at - sent);
        }
        before = want;
        await sleep(200);
      }
      const during = await memoryOf(stack);
      const fds = openFds(stack.webs[0].pid!);
      streams.close();
      latencies.sort((a, b) => a - b);
      fromStart.sort((a, b) => a - b);
      approveMs.sort((a, b) => a - b);
      const connected = streams.connected;
      const expected = connected * ids.length;
      log(`\nApproval → SSE event (${connected} of ${clients} clients connected in ${(streams.connectMs / 1000).toFixed(1)} s, ${streams.refused} refused; ${ids.length} approvals; ${fromStart.length}/${expected} events received):`);
      log(`after the approval request was sent:  p50 ${pct(fromStart, 50).toFixed(1)} ms  p99 ${pct(fromStart, 99).toFixed(1)} ms  max ${fromStart.at(-1)!.toFixed(1)} ms`);
      log(`after its response returned:          p50 ${pct(latencies, 50).toFixed(1)} ms  p99 ${pct(latencies, 99).toFixed(1)} ms  max ${latencies.at(-1)!.toFixed(1)} ms`);
      log(`the approval's own response:          p50 ${pct(approveMs, 50).toFixed(1)} ms  p99 ${pct(approveMs, 99).toFixed(1)} ms`);
      log(`\nMemory (RSS; web process / worker):`);
      log(`idle after start:                    ${fresh.web.toFixed(1)} MB / ${fresh.worker.toFixed(1)} MB`);
      log(`idle after ${ids.length + 3} filings, 3 approvals:     ${idle.web.toFixed(1)} MB / ${idle.worker.toFixed(1)} MB`);
      log(`with ${connected} streams open:          ${loaded.web.toFixed(1)} MB (${(((loaded.web - idle.web) * 1024) / Math.max(1, connected)).toFixed(1)} KB a stream)`);
      log(`after ${ids.length} events to them:        ${during.web.toFixed(1)} MB`);
      log(`file descriptors: limit ${fdLimit()} per process; this client held ${openFds(process.pid) + connected}, the web process ${fds} (streams open)`);
    }

    if (which.has('reconcile')) {
      // Each size (BENCH_CONTRACTS, comma-separated) in a fresh database of its own, dropped after.
      const sizes = String(process.env.BENCH_CONTRACTS ?? '100000,1000000')
        .split(',')
        .map((v) => Number(v.trim()))
        .filter((v) => v > 0);
      const streams = Math.max(1, Number(process.env.BENCH_SEED_STREAMS ?? 3));
      const year = cstYear(new Date());
      const types = ['development', 'transfer', 'licensing', 'consulting', 'service'];
      const fields = ['new_materials', 'new_energy', 'biomedicine', 'agriculture', 'electronic_information'];
      const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
      const summary: string[] = [];
      for (const n of sizes) {
        // About 3 KB of disk a contract here (its document, ledger entry, registration, indexes, WAL).
        const disk = fs.statfsSync(stack.dir);
        const free = disk.bavail * disk.bsize;
        const needed = n * 4096 + 2 ** 30;
        if (free < needed) {
          log(`\nReconciliation of ${n.toLocaleString('en-US')} contracts skipped: ${(free / 2 ** 30).toFixed(1)} GB free in ${stack.dir}, about ${(needed / 2 ** 30).toFixed(1)} GB needed`);
          continue;
        }
        // Through FerretDB's Unix socket, as the registry's own processes connect.
        await mongoose.connect(mongoUriFor(stack.mongoUri, `bench-reconcile-${n}`), { autoIndex: false });
        await mongoose.connection.db!.dropDatabase();
        for (const m of [Contract, TallyEntry, YearTallyDoc, Registration]) await m.createCollection().catch(() => undefined);
        // The ledger's and the register's indexes before their documents: reconciliation reads through them, and
        // building them afterwards over a million documents took a DocumentDB backend past 10 GB here (OOM-killed).
        // The contracts keep only their _id index: reconciliation reads a contract by _id, and only for a missing entry.
        await TallyEntry.createIndexes();
        await Registration.createIndexes();
        log(`\nSeeding ${n.toLocaleString('en-US')} registered contracts over ${year - 2}–${year} (every hundredth revoked) in ${streams} concurrent streams…`);
        const t0 = performance.now();
        // Contract k: registered in year - k % 3, serial k / 3 + 1 there; contracts 99 + 100d + 300j revoked (the j-th
        // revocation of year - d, numbered after the year's registrations). Each chunk is independent of the others.
        const registeredInYear = (d: number) => Math.max(0, Math.ceil((n - d) / 3));
        const revokedInYear = (d: number) => Math.max(0, Math.ceil((n - 99 - 100 * d) / 300));
        const tallies = new Map<number, YearTally>();
        let revokedCount = 0;
        const chunk = Number(process.env.BENCH_SEED_CHUNK ?? 2000);
        const seedChunk = async (from: number) => {
          const contracts = [];
          const entries = [];
          const regs = [];
          for (let k = from; k < Math.min(n, from + chunk); k++) {
            const _id = new mongoose.Types.ObjectId();
            const d = k % 3;
            const registeredAt = new Date(Date.UTC(year - d, k % 12, 1 + (k % 27), 3));
            const y = cstYear(registeredAt);
            const serial = Math.floor(k / 3) + 1;
            const revoked = k % 100 === 99;
            const revokedAt = revoked ? new Date(registeredAt.getTime() + 30 * 86_400_000) : null;
            const number = `${y}630100${String(serial).padStart(6, '0')}`;
            const c = {
              _id, organizationId: new mongoose.Types.ObjectId(), createdBy: new mongoose.Types.ObjectId(), status: revoked ? 'revoked' : 'registered',
              title: `生成的技术合同 ${k}`, contractNumber: `G-${k}`, type: types[k % 5], technicalField: fields[k % 5], ipType: 'none', planSource: 'none',
              contractAmountFen: 100_000 + (k % 9973) * 100 + (k % 100), technicalAmountFen: 90_000 + (k % 7919) * 100,
              seller: { name: `卖方${k % 500}`, uscc: '91630100MA7ABCDEF0', nature: '150', regionCode: '630102', contactPerson: '联系人', phone: '0971-0000000', email: 'x@y.test', address: '西宁' },
              buyers: [{ name: `买方${k}`, nature: '150', regionCode: k % 2 ? '630100' : '110108' }],
              registeredAt, registrationYear: y, registrationNumber: number,
              history: [{ at: registeredAt, action: 'created' }, { at: registeredAt, action: 'submitted' }, { at: registeredAt, action: 'verified' }, { at: registeredAt, action: 'registered' }, ...(revoked ? [{ at: revokedAt, action: 'revoked' }] : [])],
            };
            contracts.push(c);
            regs.push({ _id: `${y}-${String(serial).padStart(6, '0')}`, year: y, serial, number, contractId: String(_id), at: registeredAt, revokedAt, source: 'filing' });
            const fact: TallyFact = factOf(c, '630100');
            const f = encodeFact(fact);
            entries.push({ _id: `${y}-${String(serial).padStart(9, '0')}`, e: `registered:${_id}`, s: 1, f });
            let tally = tallies.get(y);
            if (!tally) tallies.set(y, (tally = emptyTally(y)));
            addInPlace(tally, fact, 1);
            if (revoked) {
              revokedCount++;
              entries.push({ _id: `${y}-${String(registeredInYear(d) + Math.floor(k / 300) + 1).padStart(9, '0')}`, e: `revoked:${_id}`, s: -1, f });
              addInPlace(tally, fact, -1);
            }
          }
          await Promise.all([
            Contract.collection.insertMany(contracts as never[], { ordered: false }),
            TallyEntry.collection.insertMany(entries as never[], { ordered: false }),
            Registration.collection.insertMany(regs as never[], { ordered: false }),
          ]);
        };
        let next = 0;
        await Promise.all(
          Array.from({ length: streams }, async () => {
            while (next < n) {
              const from = next;
              next += chunk;
              await seedChunk(from);
            }
          }),
        );
        for (const [y, tally] of tallies) {
          const d = year - y;
          await YearTallyDoc.collection.insertOne({ _id: `turnover-${y}`, year: y, appliedSeq: registeredInYear(d) + revokedInYear(d), tally, updatedAt: new Date() } as never);
        }
        const seedS = (performance.now() - t0) / 1000;
        log(
          `seeded in ${seedS.toFixed(1)} s: ${n.toLocaleString('en-US')} contracts (full documents, ${revokedCount.toLocaleString('en-US')} revoked; _id index only), ` +
            `${(n + revokedCount).toLocaleString('en-US')} ledger entries, ${n.toLocaleString('en-US')} registrations, ${tallies.size} year tallies`,
        );

        // This process's resident memory while it reconciles, sampled every 20 ms, after collecting the seeding's garbage.
        (await import('node:v8')).setFlagsFromString('--expose-gc');
        ((await import('node:vm')).runInNewContext('gc') as () => void)();
        const inUse = () => {
          const m = process.memoryUsage();
          return [m.rss, m.heapUsed + m.arrayBuffers] as const;
        };
        const [rssBefore, heapBefore] = inUse();
        let [peak, heapPeak] = [rssBefore, heapBefore];
        const sample = () => {
          const [rss, heap] = inUse();
          peak = Math.max(peak, rss);
          heapPeak = Math.max(heapPeak, heap);
        };
        const sampler = setInterval(sample, 20);
        const start = performance.now();
        const run = await reconcile({ prefix: 'bench', targetFen: 100_000_000_000, agencyCode: '630100' }, 'bench');
        const reconcileS = (performance.now() - start) / 1000;
        clearInterval(sampler);
        sample();
        const tm = run.timings as { registrationsMs: number; ledgerMs: number; scanMs: number; summingMs: number; missingMs: number; yearsMs: number };
        const target = n <= 100_000 ? 5 : n <= 1_000_000 ? 30 : null;
        log(
          `Reconciliation of ${run.contracts.toLocaleString('en-US')} registered contracts: ${reconcileS.toFixed(2)} s${target ? ` (target ≤ ${target} s)` : ''}; ` +
            `corrected ${run.corrected.length} years, ${run.missingEntries} missing entries, ${run.unresolved.length} unresolved`,
        );
        log(
          `  reading and summing, side by side: register read in ${(tm.registrationsMs / 1000).toFixed(2)} s, ledger in ${(tm.ledgerMs / 1000).toFixed(2)} s; ` +
            `of the ${(tm.scanMs / 1000).toFixed(2)} s, ${(tm.summingMs / 1000).toFixed(2)} s parsing, summing and merging in this process, ` +
            `${((tm.scanMs - tm.summingMs) / 1000).toFixed(2)} s waiting for the database; then missing entries ${tm.missingMs} ms, years checked ${tm.yearsMs} ms`,
        );
        log(
          `  this process's RSS: ${mb(rssBefore)} before (what seeding left), peak ${mb(peak)} during the reconciliation (+${mb(peak - rssBefore)}); ` +
            `JS heap in use + buffers: ${mb(heapBefore)} before, peak ${mb(heapPeak)}; maxRSS since start ${mb(process.resourceUsage().maxRSS * 1024)}`,
        );
        log(`  timings: ${JSON.stringify(run.timings)}`);
        summary.push(`${n.toLocaleString('en-US').padStart(11)}  seed ${seedS.toFixed(1).padStart(6)} s  reconcile ${reconcileS.toFixed(2).padStart(6)} s  peak RSS ${mb(peak).padStart(7)} (+${mb(peak - rssBefore)})`);
        await mongoose.connection.db!.dropDatabase();
        await mongoose.disconnect();
      }
      if (summary.length) log(`\nReconciliation summary (contracts, seeding, reconciliation, peak RSS of this process):\n${summary.join('\n')}`);
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
