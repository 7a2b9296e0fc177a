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
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import mongoose from 'mongoose';
import { freePort, mongoUriFor, projectRoot, startFerretDB, startRedis, type ManagedService } from './local-services';
import { USCC_ALPHABET, usccCheckCharacter } from '../src/domain/uscc';
import { factOf, applyFact, emptyTally, encodeFact, type TallyFact, type YearTally } from '../src/domain/tally';
import { cstYear } from '../src/domain/time';
import { Contract } from '../src/modules/contracts/contract.model';
import { TallyEntry, YearTallyDoc } from '../src/modules/turnover/turnover.model';
import { reconcile } from '../src/modules/turnover/turnover.service';
import { ContractNumber, Registration } from '../src/modules/review/registration.model';

const root = projectRoot();
const which = new Set(process.argv.slice(2).length ? process.argv.slice(2) : ['throughput', 'sse', 'reconcile']);
const log = (s: string) => process.stdout.write(s + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function uscc(): string {
  let b = '91630100';
  while (b.length < 17) b += USCC_ALPHABET[Math.floor(Math.random() * USCC_ALPHABET.length)];
  return b + usccCheckCharacter(b);
}

function startNode(script: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [path.join(root, 'dist', script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function waitHttp(url: string, ms = 60_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not yet
    }
    await sleep(200);
  }
  throw new Error(`${url} not ready`);
}

async function api(base: string, method: string, p: string, body?: unknown, token?: string) {
  const res = await fetch(base + p, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : null;
}

function cannon(url: string, seconds: number, connections: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, duration: seconds, connections, pipelining: 1 }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main() {
  if (!fs.existsSync(path.join(root, 'dist', 'src', 'server.js'))) throw new Error('build first: npm run build');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-bench-'));
  const services: ManagedService[] = [];
  const children: ChildProcess[] = [];
  try {
    const ferret = await startFerretDB({ dataDir: path.join(dir, 'ferretdb'), port: await freePort() });
    services.push(ferret);
    const redis = await startRedis({ dataDir: path.join(dir, 'redis'), port: await freePort(), persistent: false });
    services.push(redis);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      NODE_ENV: 'production',
      PORT: String(port),
      MONGODB_URI: mongoUriFor(ferret.url, 'bench'),
      REDIS_URL: redis.url,
      SESSION_SECRET: 'bench-'.repeat(8),
      LOG_LEVEL: 'warn',
      SECURE_COOKIES: 'false',
      BOOTSTRAP_ADMIN_EMAIL: 'admin@bench.test',
      BOOTSTRAP_ADMIN_PASSWORD: 'Bench-Admin-Pass-1',
    };
    children.push(startNode('src/server.js', env));
    await waitHttp(`${base}/readyz`);
    children.push(startNode('workers/main.js', env));
    log(`registry on ${base} (FerretDB ${ferret.url}, Redis ${redis.url}); machine: ${os.cpus().length} cores`);

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
      const clients = Number(process.env.BENCH_SSE_CLIENTS ?? 1000);
      const approvals = Number(process.env.BENCH_APPROVALS ?? 20);
      // An organisation, verified, with contracts waiting in review.
      const email = `bench${Date.now()}@org.test`;
      const signup = await api(base, 'POST', '/api/v1/organizations', {
        organization: { name: '基准测试研究院', uscc: uscc(), nature: '021', regionCode: '630102' },
        admin: { name: '测试', email, password: 'Bench-Applicant-1' },
      });
      const admin2 = (await api(base, 'POST', '/api/v1/tokens', { email: 'admin@bench.test', password: 'Bench-Admin-Pass-1' })).token;
      await api(base, 'POST', `/api/v1/organizations/${signup.organization.id}/verify`, {}, admin2);
      const token = (await api(base, 'POST', '/api/v1/tokens', { email, password: 'Bench-Applicant-1' })).token;
      const { PDFDocument } = await import('pdf-lib');
      const doc = await PDFDocument.create();
      doc.addPage();
      const pdf = Buffer.from(await doc.save());
      const ids: string[] = [];
      for (let i = 0; i < approvals; i++) {
        const c = await api(base, 'POST', '/api/v1/contracts', {
          title: `基准合同${i}号${Math.random().toString(36).slice(2)}`, contractNumber: `B-${i}`, type: 'service', subtype: 'general',
          signedOn: '2026-01-05', validFrom: '2026-01-05', validTo: '2027-01-04', contractAmount: `${1000 + i}.00`, technicalAmount: `${1000 + i}.00`,
          paymentMethod: 'lump_sum', relatedParty: false, planSource: 'none', ipType: 'none', technicalField: 'urban_social', socioEconomicObjective: 'social',
          buyers: [{ name: `买方${i}`, uscc: uscc(), nature: '150', regionCode: '630100', legalRepresentative: '丙', contactPerson: '丁', phone: '0971-7654321', address: '西宁' }],
          declaration: true,
        }, token);
        const form = new FormData();
        form.append('file', new Blob([pdf], { type: 'application/pdf' }), 'c.pdf');
        const up = await fetch(`${base}/api/v1/contracts/${c.id}/attachments`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
        if (!up.ok) throw new Error(`upload ${up.status}`);
        await api(base, 'PATCH', `/api/v1/contracts/${c.id}`, { seller: { ...c.seller, legalRepresentative: '甲', contactPerson: '乙', phone: '0971-1234567', email, address: '西宁' } }, token);
        await api(base, 'POST', `/api/v1/contracts/${c.id}/submit`, undefined, token);
        ids.push(c.id);
      }
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
              let buf = '';
              let first = true;
              res.on('data', (chunk: Buffer) => {
                buf += chunk.toString('utf8');
                let j;
                while ((j = buf.indexOf('\n\n')) >= 0) {
                  const block = buf.slice(0, j);
                  buf = buf.slice(j + 2);
                  const data = block.split('\n').find((l) => l.startsWith('data: '));
                  if (!data) continue;
                  const n = (JSON.parse(data.slice(6)) as { contracts: number }).contracts;
                  if (!seen.has(n)) seen.set(n, performance.now());
                  if (first) {
                    first = false;
                    resolve();
                  }
                }
              });
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
      for (const m of [Contract, TallyEntry, YearTallyDoc, Registration, ContractNumber]) await m.createCollection().catch(() => undefined);
      await TallyEntry.createIndexes();
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
      const numbers = [];
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
          numbers.push({ _id: String(_id), number: `${fact.year}630100${String(seq).padStart(6, '0')}`, registrationId: `${fact.year}-${String(seq).padStart(6, '0')}`, at: registeredAt, revokedAt: null });
          tallies.set(fact.year, applyFact(tallies.get(fact.year) ?? emptyTally(fact.year), fact, 1));
        }
        await Contract.collection.insertMany(contracts, { ordered: false });
        await TallyEntry.collection.insertMany(entries as never[], { ordered: false });
        await Registration.collection.insertMany(regs as never[], { ordered: false });
        await ContractNumber.collection.insertMany(numbers as never[], { ordered: false });
      }
      for (const [y, tally] of tallies) {
        if (y < 0) continue;
        await YearTallyDoc.collection.insertOne({ _id: `turnover-${y}`, year: y, version: 0, appliedSeq: seqs.get(y)!, tally, updatedAt: new Date() } as never);
      }
      log(`generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const start = Date.now();
      const run = await reconcile({ prefix: 'bench', targetFen: 100_000_000_000, agencyCode: '630100' }, 'bench');
      log(`\nReconciliation of ${run.contracts} registered contracts: ${((Date.now() - start) / 1000).toFixed(2)} s (corrected ${run.corrected.length} years, ${run.missingEntries} missing entries, ${run.unresolved.length} unresolved); reading: ${JSON.stringify(run.timings)}`);
      await mongoose.disconnect();
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await sleep(500);
    for (const s of services.reverse()) await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
