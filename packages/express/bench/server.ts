import type { AddressInfo } from 'node:net';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { Webhooks, createNodeMiddleware } from '@octokit/webhooks';
import express from 'express';
import { webhooks } from '../src/index';
import type { StartServer } from './contenders';

/** Express app with the benchmarked route. */
export const start: StartServer = async (mode, { secret, path }) => {
  const app = express();
  if (mode === 'hooks') {
    app.post(path, webhooks({ catalog: broadcastEvents, secrets: secret }).on('registrant.created', () => undefined));
  } else if (mode === 'octokit') {
    const octokit = new Webhooks({ secret });
    octokit.onAny(() => undefined);
    app.use(createNodeMiddleware(octokit, { path }));
  } else {
    app.post(path, express.json(), (request, response) => {
      response.json({ ok: true, id: (request.body as { id?: string }).id });
    });
  }
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return (server.address() as AddressInfo).port;
};
