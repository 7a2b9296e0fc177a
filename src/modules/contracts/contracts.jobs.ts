/** Typed producers for contract jobs, with business job ids so a retry enqueues once. */
import { enqueue, type Queues } from '../../lib/queues';
import { Contract } from './contract.model';

export const verificationJobId = (contractId: string, submission: number) => `verify-${contractId}-${submission}`;

export async function enqueueVerification(queues: Queues, contractId: string, submission: number): Promise<void> {
  await enqueue(queues, 'verification', 'verify', { contractId, submission }, verificationJobId(contractId, submission));
}

/**
 * Enqueues verification for every submitted contract. Jobs already queued are not added
 * twice (same job id), and the processor ignores contracts that have moved on, so this is
 * safe to run at any time: at worker start and every minute.
 */
export async function requeueSubmitted(queues: Queues): Promise<number> {
  const submitted = await Contract.find({ status: 'submitted' }).select({ _id: 1, submissionCount: 1 }).lean();
  for (const c of submitted) await enqueueVerification(queues, String(c._id), c.submissionCount ?? 1);
  return submitted.length;
}
