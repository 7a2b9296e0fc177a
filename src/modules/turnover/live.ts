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
 *   string would be encoded per client, and copied per client while its socket is busy);
 * - per second: a year's streams get at most one figure per `minIntervalMs`, the newest,
 *   however fast registrations come, and only the streams of that year get it;
 * - loading a figure: one read per year at a time, however many clients arrive at once.
 */
import type { Response } from 'express';
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
}

interface Stream {
  res: Response;
  year: number;
  address: string;
}

/** When a year's streams last got a figure, and the send already due, if any. */
interface Fanout {
  lastAt: number;
  timer: NodeJS.Timeout | null;
}

const RETRY = Buffer.from('retry: 2000\n\n');
// Comments keep idle connections open through proxies.
const KEEP_ALIVE = Buffer.from(': keep-alive\n\n');

export class TurnoverHub {
  private readonly streams = new Map<Response, Stream>();
  private readonly byYear = new Map<number, Set<Stream>>();
  private readonly perAddress = new Map<string, number>();
  private readonly latest = new Map<number, TurnoverPayload>();
  private readonly loading = new Map<number, Promise<TurnoverPayload>>();
  private readonly encoded = new WeakMap<TurnoverPayload, Buffer>();
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
  async attach(res: Response, year: number, clientAddress?: string): Promise<void> {
    // Each stream holds a socket: past the cap, say "come back later" rather than fall over.
    if (this.streams.size >= (this.opts.maxClients ?? STREAM_LIMITS.maxClients)) throw new AppError('UNAVAILABLE', { code: 'TOO_MANY_STREAMS' });
    const address = clientAddressKey(clientAddress);
    if ((this.perAddress.get(address) ?? 0) >= (this.opts.maxPerAddress ?? STREAM_LIMITS.maxPerAddress)) {
      throw new AppError('RATE_LIMITED', { code: 'TOO_MANY_STREAMS_FROM_ADDRESS', extra: { retryAfter: 30 } });
    }
    const stream: Stream = { res, year, address };
    this.add(stream);
    res.on('close', () => this.forget(stream));
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write(RETRY);
    this.send(stream, this.chunkOf(await this.current(year)));
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
    if (!f) this.fanouts.set(year, (f = { lastAt: 0, timer: null }));
    if (f.timer) return; // a send is due already, and it will carry the newest figure
    const wait = f.lastAt + (this.opts.minIntervalMs ?? STREAM_LIMITS.minIntervalMs) - Date.now();
    if (wait <= 0) return this.fanOut(year, f);
    const due = f;
    due.timer = setTimeout(() => {
      due.timer = null;
      this.fanOut(year, due);
    }, wait);
    due.timer.unref();
  }

  private fanOut(year: number, f: Fanout): void {
    f.lastAt = Date.now();
    const payload = this.latest.get(year);
    const streams = this.byYear.get(year);
    if (!payload || !streams) return;
    const chunk = this.chunkOf(payload);
    for (const s of streams) this.send(s, chunk);
  }

  /** The event for a figure, encoded once. */
  private chunkOf(payload: TurnoverPayload): Buffer {
    let chunk = this.encoded.get(payload);
    if (!chunk) this.encoded.set(payload, (chunk = Buffer.from(`event: turnover\ndata: ${JSON.stringify(payload)}\n\n`)));
    return chunk;
  }

  /** Writes to a stream, unless its client has left more than its allowance unread: then it is cut off. */
  private send(s: Stream, chunk: Buffer): void {
    const { res } = s;
    if (res.destroyed || res.writableEnded) return this.forget(s);
    // What the response and its socket hold that the client has not taken yet.
    const backlog = res.writableLength;
    if (backlog > this.maxBuffered) return this.cutOff(s, backlog);
    res.write(chunk);
    if (res.writableLength > this.peakBacklog) this.peakBacklog = res.writableLength;
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
      const backlog = s.res.writableLength;
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
