/** The maintenance queue: housekeeping jobs that keep the registry healthy. */
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { recordHeartbeat, type WorkerIdentity } from '../../src/modules/system/heartbeat.service';

export function maintenanceProcessor(identity: WorkerIdentity) {
  return async (job: Job): Promise<unknown> => {
    switch (job.name) {
      case 'heartbeat':
        await recordHeartbeat(identity);
        return { workerId: identity.id };
      default:
        throw new UnrecoverableError(`unknown maintenance job ${job.name}`);
    }
  };
}
