/**
 * End to end, written once for every adapter: `@hooks/sender` (memory storage, real undici
 * transport) delivers into the adapter's real server on loopback, across a secret rotation.
 */
import { type Receiver, createMemoryIdempotencyStore, createReceiver, generateSecret, silentLogger } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { type Sender, createSender } from '@hooks/sender';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MatrixCatalog, MatrixStartOptions, MatrixTarget } from './receiver-matrix';

const PATH = '/webhooks';

function registrant(index: number) {
  const example = broadcastEvents.definitions['registrant.created'].example;
  return { ...example, registrant: { ...example.registrant, id: `reg_${index}`, email: `person${index}@example.com` } };
}

/**
 * A receiver whose configuration can be replaced while the server runs, as an app reloading its
 * secrets would; every configuration shares one dedupe store.
 */
function reloadableReceiver(onEvent: (email: string) => void) {
  const store = createMemoryIdempotencyStore();
  let current: Receiver<MatrixCatalog>;
  const configure = (secrets: string[]) => {
    current = createReceiver({ catalog: broadcastEvents, secrets, store }).on('registrant.created', (event) => onEvent(event.data.registrant.email));
  };
  configure([generateSecret()]);
  const receiver: Receiver<MatrixCatalog> = {
    get maxBodyBytes() {
      return current.maxBodyBytes;
    },
    on(type, handler) {
      current.on(type, handler);
      return this;
    },
    onAny(handler) {
      current.onAny(handler);
      return this;
    },
    handle: (input) => current.handle(input),
    handleStream: (input) => current.handleStream(input),
    fetch: (request, context) => current.fetch(request, context),
  };
  return { receiver, configure };
}

/** Registers the end-to-end suite under `describe(name)`; `start` is the same factory the matrix uses. */
export function senderEndToEnd(name: string, start: (options: MatrixStartOptions) => Promise<MatrixTarget>): void {
  describe(`${name}: @hooks/sender end to end`, () => {
    const received: string[] = [];
    const { receiver, configure } = reloadableReceiver((email) => received.push(email));
    let target: MatrixTarget;
    let sender: Sender<MatrixCatalog>;
    let endpointId: string;
    let sent = 0;

    const sendBatch = async (count: number) => {
      for (let index = 0; index < count; index += 1) {
        sent += 1;
        await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrant(sent) });
      }
      await sender.drain();
    };

    beforeAll(async () => {
      target = await start({ receiver, path: PATH, routes: [{ receiver, path: PATH }] });
      sender = createSender({ catalog: broadcastEvents, storage: 'memory', urlPolicy: { allowHttp: true, allow: ['loopback'] }, logger: silentLogger });
      const created = await sender.endpoints.create({ tenant: 'acme', url: `${target.url}${PATH}`, events: ['registrant.created'] });
      endpointId = created.endpoint.id;
      configure([created.secret]);
    });
    afterAll(async () => {
      await sender?.close();
      await target?.close();
    });

    it('delivers every message once, verified, across a secret rotation', async () => {
      await sendBatch(3);
      expect(received).toEqual(['person1@example.com', 'person2@example.com', 'person3@example.com']);

      const before = (await sender.endpoints.getSecrets(endpointId)).current;
      const { secret: rotated } = await sender.endpoints.rotateSecret(endpointId);
      // During the overlap the sender signs with both secrets; the receiver is given both.
      expect((await sender.endpoints.getSecrets(endpointId)).previous.map((entry) => entry.secret)).toEqual([before]);
      configure([before, rotated]);
      await sendBatch(3);

      // The receiver drops the old secret before the sender does: the new signature still verifies.
      configure([rotated]);
      await sendBatch(2);

      expect(received).toEqual(Array.from({ length: 8 }, (_, index) => `person${index + 1}@example.com`));
      const deliveries = await sender.deliveries.list({ endpointId, limit: 50 });
      expect(deliveries.items).toHaveLength(8);
      expect(deliveries.items.every((delivery) => delivery.status === 'succeeded')).toBe(true);
      const attempts = await sender.attempts.list({ endpointId, limit: 50 });
      expect(attempts.items).toHaveLength(8);
      expect(attempts.items.every((attempt) => attempt.success)).toBe(true);
    });

    it('is refused (401, retried later) when the receiver knows none of the signing secrets', async () => {
      const before = received.length;
      const { secret } = await sender.endpoints.rotateSecret(endpointId, { overlapMs: 0 });
      configure([generateSecret()]);
      const { messageId } = await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrant(99) });
      await sender.drain();
      const [attempt] = (await sender.attempts.list({ messageId })).items;
      expect(attempt?.success).toBe(false);
      expect(attempt?.statusCode).toBe(401);
      expect(received).toHaveLength(before);
      expect(secret).toMatch(/^whsec_/);
    });
  });
}
