import type { LookupAddress } from 'node:dns';
import { createReceiver, verify } from '@hooks/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { SenderEventName, SenderEvents } from '../src/events';
import { createSqliteStorage } from '../src/storage/sqlite';
import { createTransport } from '../src/transport';
import { broadcastEvents, createClock, makeSender, type ReceiverAnswer, registrantData, startReceiver, type TestReceiver } from './support';

type Recorded = { [N in SenderEventName]: { name: N; event: SenderEvents[N] } }[SenderEventName];

function record(sender: ReturnType<typeof makeSender>): Recorded[] {
  const events: Recorded[] = [];
  for (const name of ['attempt.finished', 'delivery.succeeded', 'delivery.failed', 'endpoint.failing', 'endpoint.disabled', 'endpoint.recovered'] as const) {
    sender.on(name, (event) => {
      events.push({ name, event } as Recorded);
    });
  }
  return events;
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  // A bound on waiting, not a speed assertion: fails only if the thing never happens.
  for (let index = 0; index < 1000; index++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

describe('dispatcher with real receivers', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function receiver(answer?: (request: TestReceiver['requests'][number], index: number) => ReceiverAnswer | Promise<ReceiverAnswer>, clock?: () => number) {
    const started = await startReceiver(answer, clock);
    cleanups.push(() => started.close());
    return started;
  }

  function sender(options: Parameters<typeof makeSender>[0] = {}) {
    const created = makeSender(options);
    cleanups.push(() => created.close());
    return created;
  }

  it('delivers a signed envelope that the core receiver accepts, and logs the attempt', async () => {
    const clock = createClock();
    const handled: unknown[] = [];
    let secret = '';
    const hooks = createReceiver({ catalog: broadcastEvents, secrets: () => secret, now: clock.now, store: false }).on('registrant.created', (event) => {
      handled.push(event.data.registrant.email);
    });
    const target = await receiver(async (request) => {
      const result = await hooks.handle({ body: request.body, headers: request.headers });
      return { status: result.status, headers: { 'x-receiver': 'core' }, body: result.body };
    });
    const hooksSender = sender({ now: clock.now });
    const events = record(hooksSender);
    const created = await hooksSender.endpoints.create({ tenant: 'acme', url: target.url, headers: { 'x-team': 'growth' } });
    secret = created.secret;
    const { messageId } = await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(7) });
    await hooksSender.drain();

    expect(handled).toEqual(['person7@example.com']);
    const [request] = target.requests;
    expect(request?.method).toBe('POST');
    expect(request?.headers).toMatchObject({
      'x-webhook-id': messageId,
      'x-webhook-attempt': '1',
      'x-webhook-event': 'registrant.created',
      'x-webhook-timestamp': String(Math.floor(clock.now() / 1000)),
      'x-team': 'growth',
      'content-type': 'application/json',
    });
    expect(JSON.parse(request?.body ?? '')).toEqual({ id: messageId, type: 'registrant.created', timestamp: new Date(clock.now()).toISOString(), data: registrantData(7) });
    const [delivery] = (await hooksSender.deliveries.list({ messageId })).items;
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 1, lastStatus: 200, lastError: null, nextAttemptAt: null });
    const [attempt] = (await hooksSender.attempts.list({ deliveryId: delivery?.id })).items;
    expect(attempt).toMatchObject({ number: 1, statusCode: 200, success: true, errorCode: null, messageId, endpointId: created.endpoint.id });
    expect(attempt?.responseHeaders['x-receiver']).toBe('core');
    expect(JSON.parse(attempt?.responseBody ?? '')).toEqual({ ok: true, id: messageId });
    expect(attempt?.startedAt.getTime()).toBe(clock.now());
    expect(events.map((entry) => entry.name)).toEqual(['attempt.finished', 'delivery.succeeded']);
  });

  it('retries a receiver that fails 3 times on the exact schedule, then succeeds', async () => {
    const clock = createClock();
    const start = clock.now();
    const target = await receiver((_request, index) => (index < 3 ? { status: 500, body: 'down for maintenance' } : { status: 204 }), clock.now);
    const hooksSender = sender({ now: clock.now });
    const events = record(hooksSender);
    await hooksSender.endpoints.create({ tenant: 'acme', url: target.url });
    const { messageId } = await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    const [created] = (await hooksSender.deliveries.list({ messageId })).items;

    const expectedDelays = [12_000, 148_000, 1_808_000];
    await hooksSender.drain();
    for (const delay of expectedDelays) {
      const before = target.requests.length;
      const pending = await hooksSender.deliveries.get(created?.id as string);
      expect(pending.nextAttemptAt?.getTime()).toBe(clock.now() + delay);
      clock.advance(delay - 1);
      await hooksSender.drain();
      expect(target.requests).toHaveLength(before);
      clock.advance(1);
      await hooksSender.drain();
      expect(target.requests).toHaveLength(before + 1);
    }
    expect(target.requests.map((request) => request.attempt)).toEqual([1, 2, 3, 4]);
    expect(new Set(target.requests.map((request) => request.id))).toEqual(new Set([messageId]));
    expect(target.requests.map((request) => Number(request.headers['x-webhook-timestamp']) * 1000 - start)).toEqual([0, 12_000, 160_000, 1_968_000]);
    const delivery = await hooksSender.deliveries.get(created?.id as string);
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 4, lastStatus: 204 });
    const attempts = (await hooksSender.attempts.list({ deliveryId: delivery.id })).items;
    expect(attempts.map((attempt) => [attempt.number, attempt.statusCode, attempt.errorCode])).toEqual([
      [4, 204, null],
      [3, 500, 'http_500'],
      [2, 500, 'http_500'],
      [1, 500, 'http_500'],
    ]);
    expect(attempts[3]?.responseBody).toBe('down for maintenance');
    expect(events.filter((entry) => entry.name === 'attempt.finished')).toHaveLength(4);
    expect((await hooksSender.endpoints.list()).items[0]?.consecutiveFailures).toBe(0);
  });

  it('logs a timeout and a reset connection as network errors and retries them', async () => {
    const clock = createClock();
    const hanging = await receiver(() => 'hang');
    const resetting = await receiver(() => 'reset');
    const hooksSender = sender({ now: clock.now, dispatcher: { timeoutMs: 300, leaseMs: 10_000 } });
    const slow = await hooksSender.endpoints.create({ tenant: 'acme', url: hanging.url });
    const broken = await hooksSender.endpoints.create({ tenant: 'acme', url: resetting.url });
    await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await hooksSender.drain();
    const [timeout] = (await hooksSender.attempts.list({ endpointId: slow.endpoint.id })).items;
    expect(timeout).toMatchObject({ statusCode: null, errorCode: 'timeout', success: false, responseBody: null });
    const [reset] = (await hooksSender.attempts.list({ endpointId: broken.endpoint.id })).items;
    expect(reset).toMatchObject({ statusCode: null, errorCode: 'connection_reset', success: false });
    const deliveries = (await hooksSender.deliveries.list()).items;
    expect(deliveries.map((delivery) => [delivery.status, delivery.lastError]).sort()).toEqual([
      ['pending', 'connection_reset'],
      ['pending', 'timeout'],
    ]);
    expect(deliveries.every((delivery) => delivery.nextAttemptAt?.getTime() === clock.now() + 12_000)).toBe(true);
  });

  it('honours Retry-After on 429 for the delivery and pauses the endpoint', async () => {
    const clock = createClock();
    const target = await receiver((_request, index) => (index === 0 ? { status: 429, headers: { 'retry-after': '120' } } : { status: 200 }), clock.now);
    const hooksSender = sender({ now: clock.now });
    const { endpoint } = await hooksSender.endpoints.create({ tenant: 'acme', url: target.url });
    const first = await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(1) });
    await hooksSender.drain();
    expect(target.requests).toHaveLength(1);
    expect((await hooksSender.endpoints.get(endpoint.id)).pausedUntil?.getTime()).toBe(clock.now() + 120_000);
    const [firstDelivery] = (await hooksSender.deliveries.list({ messageId: first.messageId })).items;
    expect(firstDelivery?.nextAttemptAt?.getTime()).toBe(clock.now() + 120_000);

    // A new message to the paused endpoint waits too.
    const second = await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(2) });
    await hooksSender.drain();
    clock.advance(60_000);
    await hooksSender.drain();
    expect(target.requests).toHaveLength(1);
    clock.advance(60_000);
    await hooksSender.drain();
    expect(target.requests.map((request) => request.id).sort()).toEqual([first.messageId, first.messageId, second.messageId].sort());
    expect((await hooksSender.endpoints.get(endpoint.id)).pausedUntil).toBeNull();
  });

  it('reads Retry-After as an HTTP date on 503', async () => {
    const clock = createClock();
    const target = await receiver((_request, index) => (index === 0 ? { status: 503, headers: { 'retry-after': new Date(clock.now() + 3_600_000).toUTCString() } } : { status: 200 }));
    const hooksSender = sender({ now: clock.now });
    await hooksSender.endpoints.create({ tenant: 'acme', url: target.url });
    const { messageId } = await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await hooksSender.drain();
    const [delivery] = (await hooksSender.deliveries.list({ messageId })).items;
    expect(delivery?.nextAttemptAt?.getTime()).toBe(clock.now() + 3_600_000);
  });

  it('treats a redirect as a failure and never follows it', async () => {
    const clock = createClock();
    const elsewhere = await receiver();
    const target = await receiver(() => ({ status: 302, headers: { location: elsewhere.url } }));
    const hooksSender = sender({ now: clock.now });
    await hooksSender.endpoints.create({ tenant: 'acme', url: target.url });
    const { messageId } = await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await hooksSender.drain();
    expect(target.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
    const [delivery] = (await hooksSender.deliveries.list({ messageId })).items;
    expect(delivery).toMatchObject({ status: 'pending', lastStatus: 302, lastError: 'http_302' });
    const [attempt] = (await hooksSender.attempts.list({ messageId })).items;
    expect(attempt?.responseHeaders.location).toBe(elsewhere.url);
  });

  it('disables an endpoint at once on 410 Gone; its deliveries wait and resume when enabled', async () => {
    const clock = createClock();
    let gone = true;
    const target = await receiver(() => (gone ? { status: 410 } : { status: 200 }));
    const hooksSender = sender({ now: clock.now });
    const events = record(hooksSender);
    const { endpoint } = await hooksSender.endpoints.create({ tenant: 'acme', url: target.url });
    const { messageId } = await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await hooksSender.drain();
    expect(await hooksSender.endpoints.get(endpoint.id)).toMatchObject({ enabled: false, disabledReason: 'gone' });
    expect(events.filter((entry) => entry.name === 'endpoint.disabled').map((entry) => (entry.event as SenderEvents['endpoint.disabled']).reason)).toEqual(['gone']);
    expect((await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(2) })).deliveryCount).toBe(0);
    clock.advance(86_400_000);
    await hooksSender.drain();
    expect(target.requests).toHaveLength(1);
    const [waiting] = (await hooksSender.deliveries.list({ messageId })).items;
    expect(waiting?.status).toBe('pending');

    gone = false;
    await hooksSender.endpoints.enable(endpoint.id);
    await hooksSender.drain();
    expect(target.requests).toHaveLength(2);
    expect((await hooksSender.deliveries.get(waiting?.id as string)).status).toBe('succeeded');
  });

  it('signs with both secrets during a rotation, verified by receivers holding either', async () => {
    const clock = createClock();
    let secrets: string[] = [];
    const seen: Array<{ signatures: number; verifiedWithOld: boolean; verifiedWithNew: boolean }> = [];
    let oldSecret = '';
    let newSecret = '';
    const hooks = createReceiver({ catalog: broadcastEvents, secrets: () => secrets, now: clock.now, store: false });
    const target = await receiver(async (request) => {
      const signatures = String(request.headers['x-webhook-signature']).split(' ').length;
      const check = (secret: string) =>
        secret
          ? verify(request.body, request.headers, { secrets: secret, now: clock.now }).then(
              () => true,
              () => false,
            )
          : Promise.resolve(false);
      seen.push({ signatures, verifiedWithOld: await check(oldSecret), verifiedWithNew: await check(newSecret) });
      const result = await hooks.handle({ body: request.body, headers: request.headers });
      return { status: result.status };
    });
    const hooksSender = sender({ now: clock.now, secretOverlapMs: 3_600_000 });
    const { endpoint, secret } = await hooksSender.endpoints.create({ tenant: 'acme', url: target.url });
    oldSecret = secret;
    secrets = [oldSecret];
    await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(1) });
    await hooksSender.drain();

    newSecret = (await hooksSender.endpoints.rotateSecret(endpoint.id)).secret;
    secrets = [oldSecret, newSecret];
    await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(2) });
    await hooksSender.drain();
    // The receiver switches to the new secret only: still accepted during the overlap.
    secrets = [newSecret];
    await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(3) });
    await hooksSender.drain();
    clock.advance(3_600_000);
    await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(4) });
    await hooksSender.drain();

    expect(seen).toEqual([
      { signatures: 1, verifiedWithOld: true, verifiedWithNew: false },
      { signatures: 2, verifiedWithOld: true, verifiedWithNew: true },
      { signatures: 2, verifiedWithOld: true, verifiedWithNew: true },
      { signatures: 1, verifiedWithOld: false, verifiedWithNew: true },
    ]);
    expect((await hooksSender.deliveries.list({ status: 'succeeded' })).items).toHaveLength(4);
  });

  it.each(['memory', 'sqlite'])('notifies at 5, 10 and 15 consecutive failures, disables on the 20th, and resumes on enable (%s)', async (kind) => {
    const clock = createClock();
    let healthy = false;
    const target = await receiver(() => (healthy ? { status: 200 } : { status: 500 }));
    const storage = kind === 'sqlite' ? createSqliteStorage({ filename: ':memory:' }) : undefined;
    if (storage) cleanups.push(() => storage.close());
    const hooksSender = sender({ now: clock.now, dispatcher: { perEndpointConcurrency: 1, timeoutMs: 2_000, leaseMs: 10_000 }, ...(storage ? { storage } : {}) });
    const events = record(hooksSender);
    const { endpoint } = await hooksSender.endpoints.create({ tenant: 'acme', url: target.url });
    for (let index = 0; index < 25; index++) await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(index) });
    await hooksSender.drain();

    expect(target.requests).toHaveLength(20);
    const failing = events.filter((entry) => entry.name === 'endpoint.failing').map((entry) => (entry.event as SenderEvents['endpoint.failing']).consecutiveFailures);
    expect(failing).toEqual([5, 10, 15]);
    const disabled = events.filter((entry) => entry.name === 'endpoint.disabled');
    expect(disabled).toHaveLength(1);
    expect((disabled[0]?.event as SenderEvents['endpoint.disabled'] | undefined)?.reason).toBe('consecutive_failures');
    expect(await hooksSender.endpoints.get(endpoint.id)).toMatchObject({ enabled: false, disabledReason: 'consecutive_failures', consecutiveFailures: 20 });
    // Waiting, not failed: nothing is lost while the endpoint is disabled.
    expect((await hooksSender.deliveries.list({ status: 'pending' })).items).toHaveLength(25);
    expect((await hooksSender.deliveries.list({ status: 'failed' })).items).toHaveLength(0);

    healthy = true;
    await hooksSender.endpoints.enable(endpoint.id);
    clock.advance(12_000);
    await hooksSender.drain();
    expect((await hooksSender.deliveries.list({ status: 'succeeded', limit: 100 })).items).toHaveLength(25);
    expect(new Set(target.requests.map((request) => request.id)).size).toBe(25);
  });

  it('emits endpoint.recovered when a failing endpoint succeeds again, and a success resets the count', async () => {
    const clock = createClock();
    let failures = 6;
    const target = await receiver(() => (failures-- > 0 ? { status: 502 } : { status: 200 }));
    const hooksSender = sender({ now: clock.now, dispatcher: { perEndpointConcurrency: 1, timeoutMs: 2_000, leaseMs: 10_000 } });
    const events = record(hooksSender);
    const { endpoint } = await hooksSender.endpoints.create({ tenant: 'acme', url: target.url });
    for (let index = 0; index < 7; index++) await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(index) });
    await hooksSender.drain();
    const recovered = events.filter((entry) => entry.name === 'endpoint.recovered');
    expect(recovered).toHaveLength(1);
    expect((recovered[0]?.event as SenderEvents['endpoint.recovered'] | undefined)?.previousFailures).toBe(6);
    expect(events.filter((entry) => entry.name === 'endpoint.failing')).toHaveLength(1);
    expect((await hooksSender.endpoints.get(endpoint.id)).consecutiveFailures).toBe(0);
  });

  it.each(['memory', 'sqlite'])('delivers a FIFO endpoint in order, holding later messages while the first retries (%s)', async (kind) => {
    const clock = createClock();
    const target = await receiver((_request, index) => (index === 0 ? { status: 500 } : { status: 200 }));
    const storage = kind === 'sqlite' ? createSqliteStorage({ filename: ':memory:' }) : undefined;
    if (storage) cleanups.push(() => storage.close());
    const hooksSender = sender({ now: clock.now, ...(storage ? { storage } : {}) });
    await hooksSender.endpoints.create({ tenant: 'acme', url: target.url, fifo: true });
    const ids: string[] = [];
    for (let index = 0; index < 4; index++) {
      ids.push((await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(index) })).messageId);
      clock.advance(1);
    }
    await hooksSender.drain();
    expect(target.requests.map((request) => request.id)).toEqual([ids[0]]);
    clock.advance(12_000);
    await hooksSender.drain();
    expect(target.requests.map((request) => request.id)).toEqual([ids[0], ids[0], ids[1], ids[2], ids[3]]);
  });

  it('enforces a per-endpoint rate limit on the injected clock', async () => {
    const clock = createClock();
    const target = await receiver(undefined, clock.now);
    const hooksSender = sender({ now: clock.now });
    await hooksSender.endpoints.create({ tenant: 'acme', url: target.url, rateLimit: 4 });
    const other = await receiver(undefined, clock.now);
    await hooksSender.endpoints.create({ tenant: 'acme', url: other.url });
    for (let index = 0; index < 10; index++) await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(index) });
    await hooksSender.drain();
    // The unlimited endpoint got everything at once; the limited one one request.
    expect(other.requests).toHaveLength(10);
    expect(target.requests).toHaveLength(1);
    for (let step = 0; step < 200 && target.requests.length < 10; step++) {
      clock.advance(50);
      await hooksSender.drain();
    }
    expect(target.requests).toHaveLength(10);
    const times = target.requests.map((request) => request.at);
    for (let index = 1; index < times.length; index++) expect((times[index] as number) - (times[index - 1] as number)).toBeGreaterThanOrEqual(250);
    // Within any one second of clock time, at most 4 requests started.
    for (const start of times) expect(times.filter((time) => time >= start && time < start + 1000).length).toBeLessThanOrEqual(4);
    expect((await hooksSender.attempts.list({ limit: 100 })).items).toHaveLength(20);
  });

  it('gives up after maxAttempts, then recover() and retry() re-queue failed deliveries', async () => {
    const clock = createClock();
    let healthy = false;
    const target = await receiver(() => (healthy ? { status: 200 } : { status: 500 }));
    const hooksSender = sender({ now: clock.now, retry: { jitter: 0, maxAttempts: 2 } });
    const events = record(hooksSender);
    const { endpoint } = await hooksSender.endpoints.create({ tenant: 'acme', url: target.url });
    const since = new Date(clock.now());
    for (let index = 0; index < 3; index++) await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(index) });
    await hooksSender.drain();
    clock.advance(12_000);
    await hooksSender.drain();
    const failed = (await hooksSender.deliveries.list({ status: 'failed' })).items;
    expect(failed).toHaveLength(3);
    expect(failed.every((delivery) => delivery.attempts === 2 && delivery.nextAttemptAt === null)).toBe(true);
    expect(events.filter((entry) => entry.name === 'delivery.failed')).toHaveLength(3);
    clock.advance(86_400_000 * 10);
    await hooksSender.drain();
    expect(target.requests).toHaveLength(6);

    healthy = true;
    const single = await hooksSender.deliveries.retry(failed[0]?.id as string);
    expect(single.status).toBe('pending');
    await hooksSender.drain();
    expect((await hooksSender.deliveries.get(failed[0]?.id as string)).status).toBe('succeeded');
    await expect(hooksSender.deliveries.retry(failed[0]?.id as string)).rejects.toMatchObject({ code: 'conflict' });
    expect(await hooksSender.endpoints.recover(endpoint.id, { since })).toEqual({ count: 2 });
    await hooksSender.drain();
    expect((await hooksSender.deliveries.list({ status: 'succeeded' })).items).toHaveLength(3);
    const lastAttempt = (await hooksSender.attempts.list({ deliveryId: failed[1]?.id })).items[0];
    expect(lastAttempt?.number).toBe(3);
    await expect(hooksSender.endpoints.recover('ep_missing', { since })).rejects.toMatchObject({ code: 'endpoint_not_found' });
  });

  it('gives up once the next retry would pass maxAgeMs', async () => {
    const clock = createClock();
    const target = await receiver(() => ({ status: 500 }));
    const hooksSender = sender({ now: clock.now, retry: { jitter: 0, maxAgeMs: 200_000 } });
    await hooksSender.endpoints.create({ tenant: 'acme', url: target.url });
    const { messageId } = await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await hooksSender.drain();
    clock.advance(12_000);
    await hooksSender.drain();
    clock.advance(148_000);
    await hooksSender.drain();
    // Attempt 3 at 160 s would next retry at 160 s + 30 min > 200 s: failed, never dropped.
    const [delivery] = (await hooksSender.deliveries.list({ messageId })).items;
    expect(delivery).toMatchObject({ status: 'failed', attempts: 3 });
  });

  it('blocks a hostname that resolves to a loopback address at connect time', async () => {
    const target = await receiver();
    const port = new URL(target.url).port;
    const lookup = ((_hostname: string, options: unknown, callback?: unknown) => {
      const done = (typeof options === 'function' ? options : callback) as (error: null, address: string | LookupAddress[], family?: number) => void;
      if (typeof options === 'object' && options !== null && (options as { all?: boolean }).all) done(null, [{ address: '127.0.0.1', family: 4 }]);
      else done(null, '127.0.0.1', 4);
    }) as unknown as typeof import('node:dns').lookup;
    const hooksSender = sender({ urlPolicy: { allowHttp: true }, transport: createTransport({ urlPolicy: { allowHttp: true }, lookup }) });
    await hooksSender.endpoints.create({ tenant: 'acme', url: `http://rebind.attacker.example:${port}/hooks` });
    await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await hooksSender.drain();
    expect(target.requests).toHaveLength(0);
    const [attempt] = (await hooksSender.attempts.list()).items;
    expect(attempt).toMatchObject({ errorCode: 'blocked_address', statusCode: null });
  });

  it('runs on its own after start(), and stop() waits for the attempt in flight', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const target = await receiver(async () => {
      await gate;
      return { status: 200 };
    });
    const hooksSender = sender({ storage: createSqliteStorage({ filename: ':memory:' }) });
    await hooksSender.endpoints.create({ tenant: 'acme', url: target.url });
    hooksSender.start();
    const { messageId } = await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await waitFor(() => target.requests.length === 1, 'the request');
    const stopped = hooksSender.stop();
    release();
    await stopped;
    const [delivery] = (await hooksSender.deliveries.list({ messageId })).items;
    expect(delivery?.status).toBe('succeeded');
    // Stopped: a new message stays pending.
    await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(2) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(target.requests).toHaveLength(1);
    expect((await hooksSender.deliveries.list({ status: 'pending' })).items).toHaveLength(1);
  });

  it('bounds stop(): a stuck attempt keeps its lease, and another dispatcher takes it once the lease expires', async () => {
    const clock = createClock();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const target = await receiver(async (_request, index) => {
      if (index === 0) await gate;
      return { status: 200 };
    });
    const storage = createSqliteStorage({ filename: ':memory:' });
    cleanups.push(() => storage.close());
    const first = sender({ storage, now: clock.now, dispatcher: { timeoutMs: 5_000, leaseMs: 10_000, stopTimeoutMs: 50, pollIntervalMs: 20 } });
    await first.endpoints.create({ tenant: 'acme', url: target.url });
    first.start();
    const { messageId } = await first.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await waitFor(() => target.requests.length === 1, 'the first request');
    await first.stop();
    const [stuck] = (await first.deliveries.list({ messageId })).items;
    expect(stuck?.status).toBe('in_flight');

    const second = sender({ storage, now: clock.now, dispatcher: { timeoutMs: 5_000, leaseMs: 10_000 } });
    await second.drain();
    expect(target.requests).toHaveLength(1);
    clock.advance(10_000);
    await second.drain();
    expect(target.requests.map((request) => [request.id, request.attempt])).toEqual([
      [messageId, 1],
      [messageId, 1],
    ]);
    expect((await second.deliveries.get(stuck?.id as string)).status).toBe('succeeded');
    release();
    // The first dispatcher's late answer is logged but changes nothing: it lost the lease.
    await waitFor(async () => (await second.attempts.list({ deliveryId: stuck?.id })).items.length === 2, 'the late attempt log');
    expect(await second.deliveries.get(stuck?.id as string)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('signs with the standard profile so Standard Webhooks verifiers accept it', async () => {
    const clock = createClock();
    let secret = '';
    const verified: string[] = [];
    const target = await receiver(async (request) => {
      const result = await verify(request.body, request.headers, { secrets: secret, now: clock.now });
      verified.push(`${result.profile}:${result.id}:${result.attempt}`);
      return { status: 200 };
    });
    const hooksSender = sender({ now: clock.now });
    const created = await hooksSender.endpoints.create({ tenant: 'acme', url: target.url, profile: 'standard' });
    secret = created.secret;
    const { messageId } = await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await hooksSender.drain();
    expect(target.requests[0]?.headers['webhook-id']).toBe(messageId);
    expect(target.requests[0]?.headers['x-webhook-id']).toBeUndefined();
    expect(verified).toEqual([`standard:${messageId}:1`]);
  });

  it('keeps working when an event listener throws', async () => {
    const target = await receiver();
    const errors: unknown[] = [];
    const hooksSender = sender({ onError: (error) => errors.push(error) });
    hooksSender.on('attempt.finished', () => {
      throw new Error('listener bug');
    });
    const off = hooksSender.on('delivery.succeeded', () => {
      throw new Error('never called');
    });
    off();
    await hooksSender.endpoints.create({ tenant: 'acme', url: target.url });
    await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await hooksSender.drain();
    expect(target.requests).toHaveLength(1);
    expect(errors.map((error) => (error as Error).message)).toEqual(['listener bug']);
  });
});
