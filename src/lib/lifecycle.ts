/**
 * Registered clean-up tasks, run once in reverse order of registration on shutdown:
 * the HTTP server stops first, the connections it used close last.
 */
import type { Logger } from './logger';

type Task = { name: string; run: () => Promise<unknown> | unknown };

export class Lifecycle {
  private tasks: Task[] = [];
  private stopping: Promise<void> | null = null;

  constructor(private readonly logger: Logger) {}

  onStop(name: string, run: Task['run']): void {
    this.tasks.push({ name, run });
  }

  stop(reason: string, timeoutMs = 20_000): Promise<void> {
    if (!this.stopping) this.stopping = this.runAll(reason, timeoutMs);
    return this.stopping;
  }

  /** Stops on SIGTERM and SIGINT, then exits. */
  exitOnSignals(): void {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        void this.stop(sig).then(
          () => process.exit(0),
          () => process.exit(1),
        );
      });
    }
  }

  private async runAll(reason: string, timeoutMs: number): Promise<void> {
    this.logger.info({ reason }, 'shutting down');
    const deadline = setTimeout(() => {
      this.logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, timeoutMs);
    deadline.unref();
    for (const task of [...this.tasks].reverse()) {
      try {
        await task.run();
      } catch (err) {
        this.logger.warn({ err, task: task.name }, 'clean-up task failed');
      }
    }
    clearTimeout(deadline);
  }
}
