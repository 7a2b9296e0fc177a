/** The turnover queue: applies ledger entries to the tallies and publishes the live figure; reconciles. */
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../../src/config';
import { reconcile, refreshYear } from '../../src/modules/turnover/turnover.service';

export function turnoverProcessor(redis: Redis, config: Readonly<Config>) {
  const deps = { redis, prefix: config.queuePrefix, targetFen: config.turnoverTargetFen, agencyCode: config.agency.code };
  return async (job: Job) => {
    switch (job.name) {
      case 'apply': {
        const payload = await refreshYear(deps, (job.data as { year: number }).year);
        return { year: payload.year, contracts: payload.contracts };
      }
      case 'reconcile': {
        const { trigger, actorEmail } = job.data as { trigger: string; actorEmail: string | null };
        const run = await reconcile(deps, trigger ?? 'job', actorEmail ?? null);
        return { ms: run.ms, contracts: run.contracts, corrected: run.corrected.length, missingEntries: run.missingEntries };
      }
      default:
        throw new UnrecoverableError(`unknown turnover job ${job.name}`);
    }
  };
}
