/**
 * Load script (not a test): a mixed workload against a whole registry on loopback for a
 * bounded time — public readers (homepage, turnover, register), applicants filing and
 * submitting, reviewers approving — then checks that every submitted filing reached a final
 * or reviewable state and that the tallies equal a recount. Prints throughput, p50/p99 per
 * route and the error count.
 *
 *   npm run load                          (60 s, 200 concurrent connections)
 *   LOAD_SECONDS=20 LOAD_CONNECTIONS=50 npm run load
 */
import mongoose from 'mongoose';
import { cstYear } from '../src/domain/time';
import { Contract } from '../src/modules/contracts/contract.model';
import { YearTallyDoc } from '../src/modules/turnover/turnover.model';
import { ApiError, api, fileContract, log, pct, reviewerToken, sleep, startStack, verifiedOrganisation } from './stack';

const SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 200);
const WEBS = Number(process.env.LOAD_WEB_PROCESSES ?? 2);

interface RouteStats {
  latencies: number[];
  ok: number;
  client4xx: number;
  server5xx: number;
  network: number;
}

async function main() {
  const stack = await startStack({ webs: WEBS });
  const stats = new Map<string, RouteStats>();
  const route = (name: string) => {
    let s = stats.get(name);
    if (!s) stats.set(name, (s = { latencies: [], ok: 0, client4xx: 0, server5xx: 0, network: 0 }));
    return s;
  };
  /** Times one call; 409 on approve is an expected race, other 4xx are counted. */
  async function timed<T>(name: string, fn: () => Promise<T>): Promise<T | null> {
    const t0 = performance.now();
    try {
      const v = await fn();
      route(name).ok++;
      return v;
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.status >= 500) route(name).server5xx++;
        else route(name).client4xx++;
      } else {
        route(name).network++;
      }
      return null;
    } finally {
      route(name).latencies.push(performance.now() - t0);
    }
  }
  const get = async (base: string, p: string) => {
    const res = await fetch(base + p);
    await res.arrayBuffer();
    if (!res.ok) throw new ApiError(res.status, '', p);
  };

  try {
    log(`registry: ${stack.bases.join(', ')} (${WEBS} web processes, 1 worker) — ${SECONDS} s at ${CONNECTIONS} connections`);
    const admin = await stack.adminToken();
    const reviewers: string[] = [];
    for (let i = 0; i < 3; i++) reviewers.push(await reviewerToken(stack.base, admin, `load-reviewer-${i}@stack.test`, `审核员${i}`));
    const orgs: Awaited<ReturnType<typeof verifiedOrganisation>>[] = [];
    for (let i = 0; i < 10; i++) orgs.push(await verifiedOrganisation(stack.base, admin, `负载测试机构${i}`));
    const submitted = new Set<string>();
    const until = Date.now() + SECONDS * 1000;
    let n = 0;
    const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];

    async function virtualUser(i: number) {
      while (Date.now() < until) {
        const base = stack.bases[i % stack.bases.length];
        const r = Math.random();
        if (r < 0.7) {
          // Public readers.
          const which = Math.random();
          if (which < 0.5) await timed('GET /', () => get(base, '/'));
          else if (which < 0.85) await timed('GET /api/v1/public/turnover', () => get(base, '/api/v1/public/turnover'));
          else await timed('GET /api/v1/public/register', () => get(base, `/api/v1/public/register?page=${1 + Math.floor(Math.random() * 3)}`));
        } else if (r < 0.9) {
          // An applicant files and submits one contract.
          const org = pick(orgs);
          const k = ++n;
          const id = await timed('file + submit (4 requests)', () => fileContract(base, org.token, 10_000 + k * 100 + (k % 100), `L-${k}`));
          if (id) submitted.add(id);
        } else {
          // A reviewer takes the first filing waiting for a decision.
          const token = pick(reviewers);
          const queue = await timed('GET /api/v1/review', () => api(base, 'GET', '/api/v1/review?status=in_review&pageSize=5', undefined, token));
          const first = queue?.items?.[Math.floor(Math.random() * Math.max(1, queue.items.length))];
          if (first) {
            await timed('POST approve', () =>
              api(base, 'POST', `/api/v1/contracts/${first.id}/approve`, {}, token).catch((err) => {
                // Two reviewers picking the same filing: one wins, the other gets 409 by design.
                if (err instanceof ApiError && err.status === 409) return null;
                throw err;
              }),
            );
          }
        }
      }
    }
    const started = Date.now();
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => virtualUser(i)));
    const elapsed = (Date.now() - started) / 1000;

    let total = 0;
    let errors = 0;
    let fivexx = 0;
    log(`\n${'route'.padEnd(32)} ${'count'.padStart(7)} ${'req/s'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  4xx  5xx  net`);
    for (const [name, s] of [...stats.entries()].sort()) {
      const lat = s.latencies.sort((a, b) => a - b);
      total += lat.length;
      errors += s.server5xx + s.network + s.client4xx;
      fivexx += s.server5xx;
      log(`${name.padEnd(32)} ${String(lat.length).padStart(7)} ${(lat.length / elapsed).toFixed(1).padStart(7)} ${pct(lat, 50).toFixed(1).padStart(8)} ${pct(lat, 99).toFixed(1).padStart(8)} ${String(s.client4xx).padStart(4)} ${String(s.server5xx).padStart(4)} ${String(s.network).padStart(4)}`);
    }
    log(`\n${total} operations in ${elapsed.toFixed(1)} s: ${(total / elapsed).toFixed(1)} ops/s; errors ${errors} (5xx ${fivexx})`);

    // Afterwards: nothing lost, tallies exact.
    await mongoose.connect(stack.mongoUri);
    const deadline = Date.now() + 120_000;
    let stuck = 0;
    for (;;) {
      stuck = await Contract.countDocuments({ _id: { $in: [...submitted].map((id) => new mongoose.Types.ObjectId(id)) }, status: 'submitted' });
      if (stuck === 0 || Date.now() > deadline) break;
      await sleep(1000);
    }
    const states = await Contract.aggregate<{ _id: string; n: number }>([
      { $match: { _id: { $in: [...submitted].map((id) => new mongoose.Types.ObjectId(id)) } } },
      { $group: { _id: '$status', n: { $sum: 1 } } },
    ]);
    const year = cstYear(new Date());
    const registered = await Contract.find({ status: 'registered', registrationYear: year }).select({ contractAmountFen: 1, technicalAmountFen: 1 }).lean();
    const recount = registered.reduce((a, c) => a + (c.contractAmountFen ?? 0), 0);
    const tally = (await YearTallyDoc.findById(`turnover-${year}`).lean()) as { tally: { totals: { contractFen: number; count: number } } } | null;
    const stored = tally?.tally.totals ?? { contractFen: 0, count: 0 };
    log(`\nsubmitted filings: ${submitted.size}; by state now: ${states.map((s) => `${s._id} ${s.n}`).join(', ')}`);
    log(`filings still waiting for verification after the run: ${stuck} ${stuck === 0 ? '(none lost)' : '(LOST OR STUCK)'}`);
    log(`tally ${year}: ${stored.count} contracts, ${stored.contractFen} fen; recount from the contracts: ${registered.length} contracts, ${recount} fen — ${stored.contractFen === recount && stored.count === registered.length ? 'equal' : 'DIFFERENT'}`);
    const verdict = fivexx === 0 && stuck === 0 && stored.contractFen === recount;
    log(`\nverdict: ${verdict ? 'PASS' : 'FAIL'} (target: zero 5xx, zero lost filings, tallies equal a recount)`);
    await mongoose.disconnect();
    process.exitCode = verdict ? 0 : 1;
  } finally {
    await stack.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`load failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
