/**
 * Starts a database (PostgreSQL + DocumentDB + FerretDB v2) and a Redis of the suite's own,
 * on free loopback ports in a temporary folder (never the app's data). Test files each use
 * their own database and key prefix.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedDatabase } from '../../scripts/embedded-database';
import { freePort, startRedis, type ManagedService } from '../../scripts/local-services';

export default async function globalSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-test-'));
  // The cluster runs as the unprivileged postgres user when the suite runs as root.
  fs.chmodSync(dir, 0o755);
  const db = await startEmbeddedDatabase({
    dataDir: path.join(dir, 'db'),
    port: await freePort(),
    postgresPort: await freePort(),
    credentials: null,
    durable: false,
    logDir: dir,
  });
  const redis = await startRedis({ dataDir: path.join(dir, 'redis'), port: await freePort(), persistent: false });
  // Through FerretDB's Unix socket, as the registry's own processes connect.
  process.env.TEST_MONGO_URL = db.ferret.socketUrl;
  process.env.TEST_REDIS_URL = redis.url;
  process.env.TEST_PG_PORT = String(db.postgres.port);
  process.env.TEST_PG_SOCKET_DIR = path.join(dir, 'db', 'run');
  process.env.TEST_TMP_DIR = dir;
  const stopDb: ManagedService = { ...db.ferret, name: 'database', stop: () => db.stop() };
  (globalThis as { __testServices?: { services: ManagedService[]; dir: string } }).__testServices = { services: [stopDb, redis], dir };
}
