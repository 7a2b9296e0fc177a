/** The verification queue: automatic checks on a submitted filing, then on to review. */
import type { Job } from 'bullmq';
import { verifySubmission } from '../../src/modules/review/verification.service';

export function verificationProcessor(agencyCode: string, faultDelayMs = 0) {
  return async (job: Job<{ contractId: string; submission: number }>) => {
    // Fault injection (tests, scripts/fault.ts): hold the job open so a worker can be killed midway.
    if (faultDelayMs > 0) await new Promise((r) => setTimeout(r, faultDelayMs));
    return { result: await verifySubmission(job.data.contractId, job.data.submission, agencyCode) };
  };
}
