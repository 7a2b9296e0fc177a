/** Worker processes report here that they are alive and working through their queues. */
import mongoose, { Schema } from 'mongoose';

const heartbeatSchema = new Schema(
  {
    _id: { type: String, required: true },
    host: { type: String, required: true },
    pid: { type: Number, required: true },
    queues: { type: [String], default: [] },
    startedAt: { type: Date, required: true },
    seenAt: { type: Date, required: true },
  },
  { versionKey: false },
);

export const WorkerHeartbeat = mongoose.model('WorkerHeartbeat', heartbeatSchema);
