/**
 * The front door of a web process: the anonymous public answers the crowd asks for — the
 * homepage, `/api/v1/public/turnover` and its event stream — served from prepared bytes
 * before Express is entered (no router, no middleware, no session, no body parser), with the
 * same security headers, ETag, Cache-Control and language as Express would give them.
 * Anything else, and anything unusual about these (a signed-in visitor, another query, a
 * refusal), goes on to the Express app, which answers it in full.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Express, RequestHandler } from 'express';
import proxyAddr from 'proxy-addr';
import { detectLanguage } from '../../i18n';
import type { TurnoverHub } from '../turnover/live';
import { SESSION_COOKIE } from '../accounts/auth.middleware';
import { cstYear } from '../../domain/time';
import { notModified, type Prepared, type PreparedAnswers } from './prepared';

/** The headers a middleware sets (helmet's, computed once: they depend on nothing in the request). */
export function headersOf(middleware: RequestHandler): [string, string][] {
  const headers = new Map<string, string>();
  const res = {
    setHeader: (name: string, value: unknown) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
    getHeader: (name: string) => headers.get(name),
  };
  middleware({ headers: {}, method: 'GET', url: '/' } as never, res as never, () => undefined);
  return [...headers];
}

/** `?year=YYYY` or nothing: the year asked for; `null` for any other query (Express answers those). */
export function yearOf(query: string): number | null {
  if (query === '') return cstYear(new Date());
  const m = /^year=(\d{4})$/.exec(query);
  if (!m) return null;
  const year = Number(m[1]);
  return year >= 2000 && year <= 2200 ? year : null;
}

const LANG_COOKIE = /(?:^|;\s*)lang=([^;]*)/;

export interface FrontDoorDeps {
  app: Express;
  answers: PreparedAnswers;
  hub: Pick<TurnoverHub, 'attach'>;
  securityHeaders: RequestHandler;
}

export function frontDoor({ app, answers, hub, securityHeaders }: FrontDoorDeps): RequestListener {
  const security = headersOf(securityHeaders);
  const express = app as unknown as RequestListener;

  const send = (req: IncomingMessage, res: ServerResponse, out: Prepared, headers: Record<string, string>) => {
    for (const [name, value] of security) res.setHeader(name, value);
    for (const name in headers) res.setHeader(name, headers[name]);
    res.setHeader('ETag', out.etag);
    if (notModified(req.headers, out.etag)) {
      res.statusCode = 304;
      return res.end();
    }
    res.setHeader('Content-Length', out.body.length);
    res.end(req.method === 'HEAD' ? undefined : out.body);
  };

  /** Serves a prepared answer; if it cannot be prepared (the database away), Express answers with its error page. */
  const serve = (req: IncomingMessage, res: ServerResponse, make: Promise<Prepared>, headers: Record<string, string>) =>
    make.then(
      (out) => send(req, res, out, headers),
      () => express(req, res),
    );

  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return express(req, res);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    const cookie = req.headers.cookie;

    if (path === '/' && query === '' && !cookie?.includes(`${SESSION_COOKIE}=`)) {
      // Pages follow the language cookie only (as languageMiddleware does for pages).
      const lang = detectLanguage(cookie ? LANG_COOKIE.exec(cookie)?.[1] : undefined, undefined);
      return serve(req, res, answers.homepage(lang), { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache', Vary: 'Cookie' });
    }
    if (path === '/api/v1/public/turnover') {
      const year = yearOf(query);
      if (year === null) return express(req, res);
      return serve(req, res, answers.turnover(year), { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'public, max-age=5' });
    }
    if (path === '/api/v1/public/turnover/stream' && req.method === 'GET') {
      const year = yearOf(query);
      if (year === null) return express(req, res);
      for (const [name, value] of security) res.setHeader(name, value);
      // The client's address as Express would see it (its `trust proxy` setting).
      const address = proxyAddr(req, app.get('trust proxy fn') as (addr: string, i: number) => boolean);
      // Refused (too many streams) or failed before a byte was sent: Express answers with the error.
      hub.attach(res, year, address).catch(() => {
        if (!res.headersSent && !res.destroyed) express(req, res);
      });
      return;
    }
    express(req, res);
  };
}
