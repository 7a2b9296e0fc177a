/**
 * The imports queue: imports an uploaded file of earlier registrations in a process of its own
 * (src/modules/imports/import-process.ts: a heap limit, the worker's event loop left free),
 * resuming where it stopped; and re-queues imports whose job died.
 */
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { Config } from '../../src/config';
import type { Queues } from '../../src/lib/queues';
import { runImportInProcess } from '../../src/modules/imports/import-process';
import { markImportFailed } from '../../src/modules/imports/import-run';
import { resumeStalledImports } from '../../src/modules/imports/imports.service';

export function importProcessor(config: Readonly<Config>, queues: Queues) {
  return async (job: Job) => {
    switch (job.name) {
      case 'run': {
        const { importId } = job.data as { importId: string };
        try {
          const result = await runImportInProcess({
            importId,
            mongodbUri: config.mongodbUri,
            redisUrl: config.redisUrl,
            prefix: config.queuePrefix,
            agencyCode: config.agency.code,
            targetFen: config.turnoverTargetFen,
            logLevel: config.logLevel,
          });
          // Stopped for the worker's shutdown: a retry resumes after the last committed batch.
          if (result.status === 'stopped') throw new Error(`import ${importId} stopped by a shutdown; it resumes`);
          return result;
        } catch (err) {
          // Each attempt resumes after the last committed batch; after the last one the import
          // is failed for good rather than left "running".
          if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await markImportFailed(importId);
          throw err;
        }
      }
      case 'resume':
        return { resumed: await resumeStalledImports(queues) };
      default:
        throw new UnrecoverableError(`unknown imports job ${job.name}`);
    }
  };
}
