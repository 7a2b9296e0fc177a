/** The certificates queue: renders a registered contract's certificate into GridFS (once) and tells the applicant it is ready. */
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { Contract } from '../../src/modules/contracts/contract.model';
import type { NotifyDeps } from '../../src/modules/notifications/notifications.events';
import { produceCertificate } from '../../src/modules/review/certificate';

export function certificateProcessor(agencyName: string, publicUrl: string, notifyDeps: NotifyDeps = { queues: null }) {
  return async (job: Job<{ contractId: string }>) => {
    const doc = await Contract.findById(job.data.contractId).select({ status: 1 }).lean();
    if (!doc) throw new UnrecoverableError(`contract ${job.data.contractId} not found`);
    if (doc.status !== 'registered') return { skipped: doc.status };
    return produceCertificate(job.data.contractId, agencyName, publicUrl, notifyDeps);
  };
}
