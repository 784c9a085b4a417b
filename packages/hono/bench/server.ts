// The Hono contender of the receivers benchmark (packages/express/bench/receivers.bench.ts):
// the same route behind our middleware, or only parsing JSON, on @hono/node-server.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { Hono } from 'hono';
import type { StartServer } from '../../express/bench/contenders';
import { webhooks } from '../src/index';

/** Hono app with the benchmarked route, listening on 127.0.0.1. */
export const start: StartServer = async (mode, { secret, path }) => {
  const app = new Hono();
  if (mode === 'hooks') {
    app.post(path, webhooks({ catalog: broadcastEvents, secrets: secret }).on('registrant.created', () => undefined));
  } else {
    app.post(path, async (c) => c.json({ ok: true, id: ((await c.req.json()) as { id?: string }).id }));
  }
  return new Promise((resolve) => {
    serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => resolve(info.port));
  });
};
