/**
 * The live turnover figure in a web process: one Redis subscription per process, fanned out
 * to every Server-Sent-Events client, and the latest figure per year kept in memory, so the
 * homepage and the public API answer without touching the database.
 *
 * Nothing here grows without bound with the number, the slowness or the activity of clients:
 * - streams: at most `maxClients` in all, and `maxPerAddress` per client address (IPv6: /64);
 * - per stream: a client that leaves more than `maxBufferedBytes` unread is cut off rather
 *   than buffered for. EventSource reconnects by itself and gets the current figure at once,
 *   so cutting a lagging client loses it nothing. Keep-alives go only to idle streams;
 * - per figure: serialised and encoded once, into one Buffer that every socket shares (a
 *   string would be encoded per client, and copied per client while its socket is busy),
 *   already framed as an HTTP chunk and written straight to the socket: one write per client;
 * - per event: the streams are written in slices of `sliceSize`, yielding to the event loop
 *   between slices, so a fan-out to ten thousand streams never holds up the requests (the
 *   approval that caused it among them);
 * - per second: a year's streams get at most one figure per `minIntervalMs`, the newest,
 *   however fast registrations come, and only the streams of that year get it;
 * - loading a figure: one read per year at a time, however many clients arrive at once.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { AppError } from '../../lib/errors';
import { clientAddressKey } from '../../lib/http/client-address';
import type { Config } from '../../config';
import type { Logger } from '../../lib/logger';
import { getTally, turnoverChannel, turnoverKey, turnoverPayload, type TurnoverPayload } from './turnover.service';

/** Defaults; the configuration (SSE_MAX_CLIENTS, SSE_MAX_CLIENTS_PER_IP, SSE_MAX_BUFFERED_BYTES) overrides them. */
export const STREAM_LIMITS = {
  maxClients: 20_000,
  maxPerAddress: 200,
  maxBufferedBytes: 64 * 1024,
  minIntervalMs: 100,
  keepAliveMs: 25_000,
  sliceSize: 1000,
} as const;

export interface HubOptions {
  prefix: string;
  targetFen: number;
  logger: Logger;
  maxClients?: number;
  maxPerAddress?: number;
  maxBufferedBytes?: number;
  minIntervalMs?: number;
  keepAliveMs?: number;
  sliceSize?: number;
}

interface Stream {
  res: ServerResponse;
  socket: Socket;
  /** Whether the response's body is chunked (HTTP/1.1), so each event goes out framed as a chunk. */
  chunked: boolean;
  /** Its headers are out: until then fan-outs pass it by (it gets the newest figure when they are). */
  ready: boolean;
  year: number;
  address: string;
}

/** An event's bytes, encoded once: as an HTTP chunk, and bare (HTTP/1.0, close-delimited). */
interface Encoded {
  chunked: Buffer;
  bare: Buffer;
}

const encode = (text: string): Encoded => {
  const bare = Buffer.from(text);
  return { bare, chunked: Buffer.concat([Buffer.from(`${bare.length.toString(16)}\r\n`), bare, Buffer.from('\r\n')]) };
};

/** When a year's streams last got a figure, and the send already due, if any. */
interface Fanout {
  lastAt: number;
  timer: NodeJS.Timeout | null;
  /** A fan-out is writing its slices; a newer figure waits for it to finish. */
  running: boolean;
  again: boolean;
}

const RETRY = encode('retry: 2000\n\n');
// Comments keep idle connections open through proxies.
const KEEP_ALIVE = encode(': keep-alive\n\n');

export class TurnoverHub {
  private readonly streams = new Map<ServerResponse, Stream>();
  private readonly byYear = new Map<number, Set<Stream>>();
  private readonly perAddress = new Map<string, number>();
  private readonly latest = new Map<number, TurnoverPayload>();
  private readonly loading = new Map<number, Promise<TurnoverPayload>>();
  private readonly encoded = new WeakMap<TurnoverPayload, Encoded>();
  private readonly fanouts = new Map<number, Fanout>();
  private subscriber: Redis | null = null;
  private keepAlive: NodeJS.Timeout | null = null;
  private dropped = 0;
  private peakBacklog = 0;

  constructor(
    private readonly redis: Redis,
    private readonly opts: HubOptions,
  ) {}

  /** The hub of a web process, with the limits of its configuration. */
  static fromConfig(redis: Redis, config: Pick<Config, 'queuePrefix' | 'turnoverTargetFen' | 'sseMaxClients' | 'sseMaxClientsPerIp' | 'sseMaxBufferedBytes'>, logger: Logger): TurnoverHub {
    return new TurnoverHub(redis, {
      prefix: config.queuePrefix,
      targetFen: config.turnoverTargetFen,
      logger,
      maxClients: config.sseMaxClients,
      maxPerAddress: config.sseMaxClientsPerIp,
      maxBufferedBytes: config.sseMaxBufferedBytes,
    });
  }

  /** Bytes a stream may leave unread before it is cut off. */
  private get maxBuffered(): number {
    return this.opts.maxBufferedBytes ?? STREAM_LIMITS.maxBufferedBytes;
  }

  /** Subscribes (once) to the turnover channel on a connection of its own. */
  async start(): Promise<void> {
    if (this.subscriber) return;
    const sub = this.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: false });
    sub.on('error', (err) => this.opts.logger.debug({ err: err.message }, 'turnover subscriber error'));
    sub.on('message', (_channel, message) => this.receive(message));
    // After a Redis restart the subscription comes back by itself; catch up on what was missed.
    // (Redis also drops a subscriber that reads too slowly, e.g. while this process is busy.)
    sub.on('ready', () => void this.reload());
    this.subscriber = sub;
    await sub.subscribe(turnoverChannel(this.opts.prefix));
    this.keepAlive = setInterval(() => this.sendKeepAlives(), this.opts.keepAliveMs ?? STREAM_LIMITS.keepAliveMs);
    this.keepAlive.unref();
  }

  private receive(message: string): void {
    let payload: TurnoverPayload;
    try {
      payload = JSON.parse(message) as TurnoverPayload;
    } catch {
      this.opts.logger.warn('ignored a malformed turnover message');
      return;
    }
    if (typeof payload?.year !== 'number') return;
    // Announcements can cross: never go back to an older figure.
    if (isOlder(payload, this.latest.get(payload.year))) return;
    this.latest.set(payload.year, payload);
    this.announce(payload.year);
  }

  /** Forgets the remembered figures and loads each again (after the subscription came back). */
  async reload(): Promise<void> {
    // A copy: loading a year puts it back into the map, and a live iterator would visit it again, for ever.
    const years = [...this.latest.keys()];
    for (const year of years) {
      this.latest.delete(year);
      try {
        await this.current(year);
        this.announce(year);
      } catch (err) {
        this.opts.logger.debug({ err: (err as Error).message }, 'turnover refresh failed');
      }
    }
  }

  /** The year's figure: from memory, else Redis, else the stored tally (then remembered). */
  async current(year: number): Promise<TurnoverPayload> {
    const cached = this.latest.get(year);
    if (cached) return cached;
    // A crowd arriving at once (a restart, a reconnect storm) waits for one read, not one each.
    let load = this.loading.get(year);
    if (!load) {
      load = this.load(year).finally(() => this.loading.delete(year));
      this.loading.set(year, load);
    }
    return load;
  }

  private async load(year: number): Promise<TurnoverPayload> {
    let payload: TurnoverPayload | null = null;
    try {
      const json = await this.redis.get(turnoverKey(this.opts.prefix, year));
      if (json) payload = JSON.parse(json) as TurnoverPayload;
    } catch {
      // Redis away: the database has the same figure.
    }
    if (!payload) {
      const { tally, updatedAt, sequence } = await getTally(year);
      payload = turnoverPayload(tally, this.opts.targetFen, updatedAt, sequence);
    }
    // A newer figure may have been announced while this one was read.
    const known = this.latest.get(year);
    if (known && !isOlder(known, payload)) return known;
    this.latest.set(year, payload);
    return payload;
  }

  /**
   * Opens an SSE stream: the current figure at once, then every change. Past a cap it throws
   * (503 when the process is full, 429 when the client's address is), before anything is sent.
   */
  async attach(res: ServerResponse, year: number, clientAddress?: string): Promise<void> {
    // Each stream holds a socket: past the cap, say "come back later" rather than fall over.
    if (this.streams.size >= (this.opts.maxClients ?? STREAM_LIMITS.maxClients)) throw new AppError('UNAVAILABLE', { code: 'TOO_MANY_STREAMS' });
    const address = clientAddressKey(clientAddress);
    if ((this.perAddress.get(address) ?? 0) >= (this.opts.maxPerAddress ?? STREAM_LIMITS.maxPerAddress)) {
      throw new AppError('RATE_LIMITED', { code: 'TOO_MANY_STREAMS_FROM_ADDRESS', extra: { retryAfter: 30 } });
    }
    if (!res.socket) return;
    // Counted at once, before any wait, so a burst of arrivals cannot overrun the caps.
    const stream: Stream = { res, socket: res.socket, chunked: false, ready: false, year, address };
    this.add(stream);
    res.on('close', () => this.forget(stream));
    let payload: TurnoverPayload;
    try {
      payload = await this.current(year);
    } catch (err) {
      this.forget(stream);
      throw err;
    }
    if (res.destroyed) return this.forget(stream);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    // From here on the events go to the socket directly, each framed as Node would frame it
    // (one write per client instead of four); ending the response still writes the last chunk.
    stream.chunked = (res as unknown as { chunkedEncoding?: boolean }).chunkedEncoding === true;
    stream.ready = true;
    this.send(stream, RETRY);
    // A newer figure may have come while this one was read: it went to the others, and comes here now.
    const latest = this.latest.get(year);
    this.send(stream, this.chunkOf(latest && isOlder(payload, latest) ? latest : payload));
  }

  private add(s: Stream): void {
    this.streams.set(s.res, s);
    let set = this.byYear.get(s.year);
    if (!set) this.byYear.set(s.year, (set = new Set()));
    set.add(s);
    this.perAddress.set(s.address, (this.perAddress.get(s.address) ?? 0) + 1);
  }

  /** Removes a stream from every count; safe to call more than once. */
  private forget(s: Stream): void {
    if (this.streams.get(s.res) !== s) return;
    this.streams.delete(s.res);
    const set = this.byYear.get(s.year);
    set?.delete(s);
    if (set?.size === 0) this.byYear.delete(s.year);
    const n = (this.perAddress.get(s.address) ?? 1) - 1;
    if (n > 0) this.perAddress.set(s.address, n);
    else this.perAddress.delete(s.address);
  }

  /** Sends a year's newest figure to its streams: now, or at the end of the current interval. */
  private announce(year: number): void {
    let f = this.fanouts.get(year);
    if (!f) this.fanouts.set(year, (f = { lastAt: 0, timer: null, running: false, again: false }));
    if (f.timer) return; // a send is due already, and it will carry the newest figure
    if (f.running) {
      f.again = true; // sent when the fan-out under way is done
      return;
    }
    const wait = f.lastAt + (this.opts.minIntervalMs ?? STREAM_LIMITS.minIntervalMs) - Date.now();
    if (wait <= 0) return this.fanOut(year, f);
    const due = f;
    due.timer = setTimeout(() => {
      due.timer = null;
      this.fanOut(year, due);
    }, wait);
    due.timer.unref();
  }

  /** Writes the year's newest figure to its streams, a slice at a time, yielding between slices. */
  private fanOut(year: number, f: Fanout): void {
    f.lastAt = Date.now();
    const payload = this.latest.get(year);
    const streams = this.byYear.get(year);
    if (!payload || !streams) return;
    const chunk = this.chunkOf(payload);
    const targets = [...streams];
    const slice = this.opts.sliceSize ?? STREAM_LIMITS.sliceSize;
    f.running = true;
    const write = (from: number) => {
      const to = Math.min(targets.length, from + slice);
      for (let i = from; i < to; i++) this.send(targets[i], chunk);
      if (to < targets.length) return void setImmediate(write, to);
      f.running = false;
      if (f.again) {
        f.again = false;
        this.announce(year);
      }
    };
    write(0);
  }

  /** The event for a figure, encoded once. */
  private chunkOf(payload: TurnoverPayload): Encoded {
    let chunk = this.encoded.get(payload);
    if (!chunk) this.encoded.set(payload, (chunk = encode(`event: turnover\ndata: ${JSON.stringify(payload)}\n\n`)));
    return chunk;
  }

  /** Writes to a stream, unless its client has left more than its allowance unread: then it is cut off. */
  private send(s: Stream, chunk: Encoded): void {
    const { res, socket } = s;
    if (res.destroyed || res.writableEnded || socket.destroyed) return this.forget(s);
    if (!s.ready) return;
    // What the socket holds that the client has not taken yet.
    const backlog = socket.writableLength;
    if (backlog > this.maxBuffered) return this.cutOff(s, backlog);
    socket.write(s.chunked ? chunk.chunked : chunk.bare);
    if (socket.writableLength > this.peakBacklog) this.peakBacklog = socket.writableLength;
  }

  private cutOff(s: Stream, backlog: number): void {
    this.dropped++;
    this.opts.logger.debug({ address: s.address, backlog }, 'live stream cut off: its client is not reading');
    this.forget(s);
    // destroy, not end: end would keep the unread backlog until it drains, which it does not.
    s.res.destroy();
  }

  private sendKeepAlives(): void {
    for (const s of this.streams.values()) {
      const backlog = s.socket.writableLength;
      // A stream with bytes still waiting is not idle, and a keep-alive would only add to them.
      if (backlog > this.maxBuffered) this.cutOff(s, backlog);
      else if (backlog === 0) this.send(s, KEEP_ALIVE);
    }
  }

  get clientCount(): number {
    return this.streams.size;
  }

  /** For operators and tests: streams, distinct addresses, streams cut off, the largest backlog seen after a write. */
  stats(): { clients: number; addresses: number; dropped: number; peakBacklogBytes: number } {
    return { clients: this.streams.size, addresses: this.perAddress.size, dropped: this.dropped, peakBacklogBytes: this.peakBacklog };
  }

  /** Ends every stream and the subscription (graceful shutdown); `start` may be called again. */
  async close(): Promise<void> {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
    for (const f of this.fanouts.values()) if (f.timer) clearTimeout(f.timer);
    this.fanouts.clear();
    for (const s of [...this.streams.values()]) {
      this.forget(s);
      s.res.end();
    }
    if (this.subscriber) {
      this.subscriber.disconnect();
      this.subscriber = null;
    }
  }
}

/** True when `a` is an older figure than `b` (by ledger sequence). */
const isOlder = (a: TurnoverPayload, b: TurnoverPayload | undefined) => b !== undefined && (a.sequence ?? 0) < (b.sequence ?? 0);
