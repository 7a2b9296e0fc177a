/**
 * Benchmarks (not tests): prints figures, asserts nothing.
 *  1. Homepage and /api/v1/public/turnover throughput under autocannon, against a bare
 *     Express "hello world" started by this script on the same machine, as a ratio.
 *  2. Time from an approval request returning to the SSE event arriving at 1,000 clients.
 *  3. Reconciliation time for 100,000 generated registered contracts.
 * Everything runs on loopback against services this script starts in a temporary folder.
 *
 *   npm run bench                    (all three)
 *   npm run bench -- throughput sse  (some)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import autocannon from 'autocannon';
import mongoose from 'mongoose';
import { freePort, mongoUriFor } from './local-services';
import { api, fileContract, log, pct, root, sleep, startStack, verifiedOrganisation, waitHttp } from './stack';
import { factOf, applyFact, emptyTally, encodeFact, type TallyFact, type YearTally } from '../src/domain/tally';
import { cstYear } from '../src/domain/time';
import { Contract } from '../src/modules/contracts/contract.model';
import { TallyEntry, YearTallyDoc } from '../src/modules/turnover/turnover.model';
import { reconcile } from '../src/modules/turnover/turnover.service';
import { Registration } from '../src/modules/registrations/registration.model';
import { eventStreamReader } from './sse';

const which = new Set(process.argv.slice(2).length ? process.argv.slice(2) : ['throughput', 'sse', 'reconcile']);

function cannon(url: string, seconds: number, connections: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, duration: seconds, connections, pipelining: 1 }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}


async function main() {
  // Every SSE client below comes from 127.0.0.1: lift the per-address cap (200 by default) for them.
  const clients = Number(process.env.BENCH_SSE_CLIENTS ?? 1000);
  const stack = await startStack({ env: { SSE_MAX_CLIENTS_PER_IP: String(Math.max(200, clients)) } });
  const children: ChildProcess[] = [];
  try {
    const base = stack.base;
    const port = Number(new URL(base).port);
    const ferret = stack.ferret;
    log(`registry on ${base} (FerretDB v2 on 127.0.0.1:${ferret.port}, Redis ${stack.redis.url}); machine: ${os.cpus().length} cores`);

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
    }

    if (which.has('sse')) {
      const approvals = Number(process.env.BENCH_APPROVALS ?? 20);
      // An organisation, verified, with contracts waiting in review.
      const admin2 = await stack.adminToken();
      const org = await verifiedOrganisation(base, admin2, '基准测试研究院');
      const ids: string[] = [];
      for (let i = 0; i < approvals; i++) ids.push(await fileContract(base, org.token, 100_000 + i * 100, `B-${i}`));
      // The worker moves them to review.
      for (const id of ids) {
        for (let k = 0; k < 200; k++) {
          if ((await api(base, 'GET', `/api/v1/contracts/${id}`, undefined, admin2)).status === 'in_review') break;
          await sleep(50);
        }
      }
      // 1,000 clients on the stream, each noting when every event arrives.
      const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
      const arrivals: Map<number, number>[] = [];
      const reqs: http.ClientRequest[] = [];
      await Promise.all(
        Array.from({ length: clients }, (_, i) =>
          new Promise<void>((resolve, reject) => {
            const seen = new Map<number, number>();
            arrivals.push(seen);
            const req = http.get({ host: '127.0.0.1', port, path: '/api/v1/public/turnover/stream', agent }, (res) => {
              // Refused (429, 503): counted as not connected rather than waited for.
              if (res.statusCode !== 200) {
                arrivals.splice(arrivals.indexOf(seen), 1);
                res.resume();
                return resolve();
              }
              let first = true;
              res.on(
                'data',
                eventStreamReader((_name, data) => {
                  const n = (data as { contracts: number }).contracts;
                  if (!seen.has(n)) seen.set(n, performance.now());
                  if (first) {
                    first = false;
                    resolve();
                  }
                }),
              );
            });
            req.on('error', (err) => (i < 5 ? reject(err) : resolve()));
            reqs.push(req);
          }),
        ),
      );
      const connected = arrivals.length;
      const latencies: number[] = [];
      let before = (await api(base, 'GET', '/api/v1/public/turnover')).contracts as number;
      const fromStart: number[] = [];
      for (const id of ids) {
        const sent = performance.now();
        await api(base, 'POST', `/api/v1/contracts/${id}/approve`, {}, admin2);
        const returned = performance.now();
        const want = before + 1;
        const until = Date.now() + 5_000;
        while (Date.now() < until && arrivals.some((s) => !s.has(want))) await sleep(5);
        for (const s of arrivals) {
          const at = s.get(want);
          // An event can arrive before the approval's response does (it is published first): count 0.
          if (at !== undefined) {
            latencies.push(Math.max(0, at - returned));
            fromStart.push(at - sent);
          }
        }
        before = want;
        await sleep(100);
      }
      for (const r of reqs) r.destroy();
      latencies.sort((a, b) => a - b);
      const expected = connected * ids.length;
      log(`\nApproval → SSE event (${connected} clients connected, ${ids.length} approvals, ${latencies.length}/${expected} events received):`);
      log(`after the response returned: p50 ${pct(latencies, 50).toFixed(1)} ms  p99 ${pct(latencies, 99).toFixed(1)} ms  max ${latencies.at(-1)!.toFixed(1)} ms`);
      fromStart.sort((a, b) => a - b);
      log(`after the request was sent:  p50 ${pct(fromStart, 50).toFixed(1)} ms  p99 ${pct(fromStart, 99).toFixed(1)} ms  max ${fromStart.at(-1)!.toFixed(1)} ms`);
    }

    if (which.has('reconcile')) {
      const n = Number(process.env.BENCH_CONTRACTS ?? 100_000);
      await mongoose.connect(mongoUriFor(ferret.url, 'bench-reconcile'));
      for (const m of [Contract, TallyEntry, YearTallyDoc, Registration]) await m.createCollection().catch(() => undefined);
      await TallyEntry.createIndexes();
      await Registration.createIndexes();
      log(`\nGenerating ${n} registered contracts with their ledger entries…`);
      const t0 = Date.now();
      const year = cstYear(new Date());
      const types = ['development', 'transfer', 'licensing', 'consulting', 'service'];
      const fields = ['new_materials', 'new_energy', 'biomedicine', 'agriculture', 'electronic_information'];
      const tallies = new Map<number, YearTally>();
      const seqs = new Map<number, number>();
      const batch = 2000;
      for (let i = 0; i < n; i += batch) {
        const contracts = [];
        const entries = [];
      const regs = [];
        for (let k = i; k < Math.min(n, i + batch); k++) {
          const _id = new mongoose.Types.ObjectId();
          const registeredAt = new Date(Date.UTC(year - (k % 3), k % 12, 1 + (k % 27), 3));
          const c = {
            _id, organizationId: new mongoose.Types.ObjectId(), createdBy: new mongoose.Types.ObjectId(), status: 'registered',
            title: `生成的技术合同 ${k}`, contractNumber: `G-${k}`, type: types[k % 5], technicalField: fields[k % 5], ipType: 'none', planSource: 'none',
            contractAmountFen: 100_000 + (k % 9973) * 100 + (k % 100), technicalAmountFen: 90_000 + (k % 7919) * 100,
            seller: { name: `卖方${k % 500}`, uscc: '91630100MA7ABCDEF0', nature: '150', regionCode: '630102', contactPerson: '联系人', phone: '0971-0000000', email: 'x@y.test', address: '西宁' },
            buyers: [{ name: `买方${k}`, nature: '150', regionCode: k % 2 ? '630100' : '110108' }],
            registeredAt, registrationYear: cstYear(registeredAt), registrationNumber: `${cstYear(registeredAt)}630100${String(k).padStart(6, '0')}`,
            history: [{ at: registeredAt, action: 'created' }, { at: registeredAt, action: 'submitted' }, { at: registeredAt, action: 'verified' }, { at: registeredAt, action: 'registered' }],
          };
          contracts.push(c);
          const y = cstYear(registeredAt);
          const serial = (seqs.get(-y) ?? 0) + 1;
          seqs.set(-y, serial);
          regs.push({ _id: `${y}-${String(serial).padStart(6, '0')}`, year: y, serial, number: `${y}630100${String(serial).padStart(6, '0')}`, contractId: String(_id), at: registeredAt, revokedAt: null });
          const fact: TallyFact = factOf(c, '630100');
          const seq = (seqs.get(fact.year) ?? 0) + 1;
          seqs.set(fact.year, seq);
          entries.push({ _id: `${fact.year}-${String(seq).padStart(9, '0')}`, e: `registered:${_id}`, s: 1, f: encodeFact(fact) });
          tallies.set(fact.year, applyFact(tallies.get(fact.year) ?? emptyTally(fact.year), fact, 1));
        }
        await Contract.collection.insertMany(contracts, { ordered: false });
        await TallyEntry.collection.insertMany(entries as never[], { ordered: false });
        await Registration.collection.insertMany(regs as never[], { ordered: false });
      }
      for (const [y, tally] of tallies) {
        if (y < 0) continue;
        await YearTallyDoc.collection.insertOne({ _id: `turnover-${y}`, year: y, appliedSeq: seqs.get(y)!, tally, updatedAt: new Date() } as never);
      }
      log(`generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const start = Date.now();
      const run = await reconcile({ prefix: 'bench', targetFen: 100_000_000_000, agencyCode: '630100' }, 'bench');
      log(`\nReconciliation of ${run.contracts} registered contracts: ${((Date.now() - start) / 1000).toFixed(2)} s (corrected ${run.corrected.length} years, ${run.missingEntries} missing entries, ${run.unresolved.length} unresolved); reading: ${JSON.stringify(run.timings)}`);
      await mongoose.disconnect();
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
