import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import Fastify from 'fastify';
import type { StartServer } from '../../express/bench/contenders';
import { webhooks } from '../src/index';

/** Fastify app with the benchmarked route. */
export const start: StartServer = async (mode, { secret, path }) => {
  const app = Fastify();
  if (mode === 'hooks') {
    await app.register(webhooks({ catalog: broadcastEvents, secrets: secret, path }).on('registrant.created', () => undefined));
  } else {
    app.post(path, async (request) => ({ ok: true, id: (request.body as { id?: string }).id }));
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : 0;
};
