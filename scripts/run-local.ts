/**
 * Command one, after the build: starts the embedded database (PostgreSQL + DocumentDB +
 * FerretDB v2, data in data/database) and Redis (unless MONGODB_URI
 * or REDIS_URL point elsewhere), then the web app and the workers, and prints where to sign
 * in. Ctrl-C stops everything it started, in order; the data in ./data/ stays.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { databaseCredentials, startEmbeddedDatabase } from './embedded-database';
import { mongoUriFor, projectRoot, startRedis, type ManagedService } from './local-services';
import { migrateFromFerretV1, hasFerretV1Data } from './migrate-v1';

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

async function waitForReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error('the web process exited during start-up');
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
  const children: ChildProcess[] = [];
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    // Web and workers first (they finish in-flight work), then the services they use.
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const timer = setTimeout(() => c.kill('SIGKILL'), 25_000);
            c.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
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

    const start = (name: string, script: string) => {
      const child = spawn(process.execPath, [path.join(root, 'dist', script)], { env, stdio: ['ignore', 'inherit', 'inherit'] });
      child.once('exit', (code, signal) => {
        if (!stopping) {
          say(`${name} exited (${code ?? signal}); stopping everything`);
          void stopAll(1);
        }
      });
      children.push(child);
      return child;
    };
    const web = start('web', 'src/server.js');
    start('workers', 'workers/main.js');

    const base = `http://localhost:${env.PORT}`;
    await waitForReady(`http://127.0.0.1:${env.PORT}/readyz`, web, 60_000);
    say(`ready: ${base}/`);
    say(`sign in at ${base}/login as ${env.BOOTSTRAP_ADMIN_EMAIL ?? 'admin@registry.local'}` +
      (env.BOOTSTRAP_ADMIN_PASSWORD ? ' (password from BOOTSTRAP_ADMIN_PASSWORD)' : ' (password printed above on first start)'));
    say('press Ctrl-C to stop');
  } catch (err) {
    say(`start-up failed: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll(1);
  }
}

void main();
