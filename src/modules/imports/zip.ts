/**
 * Just enough ZIP to read a spreadsheet safely (an .xlsx is a ZIP of XML files), from a source
 * that can read byte ranges (the upload in memory, or the stored file in GridFS).
 *
 * Nothing trusts what the archive says about itself: the central directory is read first and
 * refused when it lists too many entries or would inflate too far in total or relative to its
 * compressed size (a zip bomb); each entry is then inflated as a stream that stops with an
 * error the moment it produces more bytes than its directory entry declared, whatever its own
 * local header or its compressed data claim. Only stored and deflated entries are read.
 */
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

/** Bytes `start` (inclusive) to `end` (exclusive) of the archive. */
export interface ByteSource {
  size: number;
  read(start: number, end: number): Promise<Buffer>;
  stream(start: number, end: number): Readable;
}

export const bufferSource = (buf: Buffer): ByteSource => ({
  size: buf.length,
  read: async (start, end) => buf.subarray(start, end),
  stream: (start, end) => Readable.from([buf.subarray(start, end)]),
});

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export interface ZipLimits {
  /** Entries the directory may list. */
  entries: number;
  /** What the entries read may inflate to together (declared sizes; reading enforces them). */
  totalBytes: number;
  /** How far one entry of more than a megabyte may inflate relative to its compressed size. */
  ratio: number;
}

/** Generous for any real workbook of up to 20 MB (100,000 rows inflate to about 115 MB), far below a bomb. */
export const XLSX_LIMITS: ZipLimits = { entries: 500, totalBytes: 400 * 1024 * 1024, ratio: 200 };

export class ZipError extends Error {
  constructor(readonly reason: 'not_zip' | 'unsupported' | 'too_many_entries' | 'too_large' | 'corrupt') {
    super(`zip: ${reason}`);
  }
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Whether the bytes begin like a ZIP archive. */
export const looksLikeZip = (head: Buffer) => head.length >= 4 && head.readUInt32LE(0) === LOCAL;

/** The archive's directory, checked against the limits (counts and declared sizes). */
export async function readDirectory(src: ByteSource, limits: ZipLimits = XLSX_LIMITS): Promise<ZipEntry[]> {
  // The end-of-directory record: 22 bytes plus a comment of up to 65,535 at the very end.
  const tailStart = Math.max(0, src.size - (22 + 65_535));
  const tail = await src.read(tailStart, src.size);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ZipError('not_zip');
  const count = tail.readUInt16LE(at + 10);
  const dirSize = tail.readUInt32LE(at + 12);
  const dirOffset = tail.readUInt32LE(at + 16);
  // ZIP64 (more than 65,535 entries or 4 GB) has no place in a 20 MB spreadsheet.
  if (count === 0xffff || dirOffset === 0xffffffff) throw new ZipError('unsupported');
  if (count > limits.entries) throw new ZipError('too_many_entries');
  if (dirOffset + dirSize > src.size) throw new ZipError('corrupt');
  const dir = await src.read(dirOffset, dirOffset + dirSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL) throw new ZipError('corrupt');
    const flags = dir.readUInt16LE(p + 8);
    const method = dir.readUInt16LE(p + 10);
    const compressedSize = dir.readUInt32LE(p + 20);
    const size = dir.readUInt32LE(p + 24);
    const nameLength = dir.readUInt16LE(p + 28);
    const extraLength = dir.readUInt16LE(p + 30);
    const commentLength = dir.readUInt16LE(p + 32);
    const localHeaderOffset = dir.readUInt32LE(p + 42);
    if (p + 46 + nameLength > dir.length) throw new ZipError('corrupt');
    const name = dir.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLength);
    if (compressedSize === 0xffffffff || size === 0xffffffff || localHeaderOffset === 0xffffffff) throw new ZipError('unsupported');
    if (flags & 0x1) throw new ZipError('unsupported'); // encrypted
    entries.push({ name, method, compressedSize, size, localHeaderOffset });
    p += 46 + nameLength + extraLength + commentLength;
  }
  let total = 0;
  for (const e of entries) {
    total += e.size;
    if (e.size > 1024 * 1024 && e.size > e.compressedSize * limits.ratio) throw new ZipError('too_large');
  }
  if (total > limits.totalBytes) throw new ZipError('too_large');
  return entries;
}

/**
 * The entry's inflated bytes as a stream, which fails with ZipError('too_large') as soon as it
 * produces more than the directory declared, and with 'corrupt' if it produces less.
 */
export async function openEntry(src: ByteSource, entry: ZipEntry): Promise<Readable> {
  if (entry.method !== 0 && entry.method !== 8) throw new ZipError('unsupported');
  const header = await src.read(entry.localHeaderOffset, Math.min(src.size, entry.localHeaderOffset + 30));
  if (header.length < 30 || header.readUInt32LE(0) !== LOCAL) throw new ZipError('corrupt');
  const dataStart = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > src.size) throw new ZipError('corrupt');
  const raw = src.stream(dataStart, dataEnd);
  const capped = new SizeCap(entry.size);
  // A bomb stops at the declared size: the cap fails, and the pipeline destroys the inflater and
  // the source with it (as it does when the reader stops early). Inflation errors reach the reader.
  const done = () => undefined;
  return entry.method === 0 ? pipeline(raw, capped, done) : pipeline(raw, zlib.createInflateRaw({ chunkSize: 64 * 1024 }), capped, done);
}

/** Passes bytes through while they stay within `max`, and demands exactly `max` in the end. */
class SizeCap extends Transform {
  private seen = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) return done(new ZipError('too_large'));
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    done(this.seen === this.max ? null : new ZipError('corrupt'));
  }
}

/** An entry's whole content as text, for the small parts of a workbook (refused past `max` bytes). */
export async function readEntryText(src: ByteSource, entry: ZipEntry, max: number): Promise<string> {
  if (entry.size > max) throw new ZipError('too_large');
  const chunks: Buffer[] = [];
  for await (const chunk of await openEntry(src, entry)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
