import type { Server } from 'node:http';

/**
 * Stops accepting connections and lets in-flight requests finish; idle keep-alive sockets
 * close at once, and anything still open after the grace period is cut.
 */
export function closeServer(server: Server, graceMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
