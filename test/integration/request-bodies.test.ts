/**
 * The other parsers of untrusted input, fed the same amplification tricks: compressed JSON and
 * form bodies that inflate past the limit, deep nesting, too many parameters, and multipart
 * bodies with too many parts or fields, huge fields and huge part headers. Each gets a clear
 * 4xx in the API error shape, never a 5xx.
 */
import zlib from 'node:zlib';
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/harness';
import { completeContract, makePdf, verifiedApplicant } from '../support/fixtures';

const MB = 1024 * 1024;

let t: TestApp;
let token: string;
let draftId: string;

beforeAll(async () => {
  t = await startTestApp();
  token = (await verifiedApplicant(t.app)).token;
  draftId = (await request(t.app).post('/api/v1/contracts').set('Authorization', `Bearer ${token}`).send(completeContract()).expect(201)).body.id;
});
afterAll(async () => {
  await t.close();
});

/** Sends bytes as they are (superagent would serialise a Buffer as JSON). */
const raw = (bytes: Buffer) => (_: unknown) => bytes as unknown as string;

function expectApiError(res: request.Response, status: number, code: string, reason?: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/json/);
  expect(res.body.error.code).toBe(code);
  if (reason) expect(res.body.error.reason).toBe(reason);
  expect(typeof res.body.error.message).toBe('string');
  expect(JSON.stringify(res.body)).not.toMatch(/\bat [\w.<>]+ \(|node_modules|\.ts:\d+/);
}

describe('JSON bodies', () => {
  it('refuses a gzip bomb (50 MB of JSON in a few KB) once 256 KB have inflated: 413', async () => {
    const json = Buffer.concat([Buffer.from('{"email":"'), Buffer.alloc(50 * MB, 0x61), Buffer.from('","password":"x"}')]);
    for (const [encoding, body] of [
      ['gzip', zlib.gzipSync(json)],
      ['deflate', zlib.deflateSync(json)],
      ['br', zlib.brotliCompressSync(json)],
    ] as const) {
      expect(body.length).toBeLessThan(100 * 1024);
      const res = await request(t.app).post('/api/v1/tokens').set('Content-Type', 'application/json').set('Content-Encoding', encoding).serialize(raw(body)).send(body);
      expectApiError(res, 413, 'PAYLOAD_TOO_LARGE');
    }
  });

  it('answers a body that is not what its encoding says with 400, and an unknown encoding with 415', async () => {
    const notGzip = Buffer.from('not gzip at all');
    const garbage = await request(t.app).post('/api/v1/tokens').set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').serialize(raw(notGzip)).send(notGzip);
    expectApiError(garbage, 400, 'BAD_REQUEST');
    const unknown = await request(t.app).post('/api/v1/tokens').set('Content-Type', 'application/json').set('Content-Encoding', 'x-bomb').send('{}');
    expectApiError(unknown, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers JSON nested 100,000 deep (within the size limit) with a 4xx', async () => {
    const deep = `{"title":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expect(deep.length).toBeLessThan(256 * 1024);
    const res = await request(t.app).patch(`/api/v1/contracts/${draftId}`).set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(deep);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.error.code).toMatch(/^[A-Z_]+$/);
  });
});

describe('form bodies', () => {
  it('refuses a compressed form that inflates past 256 KB (413), and too many parameters (4xx)', async () => {
    const form = zlib.gzipSync(Buffer.from(`email=${'a'.repeat(20 * MB)}&password=x`));
    const bomb = await request(t.app).post('/api/v1/tokens').set('Content-Type', 'application/x-www-form-urlencoded').set('Content-Encoding', 'gzip').serialize(raw(form)).send(form);
    expectApiError(bomb, 413, 'PAYLOAD_TOO_LARGE');
    const many = Array.from({ length: 2000 }, (_, i) => `p${i}=1`).join('&');
    const res = await request(t.app).post('/api/v1/tokens').set('Content-Type', 'application/x-www-form-urlencoded').send(many);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.error.code).toMatch(/^[A-Z_]+$/);
  });
});

describe('multipart uploads', () => {
  const url = () => `/api/v1/contracts/${draftId}/attachments`;
  const post = () => request(t.app).post(url()).set('Authorization', `Bearer ${token}`);

  it('refuses too many fields or files and a huge field with 400 and the limit hit', async () => {
    const pdf = await makePdf();
    let fields = post();
    for (let i = 0; i < 200; i++) fields = fields.field(`f${i}`, 'x');
    expectApiError(await fields.attach('file', pdf, 'a.pdf'), 400, 'BAD_REQUEST', 'LIMIT_FIELD_COUNT');
    expectApiError(await post().field('note', 'n'.repeat(1 * MB)).attach('file', pdf, 'a.pdf'), 400, 'BAD_REQUEST', 'LIMIT_FIELD_VALUE');
    expectApiError(await post().attach('file', pdf, 'a.pdf').attach('file', pdf, 'b.pdf'), 400, 'BAD_REQUEST', 'LIMIT_FILE_COUNT');
  });

  it('refuses a part header of 1 MB, a long field name and nested or indexed field names with 400', async () => {
    const pdf = await makePdf();
    expectApiError(await post().attach('file', pdf, `${'n'.repeat(1 * MB)}.pdf`), 400, 'BAD_REQUEST', 'MALFORMED_MULTIPART');
    expectApiError(await post().field('k'.repeat(10 * 1024), 'x').attach('file', pdf, 'a.pdf'), 400, 'BAD_REQUEST', 'LIMIT_FIELD_KEY');
    expectApiError(await post().field('a[b][c][d]', 'x').attach('file', pdf, 'a.pdf'), 400, 'BAD_REQUEST', 'LIMIT_FIELD_NESTING');
    expectApiError(await post().field('a[99999999]', 'x').attach('file', pdf, 'a.pdf'), 400, 'BAD_REQUEST', 'LIMIT_FIELD_ARRAY_INDEX');
  });

  it('answers parts without a field name with 400, not 500', async () => {
    const boundary = 'xBOUNDARYx';
    const body = (disposition: string) =>
      Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\nvalue\r\n--${boundary}--\r\n`);
    for (const disposition of ['form-data', 'form-data; filename="a.pdf"']) {
      const bytes = body(disposition);
      const res = await post().set('Content-Type', `multipart/form-data; boundary=${boundary}`).serialize(raw(bytes)).send(bytes);
      expectApiError(res, 400, 'BAD_REQUEST', 'MISSING_FIELD_NAME');
    }
  });

  it('refuses a file over 20 MB with 413', async () => {
    const res = await post().attach('file', Buffer.alloc(21 * MB, 0x20), 'big.pdf');
    expectApiError(res, 413, 'PAYLOAD_TOO_LARGE', 'FILE_TOO_LARGE');
  });
});
