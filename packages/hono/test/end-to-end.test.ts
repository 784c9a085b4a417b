import { type IdempotencyStore, createMemoryIdempotencyStore, silentLogger } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { type Sender, createSender } from '@hooks/sender';
import { Hono } from 'hono';
import type { MiddlewareHandler } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MatrixTarget } from '../../express/test/receiver-matrix';
import { webhooks } from '../src/index';
import { listen } from './listen';

// @hooks/sender (memory storage) delivering over loopback HTTP into a Hono app on @hono/node-server.
describe('end to end: @hooks/sender → @hooks/hono', () => {
  const handled: string[] = [];
  const store: IdempotencyStore = createMemoryIdempotencyStore();
  let route: MiddlewareHandler;
  let target: MatrixTarget;
  let sender: Sender<typeof broadcastEvents>;
  let endpointId = '';
  let firstSecret = '';

  // The receiver app's configuration, as its owner would deploy it: the secrets change, the dedupe store stays.
  const configure = (secrets: string[]): void => {
    route = webhooks({ catalog: broadcastEvents, secrets, store }).on('registrant.created', (event) => {
      handled.push(event.id);
    }) as unknown as MiddlewareHandler;
  };
  const sendSome = async (count: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let index = 0; index < count; index++) {
      const data = { ...broadcastEvents.definitions['registrant.created'].example, sessionId: `ses_${index}` };
      ids.push((await sender.send({ tenant: 'acme', type: 'registrant.created', data })).messageId);
    }
    await sender.drain();
    return ids;
  };
  const statuses = async (ids: string[]) =>
    Promise.all(ids.map(async (messageId) => (await sender.deliveries.list({ messageId })).items.map((delivery) => delivery.status)));

  beforeAll(async () => {
    const app = new Hono();
    app.post('/webhooks', (c, next) => route(c, next));
    target = await listen(app);
    sender = createSender({ catalog: broadcastEvents, storage: 'memory', urlPolicy: { allowHttp: true, allow: ['loopback'] }, logger: silentLogger, onError: () => undefined });
    const created = await sender.endpoints.create({ tenant: 'acme', url: `${target.url}/webhooks` });
    endpointId = created.endpoint.id;
    firstSecret = created.secret;
    configure([firstSecret]);
  });
  afterAll(async () => {
    await sender?.close();
    await target?.close();
  });

  it('delivers every message once, through a secret rotation', async () => {
    const before = await sendSome(3);
    // Rotation starts: deliveries carry a signature by each secret while the receiver still knows only the old one.
    const { secret: secondSecret } = await sender.endpoints.rotateSecret(endpointId, { overlapMs: 1_500 });
    expect(secondSecret).not.toBe(firstSecret);
    const during = await sendSome(3);
    // The receiver moves to the new secret mid-rotation.
    configure([secondSecret]);
    const after = await sendSome(3);
    const all = [...before, ...during, ...after];
    expect(await statuses(all)).toEqual(all.map(() => ['succeeded']));
    expect(handled).toEqual(all);
  });

  it('fails with 401 against a receiver holding only the expired secret, then succeeds on retry once fixed', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    const secrets = await sender.endpoints.getSecrets(endpointId);
    configure([firstSecret]);
    const [messageId] = await sendSome(1);
    const [failed] = (await sender.deliveries.list({ messageId })).items;
    expect(failed?.status).toBe('pending');
    expect(failed?.lastStatus).toBe(401);
    configure([firstSecret, secrets.current]);
    await sender.deliveries.retry(failed!.id);
    await sender.drain();
    expect(await statuses([messageId!])).toEqual([['succeeded']]);
    expect(handled.filter((id) => id === messageId)).toHaveLength(1);
  });
});
