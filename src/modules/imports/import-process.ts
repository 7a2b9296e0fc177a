/**
 * An import runs in a process of its own, with a heap limit, never in the worker itself: the
 * worker's other queues keep their event loop and their memory whatever the file (a hostile
 * one included), and the import's memory has a wall. An import makes garbage steadily (rows,
 * documents, query answers); a process whose heap may grow to gigabytes lets it pile up for a
 * long while before collecting it, a capped one collects as it goes. A process, not a worker
 * thread: one allocation past a thread's limit aborts the whole process (see src/lib/pdf).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { childEntry } from '../../lib/child/entry';
import path from 'node:path';
import type { ImportAnswer, ImportTask } from './import.child';
import type { RunResult } from './import-run';

export const IMPORT_PROCESS = {
  /** The import process's JavaScript heap (the shared strings and file chunks are buffers outside it). */
  heapMb: 96,
  /** Its young generation's halves: an import's garbage is short-lived rows and documents, collected as it goes. */
  semiSpaceMb: 4,
} as const;

// Compiled (dist/), the compiled child; from TypeScript sources (jest), a loader compiles it.
const entry = childEntry(path.join(__dirname, 'import.child'), path.extname(__filename) === '.js');

const running = new Set<ChildProcess>();

/** Asks every running import to stop after its current batch (the worker is shutting down). */
export function stopRunningImports(): void {
  for (const child of running) if (child.connected) child.send('stop');
}

/** Runs the import in its process; resolves with how it ended, rejects if the process failed. */
export function runImportInProcess(task: ImportTask): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = fork(entry.file, entry.args, {
      execArgv: [`--max-old-space-size=${IMPORT_PROCESS.heapMb}`, `--max-semi-space-size=${IMPORT_PROCESS.semiSpaceMb}`],
      // What it needs comes in the task; nothing else of the worker's environment.
      env: { NODE_ENV: process.env.NODE_ENV ?? 'production' },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    running.add(child);
    let stderr = '';
    let answer: ImportAnswer | null = null;
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('message', (m: ImportAnswer) => (answer = m));
    child.once('error', (err) => {
      running.delete(child);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      running.delete(child);
      const a = answer as ImportAnswer | null;
      if (a?.ok) return resolve(a.result);
      if (a) return reject(new Error(`import ${task.importId}: ${a.message}`));
      // V8 aborts a process that runs out of heap.
      reject(new Error(`import ${task.importId}: its process ended (${signal ?? code})${signal === 'SIGABRT' || code === 134 ? ', out of memory' : ''}: ${stderr.trim().slice(-500)}`));
    });
    child.send(task);
  });
}
