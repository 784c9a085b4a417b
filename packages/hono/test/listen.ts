import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { MatrixTarget } from '../../express/test/receiver-matrix';

/** Serves `app` with @hono/node-server on 127.0.0.1, on a free port. */
export function listen(app: Hono): Promise<MatrixTarget> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        server: server as Server,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
