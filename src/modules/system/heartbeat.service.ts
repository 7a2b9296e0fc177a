/** Records worker liveness; safe to run any number of times (an upsert of one document). */
import { WorkerHeartbeat } from './heartbeat.model';

export interface WorkerIdentity {
  id: string;
  host: string;
  pid: number;
  queues: string[];
  startedAt: Date;
}

export async function recordHeartbeat(worker: WorkerIdentity, at = new Date()): Promise<void> {
  await WorkerHeartbeat.updateOne(
    { _id: worker.id },
    { $set: { host: worker.host, pid: worker.pid, queues: worker.queues, startedAt: worker.startedAt, seenAt: at } },
    { upsert: true },
  );
}

export async function listWorkers() {
  return WorkerHeartbeat.find().sort({ seenAt: -1 }).lean();
}
