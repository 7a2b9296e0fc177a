/**
 * The CJK font every PDF the registry renders embeds (certificates, acceptance receipts):
 * PDFKit's built-in fonts have no Chinese.
 */
import fs from 'node:fs';
import type * as Fontkit from 'fontkit';
import type PDFKitDocument from 'pdfkit';
import { lazy, lazyWhileUsed } from '../lazy';

// Loaded by the process that renders a PDF, when it first does.
const fontkit = lazy(() => require('fontkit') as typeof Fontkit);
const PDFDocument = lazy(() => require('pdfkit') as typeof PDFKitDocument);

/** Debian's fonts-wqy-zenhei (installed by scripts/ensure-deps.sh and the Dockerfile). */
export const CJK_FONT = { path: process.env.CERT_FONT_PATH ?? '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc', family: 'WenQuanYiZenHei' };

// Parsing the 17 MB CJK font took most of a certificate's time: parse it once per process
// (PDFKit takes a parsed fontkit font, and subsets it per document).
// It holds the 17 MB file and its tables, so an idle process lets it go: a worker that renders
// no certificate for FONT_IDLE_MS is back to its idle size, and parses it again when needed.
/** The parsed font, loaded on first use (no I/O at import time), kept while it is in use. */
export const loadCjkFont = lazyWhileUsed((): Fontkit.Font => {
  if (!fs.existsSync(CJK_FONT.path)) throw new Error(`CJK font missing at ${CJK_FONT.path}: install fonts-wqy-zenhei`);
  return fontkit().openSync(CJK_FONT.path, CJK_FONT.family) as Fontkit.Font;
}, 60_000);

/** A new A4 document set in the CJK font, and the bytes it makes once ended (`doc.end()`). */
export function cjkPdf(info: { Title: string; Author: string }): { doc: PDFKit.PDFDocument; done: Promise<Buffer> } {
  const font = loadCjkFont();
  const doc = new (PDFDocument())({ size: 'A4', margin: 56, info });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.registerFont('cjk', font as never);
  doc.font('cjk');
  return { doc, done };
}
