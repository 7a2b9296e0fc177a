/** The maintenance queue: housekeeping jobs that keep the registry healthy. */
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { pruneClaims } from '../../src/lib/transitions';
import { sweepExpiredTokens } from '../../src/modules/accounts/tokens.service';
import type { Queues } from '../../src/lib/queues';
import { requeueSubmitted } from '../../src/modules/contracts/contracts.jobs';
import { requeuePendingMail } from '../../src/modules/notifications/notifications.service';
import { completeDecisions, watchDeadlines, type ReviewDeps } from '../../src/modules/review/review.service';
import { requeueMissingCertificates } from '../../src/modules/review/certificate';
import { recordHeartbeat, type WorkerIdentity } from '../../src/modules/system/heartbeat.service';

export function maintenanceProcessor(identity: WorkerIdentity, queues: Queues, review: ReviewDeps) {
  return async (job: Job): Promise<unknown> => {
    switch (job.name) {
      case 'heartbeat':
        await recordHeartbeat(identity);
        return { workerId: identity.id };
      case 'housekeeping': {
        const now = Date.now();
        const tokens = await sweepExpiredTokens(new Date(now));
        // A claim is only needed while its version is current or being completed.
        const claims = await pruneClaims(new Date(now - 24 * 3600_000));
        return { tokens, claims };
      }
      case 'requeue-submitted':
        return { enqueued: await requeueSubmitted(queues), mails: await requeuePendingMail(queues) };
      case 'complete-decisions':
        return { completed: await completeDecisions(review), certificates: await requeueMissingCertificates(queues) };
      case 'deadline-watch':
        return watchDeadlines();
      default:
        throw new UnrecoverableError(`unknown maintenance job ${job.name}`);
    }
  };
}
