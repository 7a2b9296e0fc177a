/**
 * The live turnover figure in a web process: one Redis subscription per process, fanned out
 * to every Server-Sent-Events client, and the latest figure per year kept in memory, so the
 * homepage and the public API answer without touching the database.
 */
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { getTally, turnoverChannel, turnoverKey, turnoverPayload, type TurnoverPayload } from './turnover.service';

export class TurnoverHub {
  private readonly clients = new Set<Response>();
  private readonly latest = new Map<number, TurnoverPayload>();
  private subscriber: Redis | null = null;
  private keepAlive: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly opts: { prefix: string; targetFen: number; logger: Logger; maxClients?: number },
  ) {}

  /** Subscribes (once) to the turnover channel on a connection of its own. */
  async start(): Promise<void> {
    if (this.subscriber) return;
    const sub = this.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: false });
    sub.on('error', (err) => this.opts.logger.debug({ err: err.message }, 'turnover subscriber error'));
    sub.on('message', (_channel, message) => this.receive(message));
    // After a Redis restart the subscription comes back by itself; catch up on what was missed.
    sub.on('ready', () => void this.refreshAll());
    this.subscriber = sub;
    await sub.subscribe(turnoverChannel(this.opts.prefix));
    // Comments keep idle connections open through proxies.
    this.keepAlive = setInterval(() => this.broadcastRaw(': keep-alive\n\n'), 25_000);
    this.keepAlive.unref();
  }

  private receive(message: string): void {
    try {
      const payload = JSON.parse(message) as TurnoverPayload;
      if (typeof payload.year !== 'number') return;
      // Announcements can cross: never go back to an older figure.
      if ((payload.sequence ?? 0) < (this.latest.get(payload.year)?.sequence ?? 0)) return;
      this.latest.set(payload.year, payload);
      this.broadcast(payload);
    } catch {
      this.opts.logger.warn('ignored a malformed turnover message');
    }
  }

  private async refreshAll(): Promise<void> {
    for (const year of this.latest.keys()) {
      this.latest.delete(year);
      try {
        this.broadcast(await this.current(year));
      } catch (err) {
        this.opts.logger.debug({ err: (err as Error).message }, 'turnover refresh failed');
      }
    }
  }

  /** The year's figure: from memory, else Redis, else the stored tally (then remembered). */
  async current(year: number): Promise<TurnoverPayload> {
    const cached = this.latest.get(year);
    if (cached) return cached;
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
    this.latest.set(year, payload);
    return payload;
  }

  /** Opens an SSE stream: the current figure at once, then every change. */
  async attach(res: Response, year: number): Promise<void> {
    // Each stream holds a socket: past the cap, say "come back later" rather than fall over.
    if (this.clients.size >= (this.opts.maxClients ?? 20_000)) throw new AppError('UNAVAILABLE', { code: 'TOO_MANY_STREAMS' });
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    res.write(event(await this.current(year)));
  }

  private broadcast(payload: TurnoverPayload): void {
    this.broadcastRaw(event(payload));
  }

  private broadcastRaw(chunk: string): void {
    for (const res of this.clients) res.write(chunk);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Ends every stream and the subscription (graceful shutdown). */
  async close(): Promise<void> {
    if (this.keepAlive) clearInterval(this.keepAlive);
    for (const res of this.clients) res.end();
    this.clients.clear();
    if (this.subscriber) {
      this.subscriber.disconnect();
      this.subscriber = null;
    }
  }
}

const event = (payload: TurnoverPayload) => `event: turnover\ndata: ${JSON.stringify(payload)}\n\n`;
