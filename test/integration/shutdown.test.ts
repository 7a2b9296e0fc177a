/** Graceful shutdown: in-flight requests finish, new connections are refused. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { closeServer } from '../../src/lib/http/close';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

it('lets an in-flight request finish and then refuses new connections', async () => {
  const app = express();
  app.get('/slow', async (_req, res) => {
    await new Promise((r) => setTimeout(r, 300));
    res.send('finished');
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;

  const inFlight = get(port, '/slow');
  await new Promise((r) => setTimeout(r, 50));
  const closed = closeServer(server);
  await expect(inFlight).resolves.toEqual({ status: 200, body: 'finished' });
  await closed;
  await expect(get(port, '/slow')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
});
