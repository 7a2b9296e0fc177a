/**
 * Starts the embedded services the registry runs on when no external ones are configured:
 * Redis here, and the process helpers that embedded-database.ts (PostgreSQL + DocumentDB +
 * FerretDB v2) uses too; everything listens on loopback only. Used by the local run command, the benchmark,
 * load and fault scripts, and the test suite's global setup.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { projectRoot } from '../src/lib/paths';

export { projectRoot };

export interface ManagedService {
  name: string;
  port: number;
  url: string;
  child: ChildProcess;
  /** Stops the process (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export async function waitUntilListening(child: ChildProcess, name: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before listening on port ${port}`);
    }
    if (await portOpen(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

export function stopper(child: ChildProcess, graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(signal);
    });
}

export function logStream(logFile: string | undefined): 'ignore' | number {
  if (!logFile) return 'ignore';
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  return fs.openSync(logFile, 'a');
}

export interface RedisOptions {
  dataDir: string;
  port: number;
  /** The app's own instance keeps an append-only file; throwaway test instances do not. */
  persistent: boolean;
  logFile?: string;
}

export async function startRedis(opts: RedisOptions): Promise<ManagedService> {
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const out = logStream(opts.logFile);
  const args = [
    '--bind', '127.0.0.1',
    '--port', String(opts.port),
    '--dir', opts.dataDir,
    '--maxmemory-policy', 'noeviction',
    '--protected-mode', 'yes',
    '--daemonize', 'no',
    '--appendonly', opts.persistent ? 'yes' : 'no',
  ];
  if (!opts.persistent) args.push('--save', '');
  const child = spawn('redis-server', args, { stdio: ['ignore', out, out] });
  await waitUntilListening(child, 'Redis', opts.port, 15_000);
  return {
    name: 'redis',
    port: opts.port,
    url: `redis://127.0.0.1:${opts.port}`,
    child,
    stop: stopper(child),
  };
}

/** Adds the connection options FerretDB needs to a MongoDB URI and sets the database name. */
export function mongoUriFor(base: string, dbName: string): string {
  const u = new URL(base);
  u.pathname = '/' + dbName;
  if (!u.searchParams.has('retryWrites')) u.searchParams.set('retryWrites', 'false');
  return u.toString();
}
