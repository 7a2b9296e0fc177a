/** The supervisor behind `npm start`: restarts a crashed process with a growing back-off, within limits. */
import type { ChildProcess } from 'node:child_process';
import { Supervisor, type CrashReport, type SupervisorOptions } from '../../scripts/supervisor';

/** A supervisor of `node -e <code>` with small delays, recording what it does. */
function supervise(code: string, opts: Partial<SupervisorOptions> = {}) {
  const log: string[] = [];
  const spawns: ChildProcess[] = [];
  const crashes: CrashReport[] = [];
  const sup = new Supervisor({
    name: 'child',
    command: process.execPath,
    args: ['-e', code],
    spawnOptions: { stdio: ['ignore', 'pipe', 'ignore'] },
    initialBackoffMs: 10,
    maxBackoffMs: 40,
    maxCrashes: 5,
    windowMs: 60_000,
    resetAfterMs: 60_000,
    log: (m) => log.push(m),
    ...opts,
  });
  sup.on('spawn', (child: ChildProcess) => spawns.push(child));
  sup.on('crash', (c: CrashReport) => crashes.push(c));
  const gaveUp = new Promise<string>((resolve) => sup.once('give-up', resolve));
  return { sup, log, spawns, crashes, gaveUp };
}

afterEach(() => jest.restoreAllMocks());

it('restarts a crashing process with a doubling back-off, capped, and gives up after the limit', async () => {
  const s = supervise('process.exit(3)');
  s.sup.start();
  const reason = await s.gaveUp;
  expect(s.spawns).toHaveLength(5);
  expect(s.crashes.map((c) => c.code)).toEqual([3, 3, 3, 3, 3]);
  // 10, 20, 40 (the cap), 40; the fifth crash within the window ends it.
  expect(s.crashes.map((c) => c.restartInMs)).toEqual([10, 20, 40, 40, null]);
  expect(reason).toMatch(/child crashed 5 times within 60 s/);
  expect(s.sup.state).toBe('gave-up');
  expect(s.log.join('\n')).toMatch(/child exited \(code 3\); restarting in 10 ms \(crash 1 of 5/);
});

it('starts the back-off again after a run that lasted long enough', async () => {
  // Each run lasts at least 300 ms, longer than `resetAfterMs`: every crash is a "first" one.
  const s = supervise('setTimeout(() => process.exit(1), 300)', { resetAfterMs: 100, maxCrashes: 3 });
  s.sup.start();
  await s.gaveUp;
  expect(s.crashes.map((c) => c.restartInMs)).toEqual([10, 10, null]);
});

it('forgets crashes older than the window', async () => {
  // Restarts are at least 10 ms apart, so with a 1 ms window no two crashes are ever counted together.
  const s = supervise('process.exit(4)', { maxCrashes: 2, windowMs: 1 });
  let resolveFour: () => void;
  const four = new Promise<void>((r) => (resolveFour = r));
  s.sup.on('spawn', () => s.spawns.length === 4 && resolveFour());
  s.sup.start();
  await four;
  await s.sup.stop();
  expect(s.sup.state).toBe('stopped');
  expect(s.crashes.every((c) => c.restartInMs !== null)).toBe(true);
});

it('gives up at once on an exit code that says restarting cannot help', async () => {
  const s = supervise('process.exit(2)', { fatalExitCodes: [2] });
  s.sup.start();
  expect(await s.gaveUp).toMatch(/exited with code 2/);
  expect(s.spawns).toHaveLength(1);
});

it('stops a running process with SIGTERM and does not restart it', async () => {
  const s = supervise('setInterval(() => {}, 1000); console.log("up")');
  s.sup.start();
  await new Promise((r) => s.spawns[0].stdout!.once('data', r));
  await s.sup.stop();
  expect(s.spawns[0].signalCode).toBe('SIGTERM');
  expect(s.spawns).toHaveLength(1);
  expect(s.crashes).toHaveLength(0);
  expect(s.sup.state).toBe('stopped');
});

it('cancels a pending restart when stopped during the back-off', async () => {
  const s = supervise('process.exit(1)', { initialBackoffMs: 60_000, maxBackoffMs: 60_000 });
  const crashed = new Promise((r) => s.sup.once('crash', r));
  s.sup.start();
  await crashed;
  await s.sup.stop(); // must not wait for, or run, the restart a minute away
  expect(s.spawns).toHaveLength(1);
  expect(s.sup.state).toBe('stopped');
});

it('kills a process that ignores SIGTERM once the grace period is over', async () => {
  const s = supervise('process.on("SIGTERM", () => {}); setInterval(() => {}, 1000); console.log("up")', { killAfterMs: 200 });
  s.sup.start();
  await new Promise((r) => s.spawns[0].stdout!.once('data', r));
  await s.sup.stop();
  expect(s.spawns[0].signalCode).toBe('SIGKILL');
  expect(s.crashes).toHaveLength(0);
});
