import type { StandardSchemaV1 } from '@standard-schema/spec';
import { describe, expect, it } from 'vitest';
import { createReceiver, defineEvents, generateSecret } from '../src/index';
import { fixedNow, NOW_SECONDS, signedRequest } from './support';

// The pipeline answers without a turn of the event loop when schemas and handlers are
// synchronous; these pin that async schemas and handlers, and any mix, behave as before.
const secret = generateSecret();

/** A Standard Schema that validates `{ n: number }`, synchronously or with a promise. */
function numberSchema(async: boolean): StandardSchemaV1<unknown, { n: number }> {
  const check = (value: unknown): StandardSchemaV1.Result<{ n: number }> =>
    typeof value === 'object' && value !== null && typeof (value as { n?: unknown }).n === 'number'
      ? { value: { n: (value as { n: number }).n * 10 } }
      : { issues: [{ message: 'expected a number', path: ['n'] }] };
  return { '~standard': { version: 1, vendor: 'test', validate: (value) => (async ? Promise.resolve(check(value)) : check(value)) } };
}

async function deliver(receiver: { handle: (input: { body: string | Uint8Array; headers: Record<string, string>; method: string }) => Promise<{ status: number; body: string }> }, data: unknown) {
  const { body, headers } = await signedRequest({ secrets: secret, type: 'ping.sent', data: data as Record<string, unknown>, timestamp: NOW_SECONDS });
  return receiver.handle({ body, headers, method: 'POST' });
}

describe('receiver with synchronous and asynchronous schemas and handlers', () => {
  for (const async of [false, true]) {
    it(`uses the ${async ? 'asynchronous' : 'synchronous'} schema's output and answers its issues with 400`, async () => {
      const catalog = defineEvents({ 'ping.sent': { schema: numberSchema(async) } });
      const seen: number[] = [];
      const receiver = createReceiver({ catalog, secrets: secret, now: fixedNow }).on('ping.sent', (event) => {
        seen.push(event.data.n);
      });
      expect((await deliver(receiver, { n: 4 })).status).toBe(200);
      expect(seen).toEqual([40]);
      const bad = await deliver(receiver, { n: 'four' });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.body).error.code).toBe('invalid_payload');
      expect(seen).toEqual([40]);
    });
  }

  it('runs typed then catch-all handlers in order, awaiting each asynchronous one before the next', async () => {
    const catalog = defineEvents({ 'ping.sent': { schema: numberSchema(false) } });
    const order: string[] = [];
    const receiver = createReceiver({ catalog, secrets: secret, now: fixedNow })
      .on('ping.sent', () => {
        order.push('typed sync');
      })
      .on('ping.sent', async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push('typed async');
      })
      .onAny(() => {
        order.push('any sync');
      })
      .onAny(async () => {
        order.push('any async');
      });
    expect((await deliver(receiver, { n: 1 })).status).toBe(200);
    expect(order).toEqual(['typed sync', 'typed async', 'any sync', 'any async']);
  });

  it('answers 500 handler_error when a synchronous handler throws after an asynchronous one, and frees the id for a retry', async () => {
    const catalog = defineEvents({ 'ping.sent': { schema: numberSchema(false) } });
    let fail = true;
    const errors: unknown[] = [];
    const receiver = createReceiver({ catalog, secrets: secret, now: fixedNow, onError: (error) => errors.push(error) })
      .on('ping.sent', async () => undefined)
      .onAny(() => {
        if (fail) throw new Error('boom');
      });
    const { body, headers } = await signedRequest({ secrets: secret, type: 'ping.sent', data: { n: 1 }, timestamp: NOW_SECONDS });
    const first = await receiver.handle({ body, headers, method: 'POST' });
    expect(first.status).toBe(500);
    expect(JSON.parse(first.body).error.code).toBe('handler_error');
    expect(errors).toHaveLength(1);
    fail = false;
    expect((await receiver.handle({ body, headers, method: 'POST' })).status).toBe(200);
    expect((await receiver.handle({ body, headers, method: 'POST' })).headers['webhook-duplicate']).toBe('true');
  });

  it('answers 500 when a handler returns a rejected thenable that is not a native promise', async () => {
    const catalog = defineEvents({ 'ping.sent': { schema: numberSchema(false) } });
    const receiver = createReceiver({ catalog, secrets: secret, now: fixedNow, onError: () => undefined }).on('ping.sent', () => ({
      // biome-ignore lint/suspicious/noThenProperty: a hand-made thenable on purpose
      then: (_resolve: (value: unknown) => void, reject: (error: unknown) => void) => reject(new Error('thenable failed')),
    }) as unknown as undefined);
    expect((await deliver(receiver, { n: 1 })).status).toBe(500);
  });
});
