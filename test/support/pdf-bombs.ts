/**
 * Hostile and heavy PDFs for the upload tests, made on the fly: decompression bombs (small
 * files whose streams inflate to hundreds of megabytes), a parser bomb, and a legitimate
 * scan-sized file.
 */
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';

const MB = 1024 * 1024;

/** Deflates `total` bytes of one repeated byte (plus a prefix) without ever holding them. */
async function deflateRepeated(total: number, prefix = Buffer.alloc(0), byte = 0x20): Promise<Buffer> {
  const deflate = zlib.createDeflate({ level: 9 });
  const chunks: Buffer[] = [];
  deflate.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => deflate.on('end', resolve).on('error', reject));
  deflate.write(prefix);
  const block = Buffer.alloc(MB, byte);
  for (let left = total; left > 0; left -= block.length) {
    if (!deflate.write(left >= block.length ? block : block.subarray(0, left))) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return Buffer.concat(chunks);
}

type Part = Buffer | string;

/** A PDF file from its numbered objects (1, 2, …), with a cross-reference table and trailer. */
export function rawPdf(objects: Part[][], trailer = ''): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = parts[0].length;
  const offsets: number[] = [];
  objects.forEach((obj, i) => {
    offsets.push(offset);
    const bytes = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), ...obj.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)), Buffer.from('\nendobj\n')]);
    parts.push(bytes);
    offset += bytes.length;
  });
  const xref =
    `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n` +
    offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('') +
    `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R ${trailer}>>\nstartxref\n${offset}\n%%EOF\n`;
  parts.push(Buffer.from(xref));
  return Buffer.concat(parts);
}

export const streamObject = (dict: string, data: Buffer): Part[] => [`<< ${dict} /Length ${data.length} >>\nstream\n`, data, '\nendstream'];

const onePage = (contents = ''): Part[][] => [
  ['<< /Type /Catalog /Pages 2 0 R >>'],
  ['<< /Type /Pages /Kids [3 0 R] /Count 1 >>'],
  [`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] ${contents}>>`],
];

/**
 * The reviewer's bomb: an object stream (which a parser must inflate to read the objects in
 * it) of `inflated` bytes, mostly blanks after one small object.
 */
export async function objectStreamBomb(inflated = 128 * MB): Promise<Buffer> {
  const header = '4 0 ';
  const data = await deflateRepeated(inflated, Buffer.from(`${header}<< /Note (bomb) >>`));
  return rawPdf([...onePage(), streamObject(`/Type /ObjStm /N 1 /First ${header.length} /Filter /FlateDecode`, data)]);
}

/** A page whose content stream is Flate inside Flate: 600 MB of page from a file of a few KB. */
export async function nestedContentBomb(inflated = 600 * MB): Promise<Buffer> {
  const inner = await deflateRepeated(inflated);
  const outer = zlib.deflateSync(inner, { level: 9 });
  return rawPdf([...onePage('/Contents 4 0 R '), streamObject('/Filter [/FlateDecode /FlateDecode]', outer)]);
}

/**
 * A parser bomb without any compression: a cross-reference stream that claims a hundred
 * million entries, which pdf-lib tries to list one object each. Only the thread's heap
 * limit (or its time limit) stops it.
 */
export function crossReferenceBomb(): Buffer {
  return rawPdf([...onePage(), streamObject('/Type /XRef /Size 100000000 /W [1 2 1] /Index [0 100000000]', Buffer.alloc(16))]);
}

/**
 * A legitimate scan-sized PDF made with pdf-lib, of about `targetBytes`: `pages` pages, each a
 * full-page gray Flate image (paper-like noise, which compresses about 3.5 to 1) and a
 * JPEG-coded image filling the rest, saved with object streams as modern writers do.
 */
export async function largeScanPdf(targetBytes = 18 * MB, pages = 6): Promise<Buffer> {
  const { PDFDocument, PDFName } = await import('pdf-lib');
  const doc = await PDFDocument.create();
  const perPage = Math.floor(targetBytes / pages);
  for (let p = 0; p < pages; p++) {
    const page = doc.addPage([595, 842]);
    const width = 2480;
    const height = Math.ceil((perPage * 2) / width);
    const raw = randomBytes(width * height);
    for (let i = 0; i < raw.length; i++) raw[i] = 0xfc | (raw[i] & 0x03);
    const flate = zlib.deflateSync(raw);
    const gray = doc.context.stream(flate, { Type: 'XObject', Subtype: 'Image', Width: width, Height: height, ColorSpace: 'DeviceGray', BitsPerComponent: 8, Filter: 'FlateDecode' });
    // Image codecs are never decoded on the server: only their bytes count.
    const jpeg = doc.context.stream(randomBytes(Math.max(0, perPage - flate.length)), { Type: 'XObject', Subtype: 'Image', Width: 2480, Height: 3508, ColorSpace: 'DeviceRGB', BitsPerComponent: 8, Filter: 'DCTDecode' });
    const resources = doc.context.obj({ XObject: { G: doc.context.register(gray), J: doc.context.register(jpeg) } });
    page.node.set(PDFName.of('Resources'), resources);
    page.node.set(PDFName.of('Contents'), doc.context.register(doc.context.flateStream('q 595 0 0 842 0 0 cm /G Do Q q 100 0 0 100 0 0 cm /J Do Q')));
  }
  return Buffer.from(await doc.save({ useObjectStreams: true }));
}
