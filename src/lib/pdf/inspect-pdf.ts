/**
 * Untrusted PDFs are parsed off the event loop: in a child process (one, or two on larger
 * machines, reused from file to file) with a heap limit, a time limit per file and budgets for
 * what the file's compressed streams inflate to (see inspect-pdf.worker.ts). A decompression
 * bomb then costs that process a fraction of a second and bounded memory, and the web process
 * keeps answering.
 *
 * Processes rather than worker threads: a worker thread's heap limit is not a wall. When one
 * large allocation cannot fit (a Map rehashing past millions of entries, as pdf-lib's object
 * and name tables do on a hostile file), V8 aborts the whole process, web server included.
 * A child process that aborts takes only itself down.
 *
 * The first check starts a process; an idle one leaves after a while, and it never keeps its
 * parent alive while idle, so processes that never check a PDF never pay for one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { childEntry } from '../child/entry';
import os from 'node:os';
import path from 'node:path';
import type { InspectLimits, InspectResult, InspectTask } from './inspect-pdf.worker';

const MB = 1024 * 1024;

export const PDF_LIMITS = {
  /**
   * What all compressed streams of one file may inflate to, counted as they are inflated and
   * never held beyond a few MB: 512 MB, about 25 times the 20 MB upload limit. Scans are JPEG, JBIG2 or CCITT
   * images (not inflated here at all) or Flate images, which compress 2 to 20 times; Flate's
   * own ceiling, which bombs use, is about 1000 times.
   */
  inflatedBytes: 512 * MB,
  /**
   * Of those, what must be decoded into memory: the object and cross-reference streams the
   * parser reads (a few hundred KB even in a large contract) and the rare non-Flate streams.
   */
  heldBytes: 32 * MB,
  /** The check process's JavaScript heap (the decoded bytes above are buffers outside it). */
  heapMb: 192,
  /** Longest one check may run once a process has it (a 20 MB file takes well under a second). */
  runMs: 15_000,
  /** Longest a check may wait for a process before the upload is refused as busy (retry). */
  queueWaitMs: 30_000,
  /**
   * Checks that may wait for a process; beyond that, uploads are refused as busy at once. A
   * waiting check holds nothing but its request (whose upload is in memory either way), so
   * this is generous: bursts of honest uploads wait, and `queueWaitMs` bounds how long.
   */
  maxQueue: 100,
  /**
   * Two processes at most (one on a single core). With one on two cores, uploads queued behind
   * each other under load (upload p50 213 → 333 ms with 50 applicants filing); a check is short,
   * so two processes let one run while the other waits on its I/O, without taking both cores.
   */
  processes: Math.max(1, Math.min(2, os.availableParallelism())),
  /** An idle process leaves after this long. */
  idleMs: 60_000,
} as const;

export type PdfCheck = InspectResult | { ok: false; reason: 'memory' | 'time' };

/** No process was free in time: the upload may be tried again shortly. */
export class PdfCheckBusy extends Error {
  constructor() {
    super('the PDF check is busy');
    this.name = 'PdfCheckBusy';
  }
}

// Compiled (dist/), the compiled worker; from TypeScript sources (jest), a loader compiles it.
const worker = childEntry(path.join(__dirname, 'inspect-pdf.worker'), path.extname(__filename) === '.js');

interface Checker {
  child: ChildProcess;
  busy: boolean;
  alive: boolean;
  idle?: NodeJS.Timeout;
  /** The end of its error output, for the log when it dies unexpectedly. */
  stderr: string;
}

const checkers = new Set<Checker>();
const waiting: { take: (c: Checker) => void; fail: (err: Error) => void; timer: NodeJS.Timeout }[] = [];
let running = 0;

function start(): Checker {
  const child = fork(worker.file, worker.args, {
    execArgv: [`--max-old-space-size=${PDF_LIMITS.heapMb}`],
    // Nothing of ours (database URLs, secrets) reaches the process that reads hostile files.
    env: {},
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const c: Checker = { child, busy: true, alive: true, stderr: '' };
  child.stderr?.on('data', (d: Buffer) => (c.stderr = (c.stderr + d.toString()).slice(-2000)));
  child.on('exit', () => retire(c));
  // Failures to start or to send reach the running check (below); an idle one just retires.
  child.on('error', () => retire(c));
  checkers.add(c);
  return c;
}

function retire(c: Checker) {
  if (!c.alive) return;
  c.alive = false;
  checkers.delete(c);
  clearTimeout(c.idle);
  if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
}

/** An idle process must not keep the parent alive (a script, a test run); a busy one must. */
function hold(c: Checker, on: boolean) {
  for (const h of [c.child, c.child.channel, c.child.stderr] as ({ ref?(): void; unref?(): void } | null | undefined)[]) {
    if (on) h?.ref?.();
    else h?.unref?.();
  }
}

function acquire(): Promise<Checker> {
  for (const c of checkers) {
    if (!c.busy && c.alive) {
      c.busy = true;
      clearTimeout(c.idle);
      return Promise.resolve(c);
    }
  }
  if (checkers.size < PDF_LIMITS.processes) return Promise.resolve(start());
  if (waiting.length >= PDF_LIMITS.maxQueue) return Promise.reject(new PdfCheckBusy());
  return new Promise((resolve, reject) => {
    const entry = {
      take: (c: Checker) => {
        clearTimeout(entry.timer);
        resolve(c);
      },
      fail: (err: Error) => {
        clearTimeout(entry.timer);
        reject(err);
      },
      timer: setTimeout(() => {
        waiting.splice(waiting.indexOf(entry), 1);
        reject(new PdfCheckBusy());
      }, PDF_LIMITS.queueWaitMs),
    };
    waiting.push(entry);
  });
}

function release(c: Checker) {
  const next = waiting.shift();
  if (next) return next.take(c.alive ? c : start());
  if (!c.alive) return;
  c.busy = false;
  hold(c, false);
  c.idle = setTimeout(() => retire(c), PDF_LIMITS.idleMs);
  c.idle.unref();
}

type Answer = InspectResult | { ok: false; reason: 'error'; message: string };

function run(c: Checker, task: InspectTask, runMs: number): Promise<PdfCheck> {
  const { child } = c;
  return new Promise<PdfCheck>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
      fn();
    };
    const onMessage = (answer: Answer) =>
      settle(() => (!answer.ok && answer.reason === 'error' ? reject(new Error(`PDF check failed: ${answer.message}`)) : resolve(answer as PdfCheck)));
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      settle(() => {
        // V8 aborts a process that runs out of heap: the file needed more than the limit.
        if (signal === 'SIGABRT' || code === 134) resolve({ ok: false, reason: 'memory' });
        else reject(new Error(`PDF check process ended (${signal ?? code}): ${c.stderr.trim().slice(-500)}`));
      });
    // The process could not start or be reached: our fault, not the file's.
    const onError = (err: Error) => settle(() => (retire(c), reject(err)));
    const timer = setTimeout(() => settle(() => (retire(c), resolve({ ok: false, reason: 'time' }))), runMs);
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.on('error', onError);
    hold(c, true);
    child.send(task, (err) => err && onError(err));
  });
}

/**
 * Parses `bytes` as a PDF in a check process: its page count, or why it was refused
 * (`unreadable`; `held`, `inflated`, `filters`, `memory` or `time` for a file too costly to
 * parse).
 * Throws PdfCheckBusy when no process was free in time.
 */
export async function checkPdf(bytes: Uint8Array, limits: Partial<InspectLimits & { runMs: number }> = {}): Promise<PdfCheck> {
  const { heldBytes = PDF_LIMITS.heldBytes, inflatedBytes = PDF_LIMITS.inflatedBytes, runMs = PDF_LIMITS.runMs } = limits;
  const c = await acquire();
  running++;
  try {
    // The bytes are copied to the process when it takes the file (not while waiting).
    return await run(c, { bytes, limits: { heldBytes, inflatedBytes } }, runMs);
  } finally {
    running--;
    release(c);
  }
}

/** How many checks are running in check processes right now. */
export const pdfChecksRunning = () => running;

/** Ends the check processes (at shutdown, and after tests; a later check starts one again). */
export async function closePdfChecks(): Promise<void> {
  for (const w of waiting.splice(0)) w.fail(new PdfCheckBusy());
  const exits = [...checkers].map((c) => new Promise((resolve) => (c.child.exitCode !== null || c.child.signalCode !== null ? resolve(null) : c.child.once('exit', resolve))));
  for (const c of [...checkers]) retire(c);
  await Promise.all(exits);
}
