/**
 * Starts a FerretDB and a Redis of the suite's own, on free loopback ports in a temporary
 * folder (never the app's data). Test files each use their own database and key prefix.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startFerretDB, startRedis, type ManagedService } from '../../scripts/local-services';

export default async function globalSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-test-'));
  const ferret = await startFerretDB({ dataDir: path.join(dir, 'ferretdb'), port: await freePort(), logFile: path.join(dir, 'ferretdb.log') });
  const redis = await startRedis({ dataDir: path.join(dir, 'redis'), port: await freePort(), persistent: false });
  process.env.TEST_MONGO_URL = ferret.url;
  process.env.TEST_REDIS_URL = redis.url;
  process.env.TEST_TMP_DIR = dir;
  (globalThis as { __testServices?: { services: ManagedService[]; dir: string } }).__testServices = { services: [ferret, redis], dir };
}
