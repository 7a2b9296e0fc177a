/** The verification queue: automatic checks on a submitted filing (or change or cancellation request), then on to review. */
import type { Job } from 'bullmq';
import { verifyRequest } from '../../src/modules/changes/request-decisions.service';
import { verifySubmission } from '../../src/modules/review/verification.service';

type VerificationJob = Job<{ contractId: string; submission: number }> | Job<{ requestId: string; submission: number }>;

export function verificationProcessor(agencyCode: string, faultDelayMs = 0) {
  return async (job: VerificationJob) => {
    // Fault injection (tests, scripts/fault.ts): hold the job open so a worker can be killed midway.
    if (faultDelayMs > 0) await new Promise((r) => setTimeout(r, faultDelayMs));
    if ('requestId' in job.data) return { result: await verifyRequest(job.data.requestId, job.data.submission, agencyCode) };
    return { result: await verifySubmission(job.data.contractId, job.data.submission, agencyCode) };
  };
}
