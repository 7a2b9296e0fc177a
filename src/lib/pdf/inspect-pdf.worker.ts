/**
 * The PDF check, run in a child process of its own (see inspect-pdf.ts): parses an untrusted
 * PDF with pdf-lib and counts what its compressed streams inflate to, refusing the file as
 * soon as a budget is spent. A PDF is a container of compressed streams, and a small file can
 * inflate to gigabytes (a "decompression bomb"), so nothing here inflates without counting.
 *
 * Two budgets (the numbers come with each task):
 * - `heldBytes`: bytes decoded *into memory*. pdf-lib decodes the object and cross-reference
 *   streams while it parses (their objects are needed), and we decode with pdf-lib the rare
 *   streams using filters other than Flate. Every such decoder grows its output through
 *   DecodeStream.ensureBuffer, which is patched below to count and stop.
 * - `inflatedBytes`: the decoded size of every compressed stream in the file (page contents,
 *   fonts, Flate images), counted by native zlib inflaters, never held beyond a few MB.
 * A stream may chain at most MAX_FILTERS filters.
 * Image codecs (JPEG, JPEG 2000, JBIG2, CCITT) are not decompressed here: only a reader's
 * viewer draws them, and their size is what a scan's size is made of.
 *
 * The process itself runs with heap and time limits, for whatever the budgets do not cover
 * (e.g. a cross-reference stream claiming a hundred million entries).
 */
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { decodePDFRawStream, ParseSpeeds, PDFArray, PDFDict, PDFDocument, PDFName, PDFRawStream, type PDFContext, type PDFObject } from 'pdf-lib';
import DecodeStream from 'pdf-lib/cjs/core/streams/DecodeStream';

export interface InspectLimits {
  heldBytes: number;
  inflatedBytes: number;
}

export interface InspectTask {
  bytes: Uint8Array;
  limits: InspectLimits;
}

export type InspectResult =
  | { ok: true; pages: number; inflatedBytes: number; heldBytes: number }
  | { ok: false; reason: 'unreadable' | 'held' | 'inflated' | 'filters' };

/** Writers chain at most two filters; each one here is an inflater with its own native state. */
const MAX_FILTERS = 4;
/** Streams inflating to less than this are inflated in one call (fast); larger ones stream. */
const ONE_CALL_BYTES = 4 * 1024 * 1024;

/** Thrown where a budget runs out; pdf-lib may swallow it, so the budget also remembers. */
class BudgetSpent extends Error {}

type Spent = 'held' | 'inflated' | 'filters';

class Budget {
  held = 0;
  inflated = 0;
  spent: Spent | null = null;
  constructor(readonly limits: InspectLimits) {}

  /** Bytes decoded into memory (they count as inflated too). */
  hold(n: number) {
    this.held += n;
    if (this.held > this.limits.heldBytes) this.spend('held');
    this.inflate(n);
  }

  inflate(n: number) {
    this.inflated += n;
    if (this.inflated > this.limits.inflatedBytes) this.spend('inflated');
  }

  check() {
    if (this.spent) throw new BudgetSpent(this.spent);
  }

  spend(which: Spent): never {
    this.spent ??= which;
    throw new BudgetSpent(which);
  }
}

/** The task being run (one at a time per process). */
let current: Budget | null = null;

// Every pdf-lib decoder (Flate, LZW, RunLength, ASCIIHex, ASCII85) grows its output buffer
// through ensureBuffer(total length wanted): count the growth of each stream once.
const DECODED = Symbol('decodedBytes');
type Counted = { [DECODED]?: number };
const proto = DecodeStream.prototype as unknown as { ensureBuffer(this: Counted, requested: number): Uint8Array };
const ensureBuffer = proto.ensureBuffer;
proto.ensureBuffer = function (this: Counted, requested: number) {
  const seen = this[DECODED] ?? 0;
  if (current && requested > seen) {
    current.check();
    this[DECODED] = requested;
    current.hold(requested - seen);
  }
  return ensureBuffer.call(this, requested);
};

const FLATE = new Set(['FlateDecode', 'Fl']);
// Filters pdf-lib can decode (the others are image codecs or encryption).
const PDF_LIB_FILTERS = new Set(['FlateDecode', 'Fl', 'LZWDecode', 'LZW', 'ASCII85Decode', 'A85', 'ASCIIHexDecode', 'AHx', 'RunLengthDecode', 'RL']);

const nameOf = (o: PDFObject | undefined) => (o instanceof PDFName ? o.decodeText() : null);

/** A stream's filters and their parameters, in order ([] when it has none or they make no sense). */
function filtersOf(stream: PDFRawStream, context: PDFContext): { names: string[]; params: (PDFObject | undefined)[] } {
  const filter = stream.dict.lookup(PDFName.of('Filter'));
  const parms = stream.dict.lookup(PDFName.of('DecodeParms'));
  if (filter instanceof PDFName) return { names: [filter.decodeText()], params: [parms] };
  if (!(filter instanceof PDFArray)) return { names: [], params: [] };
  const names = filter.asArray().map((f) => nameOf(context.lookup(f)));
  if (names.some((n) => n === null)) return { names: [], params: [] };
  const params = names.map((_, i) => (parms instanceof PDFArray ? context.lookup(parms.get(i)) : undefined));
  return { names: names as string[], params };
}

/** One filter stage decoded by pdf-lib, into memory (counted by the patched ensureBuffer). */
function decodeStage(context: PDFContext, name: string, params: PDFObject | undefined, data: Uint8Array): Uint8Array {
  const dict = new Map<PDFName, PDFObject>([[PDFName.of('Filter'), PDFName.of(name)]]);
  if (params instanceof PDFDict) dict.set(PDFName.of('DecodeParms'), params);
  return decodePDFRawStream(PDFRawStream.of(PDFDict.fromMapWithContext(dict, context), data)).decode();
}

/**
 * Counts what `stages` chained Flate inflaters make of `data`. Most streams are small and are
 * inflated in one call each (a stream pipeline costs far more than a small inflation); one
 * that would inflate beyond ONE_CALL_BYTES, or is damaged, is counted as it streams.
 */
async function countFlate(data: Uint8Array, stages: number, budget: Budget): Promise<void> {
  for (let i = 0; i < stages; i++) {
    let out: Buffer;
    try {
      out = zlib.inflateSync(data, { maxOutputLength: ONE_CALL_BYTES, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch {
      return countInflation(data, stages - i, budget);
    }
    budget.inflate(out.length);
    data = out;
  }
}

/** Counts what `stages` chained Flate inflaters make of `data`, in small chunks, holding none of it. */
async function countInflation(data: Uint8Array, stages: number, budget: Budget): Promise<void> {
  const counter = () =>
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        try {
          budget.inflate(chunk.length);
          done(null, chunk);
        } catch (err) {
          done(err as Error);
        }
      },
    });
  const chain: (NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream)[] = [Readable.from([Buffer.from(data.buffer, data.byteOffset, data.byteLength)])];
  // Readers accept truncated streams: so does the count (SYNC_FLUSH: no error at a missing end).
  for (let i = 0; i < stages; i++) chain.push(zlib.createInflate({ chunkSize: 64 * 1024, finishFlush: zlib.constants.Z_SYNC_FLUSH }), counter());
  chain.push(new Writable({ write: (_c, _e, done) => done() }));
  try {
    await pipeline(chain);
  } catch (err) {
    // Damaged data inflates no further: a reader would stop there too. A spent budget is final.
    if (err instanceof BudgetSpent) throw err;
  }
}

/** Counts the decoded size of one stream (not an object or cross-reference stream: those are parsed already). */
async function countStream(stream: PDFRawStream, context: PDFContext, budget: Budget): Promise<void> {
  const { names, params } = filtersOf(stream, context);
  if (names.length > MAX_FILTERS) budget.spend('filters');
  let data: Uint8Array = stream.contents;
  for (let i = 0; i < names.length; i++) {
    // The usual case (Flate, perhaps nested): counted natively, never held for long.
    if (names.slice(i).every((n) => FLATE.has(n))) return countFlate(data, names.length - i, budget);
    if (!PDF_LIB_FILTERS.has(names[i])) return;
    try {
      data = decodeStage(context, names[i], params[i], data);
    } catch (err) {
      if (err instanceof BudgetSpent || budget.spent) throw new BudgetSpent(budget.spent ?? 'held');
      return;
    }
  }
}

export async function inspectPdf(task: InspectTask): Promise<InspectResult> {
  const budget = (current = new Budget(task.limits));
  try {
    let doc: PDFDocument;
    let pages: number;
    try {
      // The fastest speed: no need to yield to an event loop that serves nothing else.
      doc = await PDFDocument.load(task.bytes, { ignoreEncryption: true, updateMetadata: false, throwOnInvalidObject: true, parseSpeed: ParseSpeeds.Fastest });
      budget.check();
      pages = doc.getPageCount();
    } catch {
      return { ok: false, reason: budget.spent ?? 'unreadable' };
    }
    if (pages < 1) return { ok: false, reason: 'unreadable' };
    try {
      for (const [, object] of doc.context.enumerateIndirectObjects()) {
        if (object instanceof PDFRawStream) await countStream(object, doc.context, budget);
      }
    } catch (err) {
      if (err instanceof BudgetSpent || budget.spent) return { ok: false, reason: budget.spent ?? 'inflated' };
      throw err;
    }
    return { ok: true, pages, inflatedBytes: budget.inflated, heldBytes: budget.held };
  } finally {
    current = null;
  }
}

/** Answers checks sent over IPC, one at a time, until the parent goes away. */
export function serve(): void {
  process.on('message', (task: InspectTask) => {
    void inspectPdf(task).then(
      (result) => process.send?.(result),
      // A fault of ours, not of the file: the parent reports it as a server error.
      (err: Error) => process.send?.({ ok: false, reason: 'error', message: err.message }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

if (require.main === module) serve();
