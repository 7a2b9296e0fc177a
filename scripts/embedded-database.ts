/**
 * The embedded MongoDB-protocol database: PostgreSQL 15 with the DocumentDB extension, and
 * FerretDB v2 in front of it. Unlike FerretDB v1 it is atomic per document (conditional
 * `findOneAndUpdate` and `$inc` are safe under races) and serves queries from indexes.
 *
 * Layout of `dataDir`: `pg/` the cluster, `run/` its Unix socket (a private folder: local
 * connections are trusted, so only the cluster's own user may reach it), `ferretdb/` FerretDB's
 * state. PostgreSQL listens on 127.0.0.1 only and refuses to run as root, so when this runs
 * as root the cluster belongs to, and runs as, the unprivileged `postgres` user.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { logStream, projectRoot, stopper, waitUntilListening, type ManagedService } from './local-services';

export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
/** The PostgreSQL role FerretDB connects as, and the app's user when authentication is on. */
export const DB_USER = 'registry';

export function ferretdbBinary(): string {
  return process.env.FERRETDB_BIN ?? path.join(projectRoot(), '.tools', 'bin', 'ferretdb');
}

export interface DatabaseCredentials {
  user: string;
  password: string;
}

/** The app instance's credentials: generated on first start, kept in `file` (mode 0600), never printed. */
export function databaseCredentials(file: string): DatabaseCredentials {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fresh: DatabaseCredentials = { user: DB_USER, password: randomBytes(24).toString('base64url') };
    fs.writeFileSync(file, JSON.stringify(fresh) + '\n', { mode: 0o600, flag: 'wx' });
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as DatabaseCredentials;
}

interface OsUser {
  uid?: number;
  gid?: number;
}

/** Root runs the cluster as `postgres`; anyone else runs it as themselves. */
function clusterUser(): OsUser {
  if (process.getuid?.() !== 0) return {};
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root, PostgreSQL needs an unprivileged user: the "postgres" user is missing (install postgresql-15)');
  }
}

function ownDir(dir: string, user: OsUser): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  if (user.uid !== undefined) fs.chownSync(dir, user.uid, user.gid!);
}

export interface PostgresOptions {
  dataDir: string;
  port: number;
  /** Password of the `registry` role for TCP connections; null for a throw-away cluster that trusts loopback. */
  password: string | null;
  /** Throw-away clusters skip fsync: a crash may lose them, which is all right for tests. */
  durable: boolean;
  logFile?: string;
}

/** Starts (creating on first use) the PostgreSQL cluster with DocumentDB loaded. */
export async function startPostgres(opts: PostgresOptions): Promise<ManagedService> {
  const user = clusterUser();
  const pgDir = path.join(opts.dataDir, 'pg');
  const runDir = path.join(opts.dataDir, 'run');
  // A Unix socket path is limited to 107 bytes.
  if (Buffer.byteLength(path.join(runDir, `.s.PGSQL.${opts.port}.lock`)) > 100) {
    throw new Error(`the database folder ${opts.dataDir} is too deep for PostgreSQL's socket: move the project to a shorter path`);
  }
  fs.mkdirSync(opts.dataDir, { recursive: true });
  if (user.uid !== undefined) {
    try {
      execFileSync('test', ['-x', opts.dataDir], { ...user, stdio: 'ignore' });
    } catch {
      throw new Error(`the postgres user cannot reach ${opts.dataDir}: every folder above it must be searchable by others (chmod o+x)`);
    }
  }
  ownDir(runDir, user);
  const fresh = !fs.existsSync(path.join(pgDir, 'PG_VERSION'));
  if (fresh) initCluster(pgDir, runDir, opts.password, user);
  writeSettings(pgDir, opts.durable);

  const out = logStream(opts.logFile);
  const child = spawn(
    path.join(PG_BIN, 'postgres'),
    ['-D', pgDir, '-p', String(opts.port), '-k', runDir, '-c', 'listen_addresses=127.0.0.1',
      // DocumentDB connects back to its own server for some commands (explain, index builds).
      '-c', `documentdb.localhost_connection_string=host=${runDir}`],
    { stdio: ['ignore', out, out], ...user, env: { ...process.env, LC_ALL: 'C.UTF-8' } },
  );
  await waitUntilListening(child, 'PostgreSQL', opts.port, 60_000);
  await untilAcceptingConnections(runDir, opts.port, user);
  psql(runDir, opts.port, user, 'CREATE EXTENSION IF NOT EXISTS documentdb CASCADE');
  return {
    name: 'postgresql',
    port: opts.port,
    url: `postgres://${DB_USER}@127.0.0.1:${opts.port}/postgres`,
    child,
    // SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to disconnect.
    stop: stopper(child, 30_000, 'SIGINT'),
  };
}

function initCluster(pgDir: string, runDir: string, password: string | null, user: OsUser): void {
  fs.rmSync(pgDir, { recursive: true, force: true });
  ownDir(pgDir, user);
  const args = ['-D', pgDir, '-U', DB_USER, '-E', 'UTF8', '--locale=C.UTF-8', '--auth-local=trust'];
  let pwFile: string | null = null;
  if (password === null) {
    args.push('--auth-host=trust');
  } else {
    pwFile = path.join(runDir, 'initdb-password');
    fs.writeFileSync(pwFile, password + '\n', { mode: 0o600 });
    if (user.uid !== undefined) fs.chownSync(pwFile, user.uid, user.gid!);
    args.push('--auth-host=scram-sha-256', `--pwfile=${pwFile}`);
  }
  try {
    execFileSync(path.join(PG_BIN, 'initdb'), args, { stdio: 'pipe', ...user, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  } catch (err) {
    const e = err as { stderr?: Buffer };
    throw new Error(`initdb failed: ${e.stderr?.toString().trim() ?? String(err)}`);
  } finally {
    if (pwFile) fs.rmSync(pwFile, { force: true });
  }
  // Only loopback TCP (with a password unless throw-away) and the private socket.
  const hba = [
    'local all all trust',
    `host all all 127.0.0.1/32 ${password === null ? 'trust' : 'scram-sha-256'}`,
  ].join('\n');
  fs.writeFileSync(path.join(pgDir, 'pg_hba.conf'), hba + '\n');
  fs.appendFileSync(path.join(pgDir, 'postgresql.conf'), "\ninclude_if_exists = 'registry.conf'\n");
}

/** Settings are rewritten at every start, so a newer version of this file applies to old clusters. */
function writeSettings(pgDir: string, durable: boolean): void {
  const settings: Record<string, string | number | boolean> = {
    shared_preload_libraries: 'pg_cron,pg_documentdb_core,pg_documentdb',
    'cron.database_name': 'postgres',
    // DocumentDB schedules pg_cron jobs every few seconds: keep them out of the log and of
    // cron.job_run_details, which nothing reads and nothing purges.
    'cron.log_run': false,
    'cron.log_statement': false,
    // What FerretDB's own PostgreSQL image sets for DocumentDB.
    'documentdb.enableSchemaValidation': true,
    'documentdb.enableBypassDocumentValidation': true,
    'documentdb.enableUserCrud': true,
    'documentdb.maxUserLimit': 100,
    unix_socket_permissions: '0700',
    // Short queries: compiling them with LLVM costs more CPU than it saves.
    jit: false,
    max_connections: 200,
    shared_buffers: '256MB',
    timezone: 'UTC',
    log_timezone: 'UTC',
    ...(durable ? {} : { fsync: false, synchronous_commit: false, full_page_writes: false }),
  };
  const text = Object.entries(settings)
    .map(([k, v]) => `${k} = ${typeof v === 'string' ? `'${v}'` : typeof v === 'boolean' ? (v ? 'on' : 'off') : v}`)
    .join('\n');
  fs.writeFileSync(path.join(pgDir, 'registry.conf'), '# Written by scripts/embedded-database.ts at every start.\n' + text + '\n');
}

function psql(runDir: string, port: number, user: OsUser, sql: string): string {
  return execFileSync(path.join(PG_BIN, 'psql'), ['-h', runDir, '-p', String(port), '-U', DB_USER, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], {
    stdio: 'pipe',
    ...user,
  }).toString();
}

async function untilAcceptingConnections(runDir: string, port: number, user: OsUser): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      psql(runDir, port, user, 'SELECT 1');
      return;
    } catch (err) {
      // "the database system is starting up" while it replays its log after a crash.
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export interface FerretOptions {
  stateDir: string;
  port: number;
  postgresPort: number;
  /** PostgreSQL's socket folder (`<dataDir>/run`): FerretDB connects through it rather than TCP. */
  postgresSocketDir: string;
  /** With credentials FerretDB requires authentication; null runs it without (throw-away test instances only). */
  credentials: DatabaseCredentials | null;
  logFile?: string;
  /** A loopback port for FerretDB's metrics (`/debug/metrics`), for the load script; off by default. */
  debugPort?: number;
}

export async function startFerretDB(opts: FerretOptions): Promise<ManagedService & { socketUrl: string }> {
  const bin = ferretdbBinary();
  if (!fs.existsSync(bin)) throw new Error(`FerretDB binary missing at ${bin}: run scripts/ensure-deps.sh`);
  // Private: FerretDB's Unix socket lives here (clients must still authenticate).
  fs.mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(opts.stateDir, 0o700);
  const socket = path.join(opts.stateDir, 'ferretdb.sock');
  fs.rmSync(socket, { force: true });
  // Through PostgreSQL's private socket (local connections are trusted there, and only the
  // cluster's user and root reach it): no password to pass, and cheaper than TCP per query.
  // FerretDB still checks every client's password itself, against the roles in PostgreSQL.
  const pgUrl = `postgres://${DB_USER}@/postgres?host=${encodeURIComponent(opts.postgresSocketDir)}&port=${opts.postgresPort}`;
  const out = logStream(opts.logFile);
  const child = spawn(bin, [], {
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      FERRETDB_POSTGRESQL_URL: pgUrl,
      FERRETDB_LISTEN_ADDR: `127.0.0.1:${opts.port}`,
      FERRETDB_LISTEN_UNIX: socket,
      FERRETDB_TELEMETRY: 'disable',
      FERRETDB_DEBUG_ADDR: opts.debugPort ? `127.0.0.1:${opts.debugPort}` : '-',
      FERRETDB_STATE_DIR: opts.stateDir,
      FERRETDB_LOG_LEVEL: 'warn',
      FERRETDB_AUTH: opts.credentials ? 'true' : 'false',
    },
  });
  await waitUntilListening(child, 'FerretDB', opts.port, 30_000);
  const auth = opts.credentials ? `${encodeURIComponent(opts.credentials.user)}:${encodeURIComponent(opts.credentials.password)}@` : '';
  const query = opts.credentials ? '?authSource=admin' : '';
  return {
    name: 'ferretdb',
    port: opts.port,
    url: `mongodb://${auth}127.0.0.1:${opts.port}/${query}`,
    /** The same server through its Unix socket: what the registry's own processes use (less work per command than TCP). */
    socketUrl: `mongodb://${auth}${encodeURIComponent(socket)}/${query}`,
    child,
    stop: stopper(child),
  };
}

export interface EmbeddedDatabaseOptions {
  dataDir: string;
  port: number;
  postgresPort: number;
  credentials: DatabaseCredentials | null;
  durable: boolean;
  logDir?: string;
}

/** PostgreSQL, then FerretDB on it; `stop()` stops them in reverse. */
export async function startEmbeddedDatabase(
  opts: EmbeddedDatabaseOptions,
): Promise<{ postgres: ManagedService; ferret: ManagedService & { socketUrl: string }; stop(): Promise<void> }> {
  const postgres = await startPostgres({
    dataDir: opts.dataDir,
    port: opts.postgresPort,
    password: opts.credentials?.password ?? null,
    durable: opts.durable,
    logFile: opts.logDir && path.join(opts.logDir, 'postgresql.log'),
  });
  let ferret: ManagedService & { socketUrl: string };
  try {
    ferret = await startFerretDB({
      stateDir: path.join(opts.dataDir, 'ferretdb'),
      port: opts.port,
      postgresPort: opts.postgresPort,
      postgresSocketDir: path.join(opts.dataDir, 'run'),
      credentials: opts.credentials,
      logFile: opts.logDir && path.join(opts.logDir, 'ferretdb.log'),
    });
  } catch (err) {
    await postgres.stop();
    throw err;
  }
  return {
    postgres,
    ferret,
    async stop() {
      await ferret.stop();
      await postgres.stop();
    },
  };
}
