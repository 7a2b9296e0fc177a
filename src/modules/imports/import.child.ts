/**
 * The process an import runs in (import-process.ts starts it with a heap limit): it connects
 * to the database and Redis, runs the import (import-run.ts) and reports how it ended. It stops
 * after the batch at hand when asked ('stop'), and leaves at once if its parent goes away (the
 * job is then resumed elsewhere after its last committed batch).
 */
import { connectDatabase, disconnectDatabase } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { createWorkerRedis } from '../../lib/redis';
import '../../models';
import { runImport, type RunOptions } from './import-run';

export interface ImportTask {
  importId: string;
  mongodbUri: string;
  redisUrl: string;
  prefix: string;
  agencyCode: string;
  targetFen: number;
  logLevel: string;
  options?: Omit<RunOptions, 'shouldStop'>;
}

export type ImportAnswer = { ok: true; result: Awaited<ReturnType<typeof runImport>> } | { ok: false; message: string };

export function serve(): void {
  let stopping = false;
  process.on('disconnect', () => process.exit(1));
  process.on('message', async (message: ImportTask | 'stop') => {
    if (message === 'stop') {
      stopping = true;
      return;
    }
    const task = message;
    const logger = createLogger({ level: task.logLevel, pretty: false, name: 'import' });
    let answer: ImportAnswer;
    let redis: ReturnType<typeof createWorkerRedis> | null = null;
    try {
      await connectDatabase(task.mongodbUri, logger);
      redis = createWorkerRedis(task.redisUrl, logger, 'import');
      const result = await runImport(task.importId, { agencyCode: task.agencyCode, logger, redis, prefix: task.prefix, targetFen: task.targetFen }, { ...task.options, shouldStop: () => stopping });
      answer = { ok: true, result };
    } catch (err) {
      answer = { ok: false, message: err instanceof Error ? err.message : String(err) };
    }
    await new Promise<void>((resolve) => process.send!(answer, () => resolve()));
    redis?.disconnect();
    await disconnectDatabase().catch(() => undefined);
    process.exit(0);
  });
}

if (require.main === module) serve();
