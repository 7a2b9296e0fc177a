/** The maintenance queue: housekeeping jobs that keep the registry healthy. */
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { sweepExpiredTokens } from '../../src/modules/accounts/tokens.service';
import type { Queues } from '../../src/lib/queues';
import { requeueSubmitted } from '../../src/modules/contracts/contracts.jobs';
import { completeRequestDecisions } from '../../src/modules/changes/request-decisions.service';
import { requeueSubmittedRequests } from '../../src/modules/changes/requests.service';
import { requeuePendingMail } from '../../src/modules/notifications/notifications.service';
import { completeDecisions, type ReviewDeps } from '../../src/modules/review/decisions.service';
import { sendFilingDigests, watchDeadlines } from '../../src/modules/review/queue.service';
import { requeueMissingCertificates } from '../../src/modules/review/certificate';
import { currentYear, refreshYear } from '../../src/modules/turnover/turnover.service';
import { recordHeartbeat, type WorkerIdentity } from '../../src/modules/system/heartbeat.service';

export function maintenanceProcessor(identity: WorkerIdentity, queues: Queues, review: ReviewDeps) {
  return async (job: Job): Promise<unknown> => {
    switch (job.name) {
      case 'heartbeat':
        await recordHeartbeat(identity);
        return { workerId: identity.id };
      case 'housekeeping': {
        const tokens = await sweepExpiredTokens(new Date());
        return { tokens };
      }
      case 'requeue-submitted':
        return { enqueued: await requeueSubmitted(queues), requests: await requeueSubmittedRequests(queues), mails: await requeuePendingMail(queues) };
      case 'complete-decisions':
        return {
          completed: await completeDecisions(review),
          requests: await completeRequestDecisions(review),
          certificates: await requeueMissingCertificates(queues),
          digests: await sendFilingDigests({ queues, logger: review.logger }),
          // Applies what is pending, filling a ledger number whose taker died, and republishes.
          tally: (await refreshYear({ redis: review.redis, prefix: review.config.queuePrefix, targetFen: review.config.turnoverTargetFen }, currentYear())).contracts,
        };
      case 'deadline-watch':
        return watchDeadlines(undefined, { queues, logger: review.logger });
      default:
        throw new UnrecoverableError(`unknown maintenance job ${job.name}`);
    }
  };
}
