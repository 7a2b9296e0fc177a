/**
 * Opt-in count of database commands per HTTP route (and outside requests: jobs), written to a
 * file every second, so the load script can show where the time goes. Off unless
 * DB_COMMAND_STATS_FILE is set ("{pid}" in it becomes the process id).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import type { RequestHandler } from 'express';
import mongoose from 'mongoose';

const scope = new AsyncLocalStorage<string>();
const OUTSIDE = '(outside requests)';

interface RouteCount {
  requests: number;
  commands: Record<string, number>;
}
const counts = new Map<string, RouteCount>();
/** Labels kept apart: enough for every route; a scan of made-up paths shares one label past it. */
const MAX_LABELS = 500;
const OTHER = '(other routes)';
const entry = (label: string) => {
  let c = counts.get(label);
  if (!c) {
    if (counts.size >= MAX_LABELS && label !== OTHER) return entry(OTHER);
    counts.set(label, (c = { requests: 0, commands: {} }));
  }
  return c;
};

/** "/api/v1/contracts/65a…/approve" → "/api/v1/contracts/:id/approve". */
const routeOf = (path: string) => path.replace(/\/[0-9a-f]{24}(?=\/|$)/gi, '/:id').replace(/\/\d+(?=\/|$)/g, '/:n');

/** Labels each request's database commands with its method and route. */
export function dbStatsMiddleware(): RequestHandler {
  return (req, _res, next) => {
    const label = `${req.method} ${routeOf(req.path)}`;
    entry(label).requests++;
    scope.run(label, next);
  };
}

/** Starts counting (the connection must have been opened with `monitorCommands`); returns a stop function. */
export function startDbCommandStats(file: string): () => void {
  const client = mongoose.connection.getClient();
  client.on('commandStarted', (e: { commandName: string }) => {
    const c = entry(scope.getStore() ?? OUTSIDE);
    c.commands[e.commandName] = (c.commands[e.commandName] ?? 0) + 1;
  });
  const target = file.replace('{pid}', String(process.pid));
  const write = () => fs.writeFileSync(target, JSON.stringify(Object.fromEntries(counts)));
  const timer = setInterval(write, 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    write();
  };
}
