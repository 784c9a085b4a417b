import { Hono } from 'hono';
import { describe } from 'vitest';
import { type MatrixStartOptions, receiverMatrix } from '../../express/test/receiver-matrix';
import { webhooks } from '../src/index';
import { listen } from './listen';

// The shared receiver matrix (written with the Express adapter) against Hono on @hono/node-server.
describe('hono', () => {
  receiverMatrix('hono as the route handler', async ({ receiver, path }: MatrixStartOptions) => {
    const app = new Hono();
    app.post(path, webhooks(receiver));
    return listen(app);
  });

  receiverMatrix('hono as middleware before a handler that answers', async ({ receiver, path }: MatrixStartOptions) => {
    const app = new Hono();
    app.post(path, webhooks({ receiver, forward: true }), (c) => c.json({ ok: true, id: c.var.webhook.id }));
    return listen(app);
  });
});
