import express from 'express';
import { rawBodySaver, webhooks } from '../src/index';
import { listen } from './listen';
import { senderEndToEnd } from './sender-end-to-end';

senderEndToEnd('express', async ({ receiver, path }) => {
  const app = express();
  app.use(express.json({ verify: rawBodySaver }));
  app.post(path, webhooks(receiver));
  return listen(app);
});
