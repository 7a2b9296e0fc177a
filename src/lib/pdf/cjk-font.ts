/**
 * The CJK font every PDF the registry renders embeds (certificates, acceptance receipts):
 * PDFKit's built-in fonts have no Chinese.
 */
import fs from 'node:fs';
import * as fontkit from 'fontkit';
import PDFDocument from 'pdfkit';

/** Debian's fonts-wqy-zenhei (installed by scripts/ensure-deps.sh and the Dockerfile). */
export const CJK_FONT = { path: process.env.CERT_FONT_PATH ?? '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc', family: 'WenQuanYiZenHei' };

// Parsing the 17 MB CJK font took most of a certificate's time: parse it once per process
// (PDFKit takes a parsed fontkit font, and subsets it per document).
let cjkFont: fontkit.Font | null = null;

/** The parsed font, loaded on first use (no I/O at import time). */
export function loadCjkFont(): fontkit.Font {
  if (!cjkFont) {
    if (!fs.existsSync(CJK_FONT.path)) throw new Error(`CJK font missing at ${CJK_FONT.path}: install fonts-wqy-zenhei`);
    cjkFont = fontkit.openSync(CJK_FONT.path, CJK_FONT.family) as fontkit.Font;
  }
  return cjkFont;
}

/** A new A4 document set in the CJK font, and the bytes it makes once ended (`doc.end()`). */
export function cjkPdf(info: { Title: string; Author: string }): { doc: PDFKit.PDFDocument; done: Promise<Buffer> } {
  const font = loadCjkFont();
  const doc = new PDFDocument({ size: 'A4', margin: 56, info });
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
