import { type } from 'arktype';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { WebhookPayloadError, createEnvelope, createMessageId, defineEvents, serializeEnvelope } from '../src/index';
import { validateWithSchema } from '../src/internal';
import { broadcastEvents, rejectionOf, thrownBy } from './support';

// The same event declared with each Standard Schema library: data.x.y must be a positive integer.
const libraries = {
  zod: defineEvents({
    'thing.happened': { schema: z.object({ x: z.object({ y: z.number().int().positive() }), note: z.string().optional() }) },
  }),
  valibot: defineEvents({
    'thing.happened': {
      schema: v.object({ x: v.object({ y: v.pipe(v.number(), v.integer(), v.minValue(1)) }), note: v.optional(v.string()) }),
    },
  }),
  arktype: defineEvents({
    'thing.happened': { schema: type({ x: { y: 'number.integer > 0' }, 'note?': 'string' }) },
  }),
};

describe.each(Object.entries(libraries))('catalog with %s', (_library, catalog) => {
  it('lists and recognises its names', () => {
    expect(catalog.names).toEqual(['thing.happened']);
    expect(catalog.has('thing.happened')).toBe(true);
    expect(catalog.has('thing.other')).toBe(false);
    expect(catalog.has('toString')).toBe(false);
  });

  it('validates a good payload and resolves with the output', async () => {
    await expect(catalog.validate('thing.happened', { x: { y: 3 } })).resolves.toEqual({ x: { y: 3 } });
  });

  it.each([
    ['a wrong type', { x: { y: 'three' } }],
    ['a missing field', { x: {} }],
    ['a value out of range', { x: { y: -1 } }],
  ])('rejects %s with invalid_payload at data.x.y', async (_label, data) => {
    const error = await rejectionOf(catalog.validate('thing.happened', data));
    expect(WebhookPayloadError.isInstance(error)).toBe(true);
    const payloadError = error as WebhookPayloadError;
    expect(payloadError.code).toBe('invalid_payload');
    expect(payloadError.status).toBe(400);
    expect(payloadError.path).toBe('data.x.y');
    expect(payloadError.message).toContain('data.x.y');
    expect(payloadError.toJSON()).toMatchObject({ code: 'invalid_payload', path: 'data.x.y' });
  });

  it('rejects a non-object with a path at data', async () => {
    const error = (await rejectionOf(catalog.validate('thing.happened', 'nope'))) as WebhookPayloadError;
    expect(error.code).toBe('invalid_payload');
    expect(error.path).toBe('data');
  });

  it('rejects an unknown event type with unknown_event', async () => {
    const error = (await rejectionOf(catalog.validate('thing.other' as 'thing.happened', { x: { y: 1 } }))) as WebhookPayloadError;
    expect(error).toMatchObject({ code: 'unknown_event', status: 400, path: 'type' });
  });
});

describe('defineEvents', () => {
  it.each([
    ['an empty name', ''],
    ['a name with a space', 'thing happened'],
    ['a name starting with a dot', '.thing'],
    ['a name with a slash', 'thing/happened'],
    ['a name over 128 characters', `a${'b'.repeat(128)}`],
    ['a name with a newline', 'thing\nhappened'],
  ])('rejects %s with invalid_option', (_label, name) => {
    const error = thrownBy(() => defineEvents({ [name]: { schema: z.object({}) } }));
    expect(error).toMatchObject({ code: 'invalid_option', status: 500 });
  });

  it('accepts names with letters, digits, ".", "_", ":" and "-"', () => {
    const catalog = defineEvents({ 'a.b_c:d-e.9': { schema: z.object({}) }, A: { schema: z.object({}) } });
    expect(catalog.names).toEqual(['a.b_c:d-e.9', 'A']);
  });

  it.each([
    ['a plain object', { parse: () => 1 }],
    ['a string', 'z.object()'],
    ['null', null],
    ['a function without ~standard', () => true],
    ['a ~standard without validate', { '~standard': { version: 1 } }],
  ])('rejects %s as a schema', (_label, schema) => {
    const error = thrownBy(() => defineEvents({ 'thing.happened': { schema: schema as never } }));
    expect(error).toMatchObject({ code: 'invalid_option' });
  });

  it('rejects a definition without a schema', () => {
    expect(thrownBy(() => defineEvents({ 'thing.happened': {} as never }))).toMatchObject({ code: 'invalid_option' });
  });

  it('accepts arktype schemas, which are functions', () => {
    expect(typeof type({ a: 'string' })).toBe('function');
    expect(defineEvents({ a: { schema: type({ a: 'string' }) } }).names).toEqual(['a']);
  });

  it('supports async schemas', async () => {
    const catalog = defineEvents({ slow: { schema: z.object({ a: z.string() }).refine(async (value) => value.a !== 'no', { message: 'not no', path: ['a'] }) } });
    await expect(catalog.validate('slow', { a: 'yes' })).resolves.toEqual({ a: 'yes' });
    expect(await rejectionOf(catalog.validate('slow', { a: 'no' }))).toMatchObject({ code: 'invalid_payload', path: 'data.a' });
  });

  it('resolves with the schema output (transforms apply)', async () => {
    const catalog = defineEvents({ t: { schema: z.object({ n: z.string().transform(Number) }) } });
    await expect(catalog.validate('t', { n: '42' })).resolves.toEqual({ n: 42 });
  });

  it('validateWithSchema puts issues under a custom prefix and keeps array indexes', async () => {
    const error = (await rejectionOf(validateWithSchema(z.object({ items: z.array(z.object({ id: z.string() })) }), { items: [{ id: 'a' }, {}] }, ['payload']))) as WebhookPayloadError;
    expect(error.path).toBe('payload.items[1].id');
  });
});

describe('the seed catalog', () => {
  it('validates every example against its own schema', async () => {
    expect(broadcastEvents.names.length).toBeGreaterThan(5);
    for (const name of broadcastEvents.names) {
      const example = broadcastEvents.definitions[name].example;
      expect(example, name).toBeDefined();
      await expect(broadcastEvents.validate(name, example)).resolves.toBeDefined();
    }
  });

  it('reports the failing nested path of a seed event', async () => {
    const data = { ...broadcastEvents.definitions['registrant.created'].example, registrant: { id: 'r', email: 'not-an-email', firstName: 'A', lastName: 'B' } };
    expect(await rejectionOf(broadcastEvents.validate('registrant.created', data))).toMatchObject({ code: 'invalid_payload', path: 'data.registrant.email' });
  });
});

describe('envelope', () => {
  it('serialises the four fields in a fixed order, whatever the input order', () => {
    const envelope = createEnvelope({ type: 'a.b', data: { z: 1, a: 2 }, id: 'msg_1', timestamp: new Date(Date.UTC(2026, 0, 1)) });
    const shuffled = { data: envelope.data, timestamp: envelope.timestamp, type: envelope.type, id: envelope.id };
    expect(serializeEnvelope(shuffled)).toBe('{"id":"msg_1","type":"a.b","timestamp":"2026-01-01T00:00:00.000Z","data":{"z":1,"a":2}}');
  });

  it('fills a fresh sortable msg_ id and the current time', () => {
    const first = createEnvelope({ type: 'a', data: null });
    expect(first.id).toMatch(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(Math.abs(Date.parse(first.timestamp) - Date.now())).toBeLessThan(60_000);
    const earlier = createMessageId(1_000);
    const later = createMessageId(2_000);
    expect(earlier < later).toBe(true);
    expect(createEnvelope({ type: 'a', data: 1, timestamp: '2026-01-01T00:00:00Z' }).timestamp).toBe('2026-01-01T00:00:00Z');
  });
});
