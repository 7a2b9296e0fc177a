/**
 * The front door: the anonymous homepage, the turnover JSON and its stream answered before
 * Express, from prepared bytes. They must be the very answers Express gives (body, ETag,
 * security headers, language), and everything else must reach Express untouched.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { cstYear } from '../../src/domain/time';
import { yearOf } from '../../src/modules/public/front-door';
import { eventStreamReader } from '../../scripts/sse';
import { bearer, makeBureauUser, PASSWORD, reviewerToken, signedInAgent, verifiedApplicant } from '../support/fixtures';
import { registeredContract } from '../support/registrations';
import { startTestApp, waitFor, type TestApp } from '../support/harness';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

/** The headers helmet sets, which both paths must carry alike. */
const SECURITY = ['content-security-policy', 'cross-origin-opener-policy', 'cross-origin-resource-policy', 'origin-agent-cluster', 'referrer-policy', 'x-content-type-options', 'x-dns-prefetch-control', 'x-download-options', 'x-frame-options', 'x-permitted-cross-domain-policies', 'x-xss-protection'];

describe('the anonymous homepage', () => {
  it('is the page Express renders, byte for byte, with the same ETag and security headers', async () => {
    const front = await request(t.handler).get('/').expect(200);
    const express = await request(t.app).get('/').expect(200);
    expect(front.text).toBe(express.text);
    expect(front.headers.etag).toBe(express.headers.etag);
    expect(front.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(front.headers['cache-control']).toBe('no-cache');
    expect(front.headers['content-length']).toBe(String(Buffer.byteLength(front.text)));
    for (const h of SECURITY) {
      expect([h, front.headers[h]]).toEqual([h, express.headers[h]]);
      expect(front.headers[h]).toBeTruthy();
    }
    expect(front.headers['x-powered-by']).toBeUndefined();
    expect(front.text).toContain('data-turnover');
  });

  it('answers 304 to its ETag, bodiless HEAD, and a full page to no-cache', async () => {
    const first = await request(t.handler).get('/').expect(200);
    const again = await request(t.handler).get('/').set('If-None-Match', first.headers.etag).expect(304);
    expect(again.text ?? '').toBe('');
    await request(t.handler).get('/').set('If-None-Match', `"other", W/${first.headers.etag}`).expect(304);
    await request(t.handler).get('/').set('If-None-Match', '"other"').expect(200);
    await request(t.handler).get('/').set({ 'If-None-Match': first.headers.etag, 'Cache-Control': 'no-cache' }).expect(200);
    const head = await request(t.handler).head('/').expect(200);
    expect(head.headers.etag).toBe(first.headers.etag);
    expect(head.text ?? '').toBe('');
  });

  it('follows the language cookie, as the pages do', async () => {
    const zh = await request(t.handler).get('/').expect(200);
    const en = await request(t.handler).get('/').set('Cookie', 'lang=en').expect(200);
    const enExpress = await request(t.app).get('/').set('Cookie', 'lang=en').expect(200);
    expect(zh.text).toMatch(/<html lang="zh-CN"/);
    expect(en.text).toMatch(/<html lang="en"/);
    expect(en.text).toBe(enExpress.text);
    expect(en.headers.etag).not.toBe(zh.headers.etag);
    // Pages do not follow Accept-Language (the cookie is the choice): the same Chinese page.
    expect((await request(t.handler).get('/').set('Accept-Language', 'en').expect(200)).headers.etag).toBe(zh.headers.etag);
  });

  it('leaves signed-in visitors, other queries and other methods to Express', async () => {
    const admin = await makeBureauUser('admin');
    const agent = await signedInAgent(t.app, admin.email, PASSWORD);
    const cookie = (agent as unknown as { jar: { getCookies(o: object): { toValueString(): string }[] } }).jar
      .getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false })
      .map((c) => c.toValueString())
      .join('; ');
    expect(cookie).toContain('tcr.sid=');
    const mine = await request(t.handler).get('/').set('Cookie', cookie).expect(200);
    expect(mine.text).toContain('/admin/organizations'); // the bureau's navigation: rendered for the person
    // Express's own rendering carries its weak ETag, not the prepared page's.
    expect(mine.headers.etag).toMatch(/^W\//);
    // Another query: Express's anonymous route, which serves the same prepared page.
    const tagged = await request(t.handler).get('/?from=newsletter').expect(200);
    expect(tagged.headers.etag).toBe((await request(t.handler).get('/')).headers.etag);
    await request(t.handler).post('/').expect(403); // CSRF refusal from Express, not the front door
  });
});

describe('the turnover JSON', () => {
  it('is what Express answers, with its caching headers, for this year and a chosen one', async () => {
    const front = await request(t.handler).get('/api/v1/public/turnover').expect(200);
    const express = await request(t.app).get('/api/v1/public/turnover').expect(200);
    expect(front.body).toEqual(express.body);
    expect(front.body.year).toBe(cstYear(new Date()));
    expect(front.headers.etag).toBe(express.headers.etag);
    expect(front.headers['cache-control']).toBe('public, max-age=5');
    expect(front.headers['content-type']).toBe('application/json; charset=utf-8');
    for (const h of SECURITY) expect([h, front.headers[h]]).toEqual([h, express.headers[h]]);
    await request(t.handler).get('/api/v1/public/turnover').set('If-None-Match', front.headers.etag).expect(304);
    expect((await request(t.handler).get('/api/v1/public/turnover?year=2031').expect(200)).body).toMatchObject({ year: 2031, contracts: 0, contractAmount: '0.00' });
  });

  it('sends bad years to Express, which refuses them in the API error shape', async () => {
    for (const q of ['year=abc', 'year=1999', 'year=20255', 'year=2025&year=2026']) {
      const res = await request(t.handler).get(`/api/v1/public/turnover?${q}`).expect(422);
      expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(res.text).not.toMatch(/at .*\.ts:\d+/);
    }
    expect(yearOf('year=2030')).toBe(2030);
    expect(yearOf('')).toBe(cstYear(new Date()));
    expect(yearOf('year=2030&x=1')).toBeNull();
  });

  it('changes, with a new ETag, when a contract is registered', async () => {
    const before = await request(t.handler).get('/api/v1/public/turnover').expect(200);
    const page = await request(t.handler).get('/').expect(200);
    const a = await verifiedApplicant(t.app);
    await registeredContract(t.app, a.token, await reviewerToken(t.app), { contractAmount: '12345.67', technicalAmount: '12345.67', deductions: [] });
    await waitFor(async () => (await request(t.handler).get('/api/v1/public/turnover')).body.contracts === before.body.contracts + 1, 10_000, 50);
    const after = await request(t.handler).get('/api/v1/public/turnover').expect(200);
    expect(after.headers.etag).not.toBe(before.headers.etag);
    expect(Math.round(Number(after.body.contractAmount) * 100) - Math.round(Number(before.body.contractAmount) * 100)).toBe(1_234_567);
    await request(t.handler).get('/api/v1/public/turnover').set('If-None-Match', before.headers.etag).expect(200);
    const newPage = await request(t.handler).get('/').expect(200);
    expect(newPage.headers.etag).not.toBe(page.headers.etag);
  });
});

describe('the stream through the front door', () => {
  it('opens with the security headers and the figure, and carries the next registration', async () => {
    const server = http.createServer(t.handler).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    const events: { contracts: number; contractAmount: string }[] = [];
    let headers: http.IncomingHttpHeaders = {};
    const req = http.get({ host: '127.0.0.1', port, path: '/api/v1/public/turnover/stream', agent: false }, (res) => {
      headers = res.headers;
      res.on('data', eventStreamReader((name, data) => name === 'turnover' && events.push(data as never)));
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    try {
      await waitFor(() => events.length === 1, 5_000, 10);
      expect(headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(headers['transfer-encoding']).toBe('chunked');
      for (const h of SECURITY) expect(headers[h]).toBeTruthy();
      const a = await verifiedApplicant(t.app);
      await registeredContract(t.app, a.token, await reviewerToken(t.app), { contractAmount: '500.05', technicalAmount: '500.05', deductions: [] });
      await waitFor(() => events.at(-1)!.contracts === events[0].contracts + 1, 10_000, 10);
      expect(Math.round(Number(events.at(-1)!.contractAmount) * 100) - Math.round(Number(events[0].contractAmount) * 100)).toBe(50_005);
    } finally {
      req.destroy();
      await t.turnover.close(); // ends the streams so the server can close
      await new Promise((r) => server.close(r));
      await t.turnover.start();
    }
  });

  it('sends a bad year to Express (422 in the API shape)', async () => {
    const res = await request(t.handler).get('/api/v1/public/turnover/stream?year=nope').expect(422);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });
});

it('leaves the rest of the API to Express', async () => {
  await request(t.handler).get('/api/v1/me').expect(401);
  const a = await verifiedApplicant(t.app);
  await request(t.handler).get('/api/v1/me').set(bearer(a.token)).expect(200);
});
