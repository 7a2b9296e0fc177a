/**
 * Uploaded import files in GridFS (bucket `imports`, beside the attachments' own), so the web
 * process that received a file and the worker that imports it need not be on one machine. The
 * worker reads a file by byte ranges (zip.ts ByteSource): never whole.
 */
import { Readable } from 'node:stream';
import mongoose from 'mongoose';
import { gridBucket } from '../../lib/gridfs';
import type { ByteSource } from './zip';

const WINDOW = 1024 * 1024;
const bucket = () => gridBucket('imports');

export async function storeImportFile(buf: Buffer, filename: string, metadata: Record<string, unknown>): Promise<string> {
  const upload = bucket().openUploadStream(filename, { metadata });
  await new Promise<void>((resolve, reject) => {
    Readable.from([buf]).pipe(upload).on('finish', () => resolve()).on('error', reject);
  });
  return String(upload.id);
}

export async function deleteImportFile(id: string): Promise<void> {
  await bucket()
    .delete(new mongoose.Types.ObjectId(id))
    .catch((err: Error) => {
      if (!/not found/i.test(err.message)) throw err;
    });
}

/** The stored file as a source of byte ranges. */
export async function importFileSource(id: string): Promise<ByteSource> {
  const _id = new mongoose.Types.ObjectId(id);
  const [file] = await bucket().find({ _id }, { projection: { length: 1 } }).toArray();
  if (!file) throw new Error(`import file ${id} not found`);
  const window = (start: number, end: number) => bucket().openDownloadStream(_id, { start, end }) as unknown as Readable;
  // A megabyte at a time: one download stream's cursor would fetch up to 16 MB of chunks at once.
  const stream = (start: number, end: number): Readable =>
    Readable.from(
      (async function* () {
        for (let at = start; at < end; at += WINDOW) for await (const chunk of window(at, Math.min(end, at + WINDOW))) yield chunk as Buffer;
      })(),
      { objectMode: false },
    );
  return {
    size: file.length,
    stream,
    async read(start, end) {
      const chunks: Buffer[] = [];
      for await (const c of stream(start, end)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    },
  };
}
