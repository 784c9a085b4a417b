import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import Koa from 'koa';
import type { StartServer } from '../../express/bench/contenders';
import { webhooks } from '../src/index';

/** Koa app with the benchmarked route. */
export const start: StartServer = async (mode, { secret, path }) => {
  const app = new Koa();
  if (mode === 'hooks') {
    app.use(webhooks({ catalog: broadcastEvents, secrets: secret, path }).on('registrant.created', () => undefined));
  } else {
    app.use(bodyParser());
    app.use(async (ctx) => {
      if (ctx.path !== path || ctx.method !== 'POST') return;
      ctx.body = { ok: true, id: (ctx.request.body as { id?: string }).id };
    });
  }
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return (server.address() as AddressInfo).port;
};
