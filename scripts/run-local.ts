/**
 * Command one, after the build: starts the embedded database (PostgreSQL + DocumentDB +
 * FerretDB v2, data in data/database) and Redis (unless MONGODB_URI
 * or REDIS_URL point elsewhere), then the web app and the workers, and prints where to sign
 * in. Ctrl-C stops everything it started, in order; the data in ./data/ stays.
 *
 * A web or worker process that crashes is started again after a growing pause (1 s, 2 s, 4 s
 * … 30 s); after 5 crashes within 10 minutes, or an invalid configuration (exit code 2),
 * everything stops with a message saying so (see supervisor.ts).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../src/config';
import { databaseCredentials, startEmbeddedDatabase } from './embedded-database';
import { exposureWarnings, publicUrlWarnings } from './exposure';
import { mongoUriFor, projectRoot, startRedis, type ManagedService } from './local-services';
import { migrateFromFerretV1, hasFerretV1Data } from './migrate-v1';
import { formatDuration, Supervisor, SUPERVISOR_DEFAULTS } from './supervisor';
import { PROCESS_NODE_FLAGS } from './process-flags';

const root = projectRoot();
const dataDir = path.join(root, 'data');
const say = (msg: string) => process.stdout.write(`[registry] ${msg}\n`);

/** A session secret generated once and kept with the data, so sign-ins survive restarts. */
function sessionSecret(): string {
  const file = path.join(dataDir, 'session-secret');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return fs.readFileSync(file, 'utf8').trim();
}

/** Polls until the web app answers; a crash meanwhile is the supervisor's to handle, giving up is fatal. */
async function waitForReady(url: string, web: Supervisor, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (web.state === 'gave-up' || web.state === 'stopped' || web.state === 'stopping') throw new Error('the web process could not be started');
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the web app did not become ready at ${url}`);
}

async function main(): Promise<void> {
  const services: ManagedService[] = [];
  const supervised: Supervisor[] = [];
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    // Web and workers first (they finish in-flight work; no more restarts), then the services they use.
    await Promise.all(supervised.map((s) => s.stop()));
    for (const s of services.reverse()) await s.stop();
    say('stopped');
    process.exit(code);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void stopAll(0));

  try {
    const env: NodeJS.ProcessEnv = { ...process.env };
    env.NODE_ENV ??= 'development';
    env.PORT ??= '3000';
    env.SESSION_SECRET ??= sessionSecret();

    if (!env.MONGODB_URI) {
      const port = Number(env.LOCAL_MONGO_PORT ?? 27117);
      const postgresPort = Number(env.LOCAL_POSTGRES_PORT ?? 54317);
      say(`starting PostgreSQL on 127.0.0.1:${postgresPort} and FerretDB on 127.0.0.1:${port} (data in data/database)`);
      // Generated on first start, kept in data/ (mode 0600), never printed.
      const credentials = databaseCredentials(path.join(dataDir, 'database-credentials.json'));
      const db = await startEmbeddedDatabase({
        dataDir: path.join(dataDir, 'database'),
        port,
        postgresPort,
        credentials,
        durable: true,
        logDir: path.join(dataDir, 'logs'),
      });
      services.push({ ...db.ferret, name: 'database', stop: () => db.stop() });
      // Through FerretDB's Unix socket (private folder; authentication still required).
      env.MONGODB_URI = mongoUriFor(db.ferret.socketUrl, 'registry');
      if (hasFerretV1Data(dataDir)) await migrateFromFerretV1({ dataDir, targetUri: env.MONGODB_URI, say });
    } else {
      say('using MONGODB_URI');
    }
    if (!env.REDIS_URL) {
      const port = Number(env.LOCAL_REDIS_PORT ?? 6479);
      say(`starting Redis on 127.0.0.1:${port} (data in data/redis)`);
      const redis = await startRedis({ dataDir: path.join(dataDir, 'redis'), port, persistent: true, logFile: path.join(dataDir, 'logs', 'redis.log') });
      services.push(redis);
      env.REDIS_URL = redis.url;
    } else {
      say('using REDIS_URL');
    }

    // The settings as the app will read them: a mistake stops here, before anything is started.
    let config;
    try {
      config = loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) throw new Error(err.message);
      throw err;
    }

    const start = (name: string, script: string) => {
      const supervisor = new Supervisor({
        name,
        command: process.execPath,
        args: [...PROCESS_NODE_FLAGS, path.join(root, 'dist', script)],
        spawnOptions: { env, stdio: ['ignore', 'inherit', 'inherit'] },
        // The entry points exit with 2 on an invalid configuration: restarting cannot fix that.
        fatalExitCodes: [2],
        log: say,
      });
      supervisor.on('give-up', (reason: string) => {
        if (stopping) return;
        say(`${reason}: giving up and stopping everything (the messages above say why)`);
        void stopAll(1);
      });
      supervised.push(supervisor);
      supervisor.start();
      return supervisor;
    };
    const web = start('web', 'src/server.js');
    start('workers', 'workers/main.js');
    const { initialBackoffMs, maxBackoffMs, maxCrashes, windowMs } = SUPERVISOR_DEFAULTS;
    say(
      `web and workers are restarted after a crash (after ${formatDuration(initialBackoffMs)}, doubling up to ${formatDuration(maxBackoffMs)}; ` +
        `stopping after ${maxCrashes} crashes within ${formatDuration(windowMs)})`,
    );

    const base = `http://localhost:${env.PORT}`;
    await waitForReady(`http://127.0.0.1:${env.PORT}/readyz`, web, 120_000);
    say(`ready: ${base}/`);
    say(`sign in at ${base}/login as ${env.BOOTSTRAP_ADMIN_EMAIL ?? 'admin@registry.local'}` +
      (env.BOOTSTRAP_ADMIN_PASSWORD ? ' (password from BOOTSTRAP_ADMIN_PASSWORD)' : ' (password printed above on first start)'));
    for (const warning of [...exposureWarnings(config), ...publicUrlWarnings(config, env)]) say(warning);
    say('press Ctrl-C to stop');
  } catch (err) {
    if (stopping) return; // Ctrl-C during start-up, or a supervisor gave up: stopAll is under way
    say(`start-up failed: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll(1);
  }
}

void main();
