/**
 * Keeps one child process running for `npm start`: a process that crashes is started again
 * after a back-off that doubles with each consecutive crash (1 s, 2 s, 4 s … up to 30 s by
 * default), so a crash takes down one process for a moment instead of the whole registry.
 *
 * It gives up, rather than loop for ever, when the crashes come too often (`maxCrashes` within
 * `windowMs`: something is wrong that a restart will not fix) or when the process exits with
 * a code meaning the same (`fatalExitCodes`, e.g. 2 for an invalid configuration). A run that
 * lasted `resetAfterMs` starts the back-off from the beginning again.
 *
 * Events: 'spawn' (child), 'crash' (CrashReport), 'give-up' (reason). No I/O but the child.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';

export interface SupervisorOptions {
  /** Used in log lines: "web exited (code 1); restarting in 2 s". */
  name: string;
  command: string;
  args?: string[];
  spawnOptions?: SpawnOptions;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Give up when this many crashes happen within `windowMs`. */
  maxCrashes?: number;
  windowMs?: number;
  /** A run at least this long counts as healthy: the next crash starts the back-off again. */
  resetAfterMs?: number;
  /** Exit codes after which a restart cannot help. */
  fatalExitCodes?: number[];
  /** How long a stopping child gets between SIGTERM and SIGKILL. */
  killAfterMs?: number;
  log?: (message: string) => void;
}

export interface CrashReport {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** How long the run lasted. */
  ranMs: number;
  /** Crashes within the window, this one included. */
  recentCrashes: number;
  /** When the process will be started again; null when the supervisor gives up. */
  restartInMs: number | null;
}

export type SupervisorState = 'idle' | 'running' | 'backing-off' | 'stopping' | 'stopped' | 'gave-up';

export const SUPERVISOR_DEFAULTS = {
  initialBackoffMs: 1_000,
  maxBackoffMs: 30_000,
  maxCrashes: 5,
  windowMs: 10 * 60_000,
  resetAfterMs: 60_000,
  killAfterMs: 25_000,
} as const;

/** "250 ms", "4 s", "10 min": for log lines. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

export class Supervisor extends EventEmitter {
  private readonly o: Required<Omit<SupervisorOptions, 'args' | 'spawnOptions' | 'fatalExitCodes'>> & Pick<SupervisorOptions, 'spawnOptions'> & { args: string[]; fatalExitCodes: number[] };
  private current: ChildProcess | null = null;
  private startedAt = 0;
  /** Times of the crashes still inside the window: never more than `maxCrashes` of them. */
  private recent: number[] = [];
  /** Crashes since the last healthy run: sets the back-off. */
  private consecutive = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  private _state: SupervisorState = 'idle';

  constructor(options: SupervisorOptions) {
    super();
    this.o = {
      ...SUPERVISOR_DEFAULTS,
      log: () => undefined,
      ...options,
      args: options.args ?? [],
      fatalExitCodes: options.fatalExitCodes ?? [],
    };
  }

  get state(): SupervisorState {
    return this._state;
  }

  /** The running child, if any (null while backing off or stopped). */
  get child(): ChildProcess | null {
    return this.current;
  }

  start(): void {
    if (this._state !== 'idle') throw new Error(`${this.o.name}: already started`);
    this.launch();
  }

  private launch(): void {
    this.restartTimer = null;
    const child = spawn(this.o.command, this.o.args, this.o.spawnOptions ?? {});
    this.current = child;
    this.startedAt = Date.now();
    this._state = 'running';
    // A command that cannot be started at all (ENOENT, EACCES) emits 'error' and no 'exit'.
    child.once('error', (err) => {
      if (child.exitCode === null && child.signalCode === null && child.pid === undefined) this.exited(child, null, null, err.message);
    });
    child.once('exit', (code, signal) => this.exited(child, code, signal));
    this.emit('spawn', child);
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, failure?: string): void {
    if (child !== this.current) return;
    this.current = null;
    if (this.stopping) return; // asked for: not a crash
    const now = Date.now();
    const ranMs = now - this.startedAt;
    if (ranMs >= this.o.resetAfterMs) this.consecutive = 0;
    this.consecutive++;
    this.recent = this.recent.filter((at) => now - at < this.o.windowMs);
    this.recent.push(now);
    const how = failure ? `could not start (${failure})` : `exited (${code !== null ? `code ${code}` : `signal ${signal}`})`;

    let reason: string | null = null;
    if (code !== null && this.o.fatalExitCodes.includes(code)) reason = `${this.o.name} exited with code ${code}, which a restart cannot fix`;
    else if (this.recent.length >= this.o.maxCrashes) reason = `${this.o.name} crashed ${this.recent.length} times within ${formatDuration(this.o.windowMs)}`;

    const restartInMs = reason ? null : Math.min(this.o.maxBackoffMs, this.o.initialBackoffMs * 2 ** (this.consecutive - 1));
    const report: CrashReport = { code, signal, ranMs, recentCrashes: this.recent.length, restartInMs };
    if (restartInMs === null) {
      this._state = 'gave-up';
      this.o.log(`${this.o.name} ${how}`);
      this.emit('crash', report);
      this.emit('give-up', reason);
      return;
    }
    this._state = 'backing-off';
    this.o.log(
      `${this.o.name} ${how}; restarting in ${formatDuration(restartInMs)} ` +
        `(crash ${this.recent.length} of ${this.o.maxCrashes} allowed within ${formatDuration(this.o.windowMs)})`,
    );
    this.restartTimer = setTimeout(() => {
      this.o.log(`${this.o.name} restarting`);
      this.launch();
    }, restartInMs);
    this.emit('crash', report);
  }

  /**
   * Stops for good: no more restarts (a pending one is cancelled), SIGTERM to the child, and
   * SIGKILL if it has not exited after `killAfterMs`. Resolves once it has exited.
   */
  stop(): Promise<void> {
    if (!this.stopping) this.stopping = this.stopChild();
    return this.stopping;
  }

  private async stopChild(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.current;
    const gaveUp = this._state === 'gave-up';
    this._state = 'stopping';
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.o.log(`${this.o.name} did not stop within ${formatDuration(this.o.killAfterMs)}; killing it`);
          child.kill('SIGKILL');
        }, this.o.killAfterMs);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    this.current = null;
    this._state = gaveUp ? 'gave-up' : 'stopped';
  }
}
