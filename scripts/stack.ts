/**
 * A whole registry on loopback for the benchmark, load and fault scripts: the embedded database
 * (PostgreSQL + DocumentDB + FerretDB v2, with authentication and durable writes, as `npm start`
 * runs it) and Redis
 * in a temporary folder, web process(es) and a worker from dist/, and small API helpers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PDFDocument } from 'pdf-lib';
import { databaseCredentials, startEmbeddedDatabase, startFerretDB, startPostgres } from './embedded-database';
import { freePort, mongoUriFor, projectRoot, startRedis, type ManagedService } from './local-services';
import { USCC_ALPHABET, usccCheckCharacter } from '../src/domain/uscc';
import { PROCESS_NODE_FLAGS } from './process-flags';

export const root = projectRoot();
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const log = (s: string) => process.stdout.write(s + '\n');

export const ADMIN = { email: 'admin@stack.test', password: 'Stack-Bureau-Desk-2026' };

export function uscc(): string {
  let b = '91630100';
  while (b.length < 17) b += USCC_ALPHABET[Math.floor(Math.random() * USCC_ALPHABET.length)];
  return b + usccCheckCharacter(b);
}

export async function waitHttp(url: string, ms = 60_000): Promise<void> {
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

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: ${status} ${body.slice(0, 200)}`);
  }
}

// The load generator shares the machine with what it measures: plain node:http with kept-alive
// connections costs it less CPU than fetch() does (its figure is printed with the others).
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** One HTTP request; resolves with the status and the body as text. */
export function request(url: string, method: string, headers: Record<string, string>, body?: Buffer | string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function api<T = any>(base: string, method: string, p: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const res = await request(base + p, method, headers, body === undefined ? undefined : JSON.stringify(body));
  if (res.status < 200 || res.status >= 300) throw new ApiError(res.status, res.text, `${method} ${p}`);
  return (res.text ? JSON.parse(res.text) : null) as T;
}

/** A multipart/form-data body with one file field. */
function multipartFile(field: string, filename: string, type: string, bytes: Buffer): { body: Buffer; contentType: string } {
  const boundary = `----registry${Math.random().toString(16).slice(2)}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`;
  return { body: Buffer.concat([Buffer.from(head), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]), contentType: `multipart/form-data; boundary=${boundary}` };
}

let pdfBytes: Buffer | null = null;
export async function onePagePdf(): Promise<Buffer> {
  if (!pdfBytes) {
    const doc = await PDFDocument.create();
    doc.addPage([595, 842]);
    pdfBytes = Buffer.from(await doc.save());
  }
  return pdfBytes;
}

/** A reviewer account created by the admin, its initial password replaced (as the app requires), and its API token. */
export async function reviewerToken(base: string, adminToken: string, email: string, name: string): Promise<string> {
  await api(base, 'POST', '/api/v1/users', { email, name, password: 'Load-Reviewer-Pass-1', role: 'reviewer' }, adminToken);
  const first = (await api(base, 'POST', '/api/v1/tokens', { email, password: 'Load-Reviewer-Pass-1' })).token;
  await api(base, 'POST', '/api/v1/me/password', { currentPassword: 'Load-Reviewer-Pass-1', newPassword: 'Load-Reviewer-Own-2' }, first);
  return (await api(base, 'POST', '/api/v1/tokens', { email, password: 'Load-Reviewer-Own-2' })).token as string;
}

/** A verified organisation with an API token. */
export async function verifiedOrganisation(base: string, adminToken: string, name: string) {
  const email = `${Math.random().toString(36).slice(2)}@org.test`;
  const password = 'Stack-Applicant-77';
  const signup = await api(base, 'POST', '/api/v1/organizations', {
    organization: { name, uscc: uscc(), nature: '021', regionCode: '630102' },
    admin: { name: '经办人', email, password },
  });
  await api(base, 'POST', `/api/v1/organizations/${signup.organization.id}/verify`, {}, adminToken);
  const token = (await api(base, 'POST', '/api/v1/tokens', { email, password })).token as string;
  return { email, token, orgId: signup.organization.id as string };
}

/** Creates, completes, attaches and submits one filing; returns its id. */
/** Files and submits one contract in 4 requests; `step` is told each request's time. */
export async function fileContract(base: string, token: string, amountFen: number, label: string, step?: (name: string, ms: number) => void): Promise<string> {
  const amount = (amountFen / 100).toFixed(2);
  let t0 = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    step?.(name, now - t0);
    t0 = now;
  };
  const c = await api(base, 'POST', '/api/v1/contracts', {
    title: `${label} ${Math.random().toString(36).slice(2, 10)} 技术服务合同`,
    contractNumber: label,
    type: 'service',
    subtype: 'general',
    signedOn: '2026-01-05',
    validFrom: '2026-01-05',
    validTo: '2027-12-31',
    contractAmount: amount,
    technicalAmount: amount,
    paymentMethod: 'lump_sum',
    relatedParty: false,
    planSource: 'none',
    ipType: 'none',
    technicalField: 'urban_social',
    socioEconomicObjective: 'social',
    buyers: [{ name: `买方${label}`, uscc: uscc(), nature: '150', regionCode: '630100', legalRepresentative: '丙', contactPerson: '丁', phone: '0971-7654321', address: '西宁' }],
    declaration: true,
  }, token);
  lap('create');
  await api(base, 'PATCH', `/api/v1/contracts/${c.id}`, { seller: { ...c.seller, legalRepresentative: '甲', contactPerson: '乙', phone: '0971-1234567', email: 'seller@org.test', address: '西宁' } }, token);
  lap('edit');
  const form = multipartFile('file', 'signed.pdf', 'application/pdf', await onePagePdf());
  const up = await request(`${base}/api/v1/contracts/${c.id}/attachments`, 'POST', { authorization: `Bearer ${token}`, 'content-type': form.contentType }, form.body);
  if (up.status !== 201 && up.status !== 200) throw new ApiError(up.status, up.text, 'upload');
  lap('upload');
  await api(base, 'POST', `/api/v1/contracts/${c.id}/submit`, undefined, token);
  lap('submit');
  return c.id as string;
}

export interface Stack {
  base: string;
  bases: string[];
  dir: string;
  env: Record<string, string>;
  ferret: ManagedService;
  postgres: ManagedService;
  redis: ManagedService;
  webs: ChildProcess[];
  worker: ChildProcess;
  mongoUri: string;
  adminToken(): Promise<string>;
  startWorker(extra?: Record<string, string>): ChildProcess;
  restartRedis(): Promise<void>;
  restartFerret(): Promise<void>;
  /** Stops PostgreSQL (fast shutdown: open transactions roll back) and starts it again; FerretDB stays up. */
  restartPostgres(): Promise<void>;
  stop(): Promise<void>;
}

function startNode(script: string, env: Record<string, string>, logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  // STACK_NODE_ARGS: extra flags for the registry's processes (e.g. --cpu-prof for profiling).
  const extra = (process.env.STACK_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return spawn(process.execPath, [...PROCESS_NODE_FLAGS, ...extra, path.join(root, 'dist', script)], { env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
}

/** The error lines the processes logged (pino level 50 and above), for the scripts' reports. */
export function loggedErrors(dir: string): string[] {
  const lines: string[] = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.log'))) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (/"level":(50|60)/.test(line) || /^(Error|TypeError|RangeError)/.test(line)) lines.push(`${f}: ${line.slice(0, 400)}`);
    }
  }
  return lines;
}

/** Starts the database, Redis (persistent, so queued jobs survive its restart), web processes and a worker. */
export async function startStack(opts: { webs?: number; env?: Record<string, string> } = {}): Promise<Stack> {
  if (!fs.existsSync(path.join(root, 'dist', 'src', 'server.js'))) throw new Error('build first: npm run build');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-stack-'));
  fs.chmodSync(dir, 0o755);
  const credentials = databaseCredentials(path.join(dir, 'db-credentials.json'));
  const db = await startEmbeddedDatabase({ dataDir: path.join(dir, 'db'), port: await freePort(), postgresPort: await freePort(), credentials, durable: true, logDir: dir });
  let ferret = db.ferret;
  let redis = await startRedis({ dataDir: path.join(dir, 'redis'), port: await freePort(), persistent: true });
  const mongoUri = mongoUriFor(db.ferret.socketUrl, 'stack');
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    MONGODB_URI: mongoUri,
    REDIS_URL: redis.url,
    SESSION_SECRET: 'stack-secret-'.repeat(4),
    LOG_LEVEL: 'error',
    SECURE_COOKIES: 'false',
    BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    ...opts.env,
  };
  const webs: ChildProcess[] = [];
  const bases: string[] = [];
  try {
    for (let i = 0; i < (opts.webs ?? 1); i++) {
      const port = await freePort();
      webs.push(startNode('src/server.js', { ...env, PORT: String(port) }, path.join(dir, `web-${i}.log`)));
      bases.push(`http://127.0.0.1:${port}`);
      await waitHttp(`${bases[i]}/readyz`);
    }
  } catch (err) {
    // Leave nothing running behind a failed start.
    for (const w of webs) w.kill('SIGKILL');
    await redis.stop();
    await db.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const stack: Stack = {
    base: bases[0],
    bases,
    dir,
    env,
    ferret,
    postgres: db.postgres,
    redis,
    webs,
    worker: startNode('workers/main.js', env, path.join(dir, 'worker.log')),
    mongoUri,
    async adminToken() {
      return (await api(bases[0], 'POST', '/api/v1/tokens', ADMIN)).token as string;
    },
    startWorker(extra = {}) {
      stack.worker = startNode('workers/main.js', { ...env, ...extra }, path.join(dir, 'worker.log'));
      return stack.worker;
    },
    async restartRedis() {
      await redis.stop();
      redis = await startRedis({ dataDir: path.join(dir, 'redis'), port: redis.port, persistent: true });
      stack.redis = redis;
    },
    async restartPostgres() {
      await stack.postgres.stop();
      stack.postgres = await startPostgres({ dataDir: path.join(dir, 'db'), port: stack.postgres.port, password: credentials.password, durable: true, logFile: path.join(dir, 'postgresql.log') });
    },
    async restartFerret() {
      await ferret.stop();
      ferret = await startFerretDB({ stateDir: path.join(dir, 'db', 'ferretdb'), port: ferret.port, postgresPort: db.postgres.port, postgresSocketDir: path.join(dir, 'db', 'run'), credentials });
      stack.ferret = ferret;
    },
    async stop() {
      const errors = loggedErrors(dir);
      if (errors.length) log(`\nerrors the processes logged (${errors.length}):\n${errors.slice(0, 20).join('\n')}`);
      for (const c of [stack.worker, ...webs]) c.kill('SIGTERM');
      await sleep(1000);
      for (const c of [stack.worker, ...webs]) if (c.exitCode === null) c.kill('SIGKILL');
      await redis.stop();
      await ferret.stop();
      await stack.postgres.stop();
      // STACK_KEEP=1 keeps the folder (logs) for a look afterwards.
      if (process.env.STACK_KEEP === "1") log(`kept ${dir}`);
      else fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

export const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);
