/**
 * The PDF check in its own process: decompression and parser bombs are refused with the
 * budget or limit they hit, legitimate files (a scan-sized one included) pass, and none of it
 * is parsed in this process.
 */
import zlib from 'node:zlib';
import { PDFDocument } from 'pdf-lib';
import { checkPdf, closePdfChecks, PdfCheckBusy, PDF_LIMITS } from '../../src/lib/pdf/inspect-pdf';
import { makePdf } from '../support/fixtures';
import { crossReferenceBomb, largeScanPdf, nestedContentBomb, objectStreamBomb, rawPdf, streamObject } from '../support/pdf-bombs';

afterAll(async () => {
  await closePdfChecks();
});

const MB = 1024 * 1024;

it('reads a page count from an ordinary PDF', async () => {
  const result = await checkPdf(await makePdf());
  expect(result).toMatchObject({ ok: true, pages: 1 });
});

it('refuses an object-stream bomb at the held budget, inflating no more than that budget', async () => {
  const bomb = await objectStreamBomb(128 * MB);
  expect(bomb.length).toBeLessThan(200 * 1024);
  expect(await checkPdf(bomb)).toEqual({ ok: false, reason: 'held' });
});

it('refuses a nested content-stream bomb at the inflated budget', async () => {
  const bomb = await nestedContentBomb(600 * MB);
  expect(bomb.length).toBeLessThan(10 * 1024);
  expect(await checkPdf(bomb)).toEqual({ ok: false, reason: 'inflated' });
});

it('counts inflation exactly against a smaller budget (so the cap is the cap)', async () => {
  const bomb = await nestedContentBomb(64 * MB);
  const within = await checkPdf(bomb, { inflatedBytes: 65 * MB });
  expect(within).toMatchObject({ ok: true, pages: 1 });
  expect((within as { inflatedBytes: number }).inflatedBytes).toBeGreaterThanOrEqual(64 * MB);
  expect(await checkPdf(bomb, { inflatedBytes: 63 * MB })).toEqual({ ok: false, reason: 'inflated' });
});

it('refuses a stream chaining a thousand filters (each an inflater of its own) before inflating any', async () => {
  const page = [['<< /Type /Catalog /Pages 2 0 R >>'], ['<< /Type /Pages /Kids [3 0 R] /Count 1 >>'], ['<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>']];
  const chained = rawPdf([...page, streamObject(`/Filter [${'/FlateDecode '.repeat(1000)}]`, zlib.deflateSync('BT ET'))]);
  expect(await checkPdf(chained)).toEqual({ ok: false, reason: 'filters' });
});

it('holds streams that only pdf-lib decodes (RunLength, 128 to 1) to the held budget', async () => {
  const page = [['<< /Type /Catalog /Pages 2 0 R >>'], ['<< /Type /Pages /Kids [3 0 R] /Count 1 >>'], ['<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>']];
  // Each pair [129, byte] repeats the byte 128 times; 128 ends the data.
  const runs = (n: number) => Buffer.concat([Buffer.from(Array.from({ length: n }, () => [129, 0x20]).flat()), Buffer.from([128])]);
  const small = rawPdf([...page, streamObject('/Filter /RunLengthDecode', runs(1024))]);
  expect(await checkPdf(small)).toMatchObject({ ok: true, inflatedBytes: expect.any(Number) });
  const bomb = rawPdf([...page, streamObject('/Filter [/RunLengthDecode /FlateDecode]', runs(300 * 1024))]);
  expect(await checkPdf(bomb)).toEqual({ ok: false, reason: 'held' });
});

it('stops a parser bomb with the check process heap limit, and the next check still works', async () => {
  expect(await checkPdf(crossReferenceBomb())).toEqual({ ok: false, reason: expect.stringMatching(/^(memory|time)$/) });
  expect(await checkPdf(await makePdf())).toMatchObject({ ok: true, pages: 1 });
});

it('ends a check that runs past its time limit, and the next check still works', async () => {
  expect(await checkPdf(crossReferenceBomb(), { runMs: 300 })).toEqual({ ok: false, reason: 'time' });
  expect(await checkPdf(await makePdf())).toMatchObject({ ok: true, pages: 1 });
});

it('refuses checks beyond the waiting line at once as busy, and serves the others', async () => {
  const pdf = await makePdf();
  const room = PDF_LIMITS.processes + PDF_LIMITS.maxQueue;
  const checks = Array.from({ length: room + 1 }, () => checkPdf(pdf));
  await expect(checks[room]).rejects.toBeInstanceOf(PdfCheckBusy);
  const served = await Promise.all(checks.slice(0, room));
  expect(served.every((r) => r.ok)).toBe(true);
});

it('passes a legitimate scan-sized PDF (18 MB) and reports what it inflates to', async () => {
  const scan = await largeScanPdf(18 * MB);
  expect(scan.length).toBeGreaterThan(15 * MB);
  expect(scan.length).toBeLessThan(20 * MB);
  const result = await checkPdf(scan);
  expect(result).toMatchObject({ ok: true, pages: 6 });
  expect((result as { inflatedBytes: number }).inflatedBytes).toBeGreaterThan(scan.length);
  expect((result as { inflatedBytes: number }).inflatedBytes).toBeLessThan(PDF_LIMITS.inflatedBytes);
});

it('never parses in the calling process', async () => {
  const load = jest.spyOn(PDFDocument, 'load');
  await checkPdf(await objectStreamBomb(64 * MB));
  await checkPdf(await makePdf());
  expect(load).not.toHaveBeenCalled();
  load.mockRestore();
});
