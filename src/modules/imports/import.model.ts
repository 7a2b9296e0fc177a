/**
 * Imports of earlier registrations: one document per uploaded file, carrying the progress the
 * page shows (rows processed of the total, imported, skipped, rejected) and `lastRow`, the last
 * spreadsheet row of the batches committed so far, from which a restarted job resumes. The
 * rejected rows are documents of their own (a file can have many).
 */
import mongoose, { Schema, type InferSchemaType, type Types } from 'mongoose';

export const IMPORT_STATUSES = ['queued', 'running', 'done', 'failed'] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];

const messageSchema = new Schema({ key: { type: String, required: true }, params: { type: Schema.Types.Mixed, default: null } }, { _id: false });

const importSchema = new Schema(
  {
    status: { type: String, enum: IMPORT_STATUSES, required: true, default: 'queued' },
    /** Counting the rows before importing them, then importing. */
    phase: { type: String, enum: ['counting', 'importing', null], default: null },
    filename: { type: String, required: true },
    format: { type: String, enum: ['xlsx', 'csv'], required: true },
    size: { type: Number, required: true },
    /** The file in GridFS (bucket `imports`). */
    fileId: { type: String, required: true },
    createdBy: { type: Schema.Types.ObjectId, required: true },
    createdByName: { type: String, default: null },
    /** Data rows in the file (blank rows not counted); null until counted. */
    total: { type: Number, default: null },
    processed: { type: Number, default: 0 },
    imported: { type: Number, default: 0 },
    skipped: { type: Number, default: 0 },
    rejected: { type: Number, default: 0 },
    /** The spreadsheet row the committed batches reach (the header's row before the first). */
    lastRow: { type: Number, default: 0 },
    /** Registration years the import added to. */
    years: { type: [Number], default: [] },
    /** Why the import failed (an i18n key and its parameters). */
    failure: { type: messageSchema, default: null },
    /** What a person should know (columns ignored). */
    notes: { type: [messageSchema], default: [] },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
    /** The last sign of life of the job running it: a stale one is resumed (see imports.service). */
    heartbeatAt: { type: Date, default: null },
  },
  { timestamps: true },
);
/** The list, newest first. */
importSchema.index({ createdAt: -1 });
/** The sweep for imports whose job died: only those not finished. */
importSchema.index({ status: 1, heartbeatAt: 1 });

export type ImportDoc = InferSchemaType<typeof importSchema> & { _id: Types.ObjectId; createdAt: Date; updatedAt: Date };
export const ImportJob = mongoose.model('Import', importSchema);

/**
 * A rejected row: its reasons and what its cells held (by column key), so the list of rejected
 * rows downloads as a table that can be corrected and imported again. `_id` is
 * "<importId>:<row, 7 digits>": a batch done twice writes the same documents, and an import's
 * rows are read in order by `_id` alone.
 */
const rowErrorSchema = new Schema(
  {
    _id: { type: String, required: true },
    importId: { type: String, required: true },
    row: { type: Number, required: true },
    issues: { type: [new Schema({ path: { type: String, default: '' }, key: { type: String, required: true }, params: { type: Schema.Types.Mixed, default: null } }, { _id: false })], default: [] },
    cells: { type: Schema.Types.Mixed, default: {} },
  },
  { versionKey: false, minimize: false },
);

export const ImportRowError = mongoose.model('ImportRowError', rowErrorSchema);

export const rowErrorId = (importId: string, row: number) => `${importId}:${String(row).padStart(7, '0')}`;
/** The `_id` range of an import's rejected rows. */
export const rowErrorRange = (importId: string) => ({ $gt: `${importId}:`, $lt: `${importId};` });
