/**
 * The live stream under pressure: a client that stops reading is cut off instead of being
 * buffered for, one address cannot take every stream, and a burst of figures is sent as few.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { turnoverChannel, turnoverKey } from '../../src/modules/turnover/turnover.service';
import { startTestApp, waitFor, type TestApp } from '../support/harness';
import { eventStreamReader } from '../../scripts/sse';

const MAX_BUFFERED = 4096;
const PER_ADDRESS = 2;

let t: TestApp;
let server: http.Server;
let port: number;

beforeAll(async () => {
  t = await startTestApp({ TRUST_PROXY: '1', SSE_MAX_CLIENTS_PER_IP: String(PER_ADDRESS), SSE_MAX_BUFFERED_BYTES: String(MAX_BUFFERED) });
  // As a web process listens: the front door answers the stream before Express.
  server = http.createServer(t.handler).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await t.close(); // ends every stream, so the server can close
  await new Promise((r) => server.close(r));
});

type Event = { year: number; sequence: number; contracts: number };

/** A reading SSE client: its status, headers, parsed "turnover" events, and a way to hang up. */
function openStream(year: number, forwardedFor: string) {
  const events: Event[] = [];
  let body = '';
  let req: http.ClientRequest | undefined;
  const answer = new Promise<{ status: number; contentType: string }>((resolve, reject) => {
    req = http.get({ host: '127.0.0.1', port, path: `/api/v1/public/turnover/stream?year=${year}`, agent: false, headers: { 'X-Forwarded-For': forwardedFor } }, (res) => {
      resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']) });
      const read = eventStreamReader((name, data) => name === 'turnover' && events.push(data as Event));
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
        read(chunk);
      });
      res.on('error', () => undefined);
    });
    req.on('error', reject);
  });
  return { answer, events, body: () => body, close: () => void req?.destroy() };
}

/** Announces a figure for `year` as the refresh path does (over Redis), optionally padded to `padBytes`. */
async function announce(year: number, sequence: number, padBytes = 0) {
  const payload = { year, sequence, contracts: sequence, contractAmount: '0.00', technicalAmount: '0.00', progress: 0, pad: 'x'.repeat(padBytes) };
  await t.redis.publish(turnoverChannel(t.config.queuePrefix), JSON.stringify(payload));
}

describe('a client that stops reading', () => {
  it('is dropped once its backlog passes the bound, while a reading client keeps its stream', async () => {
    const year = 2041;
    const reader = openStream(year, '198.51.100.1');
    expect((await reader.answer).status).toBe(200);
    await waitFor(() => reader.events.length === 1, 5_000, 10);

    // A raw socket that asks for the stream and then never reads a byte of it.
    const before = t.turnover.clientCount;
    const stalled = net.connect(port, '127.0.0.1');
    stalled.on('error', () => undefined);
    let stalledClosed = false;
    stalled.on('close', () => (stalledClosed = true));
    await new Promise((r) => stalled.once('connect', r));
    stalled.pause();
    stalled.write(`GET /api/v1/public/turnover/stream?year=${year} HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 198.51.100.2\r\n\r\n`);
    await waitFor(() => t.turnover.clientCount === before + 1, 5_000, 10);

    // Large figures until the kernel's buffers are full and the hub sees the backlog grow.
    let sequence = 1000;
    await waitFor(
      async () => {
        await announce(year, ++sequence, 512 * 1024);
        return t.turnover.clientCount === before;
      },
      20_000,
      150,
    );
    expect(t.turnover.stats().dropped).toBeGreaterThanOrEqual(1);
    // What the hub held for it never went past the bound plus the one event that crossed it.
    expect(t.turnover.stats().peakBacklogBytes).toBeLessThanOrEqual(MAX_BUFFERED + 600 * 1024);
    // The server closed it: reading again, the client drains what was sent and then meets the end.
    stalled.resume();
    await waitFor(() => stalledClosed, 5_000, 10);

    // The reading client was not punished: it is still connected and gets the newest figure.
    await announce(year, ++sequence);
    await waitFor(() => reader.events.at(-1)?.sequence === sequence, 5_000, 10);
    reader.close();
    await waitFor(() => t.turnover.clientCount === before - 1, 5_000, 10);
  });
});

describe('streams per client address', () => {
  it('refuses one stream past the cap from an address, accepts another address, and frees the slot on close', async () => {
    const year = 2042;
    const first = [openStream(year, '203.0.113.5'), openStream(year, '203.0.113.5')];
    for (const s of first) expect((await s.answer).status).toBe(200);

    const over = openStream(year, '203.0.113.5');
    expect(await over.answer).toMatchObject({ status: 429, contentType: expect.stringMatching(/json/) });
    await waitFor(() => over.body().length > 0 && over.body().endsWith('}'), 5_000, 10);
    expect(JSON.parse(over.body())).toMatchObject({ error: { code: 'RATE_LIMITED', reason: 'TOO_MANY_STREAMS_FROM_ADDRESS' } });

    const other = openStream(year, '203.0.113.6');
    expect((await other.answer).status).toBe(200);
    expect(t.turnover.stats().addresses).toBeGreaterThanOrEqual(2);

    // Hanging up gives the slot back.
    const count = t.turnover.clientCount;
    first[0].close();
    await waitFor(() => t.turnover.clientCount === count - 1, 5_000, 10);
    const again = openStream(year, '203.0.113.5');
    expect((await again.answer).status).toBe(200);

    for (const s of [first[1], other, again]) s.close();
    await waitFor(() => t.turnover.clientCount === count - 3, 5_000, 10);
  });

  it('counts an IPv6 client by its /64, so rotating addresses within it does not evade the cap', async () => {
    const year = 2043;
    const a = openStream(year, '2001:db8:1:2::10');
    const b = openStream(year, '2001:db8:1:2::11');
    for (const s of [a, b]) expect((await s.answer).status).toBe(200);
    const c = openStream(year, '2001:db8:1:2:ffff::12');
    expect((await c.answer).status).toBe(429);
    const elsewhere = openStream(year, '2001:db8:1:3::10');
    expect((await elsewhere.answer).status).toBe(200);
    const count = t.turnover.clientCount;
    for (const s of [a, b, elsewhere]) s.close();
    await waitFor(() => t.turnover.clientCount === count - 3, 5_000, 10);
  });
});

describe('fan-out', () => {
  it('sends a stream only its own year, and a burst of figures as fewer events ending with the newest', async () => {
    const year = 2044;
    const s = openStream(year, '192.0.2.44');
    expect((await s.answer).status).toBe(200);
    await waitFor(() => s.events.length === 1, 5_000, 10);
    await announce(2045, 5); // another year's figure: not for this stream
    for (let seq = 1; seq <= 40; seq++) await announce(year, seq);
    await waitFor(() => s.events.at(-1)?.sequence === 40, 5_000, 10);
    const received = s.events.slice(1);
    expect(received.every((e) => e.year === year)).toBe(true);
    expect(received.length).toBeLessThan(40);
    s.close();
  });
});

describe('after the subscription comes back', () => {
  it('reloads each remembered year once and then stops (it used to reload and broadcast for ever)', async () => {
    const year = 2046;
    const s = openStream(year, '192.0.2.46');
    expect((await s.answer).status).toBe(200);
    await waitFor(() => s.events.length === 1, 5_000, 10);
    await t.turnover.current(2047);
    // A figure published while this process was not listening: the reload must pick it up.
    const missed = { ...s.events[0], sequence: 9_999, contracts: 4_242 };
    await t.redis.set(turnoverKey(t.config.queuePrefix, year), JSON.stringify(missed));
    const get = jest.spyOn(t.redis, 'get');
    try {
      await t.turnover.reload();
      const reads = get.mock.calls.filter(([key]) => /:turnover:\d{4}$/.test(String(key))).length;
      expect(reads).toBeGreaterThanOrEqual(2); // 2046 and 2047 at least (other years remembered by earlier tests too)
      await t.turnover.reload();
      // A second reload reads each year once more, no more: the loop ends.
      expect(get.mock.calls.filter(([key]) => /:turnover:\d{4}$/.test(String(key))).length).toBe(2 * reads);
    } finally {
      get.mockRestore();
    }
    await waitFor(() => s.events.at(-1)?.contracts === 4_242, 5_000, 10);
    s.close();
  });
});
