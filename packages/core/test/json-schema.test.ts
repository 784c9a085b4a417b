import { type } from 'arktype';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigurationError, defineEvents, describeCatalog, eventJsonSchema } from '../src/index';

describe('eventJsonSchema', () => {
  it('converts a zod schema through its Standard JSON Schema converter (output side)', () => {
    const events = defineEvents({ 'a.b': { schema: z.object({ email: z.email(), plan: z.string().default('free') }), description: 'A', example: { email: 'a@b.co' } } });
    const schema = eventJsonSchema(events.definitions['a.b']);
    expect(schema).toMatchObject({ type: 'object', properties: { email: { type: 'string', format: 'email' }, plan: { type: 'string' } } });
    // Output side: a defaulted field is always present for the receiver.
    expect(schema?.required).toEqual(expect.arrayContaining(['email', 'plan']));
  });

  it('converts an arktype schema', () => {
    const events = defineEvents({ 'a.b': { schema: type({ id: 'string', 'n?': 'number' }) } });
    expect(eventJsonSchema(events.definitions['a.b'])).toMatchObject({ type: 'object', properties: { id: { type: 'string' } }, required: ['id'] });
  });

  it('is null for a library without a converter, and uses the definition override when given', () => {
    const events = defineEvents({
      plain: { schema: v.object({ id: v.string() }) },
      given: { schema: v.object({ id: v.string() }), jsonSchema: { type: 'object', properties: { id: { type: 'string' } } } },
    });
    expect(eventJsonSchema(events.definitions.plain)).toBeNull();
    expect(eventJsonSchema(events.definitions.given)).toEqual({ type: 'object', properties: { id: { type: 'string' } } });
  });

  it('wraps a converter failure in a typed ConfigurationError', () => {
    // zod cannot express a transform's output in JSON Schema.
    const events = defineEvents({ t: { schema: z.string().transform((value) => value.length) } });
    let caught: unknown;
    try {
      eventJsonSchema(events.definitions.t);
    } catch (error) {
      caught = error;
    }
    expect(ConfigurationError.isInstance(caught)).toBe(true);
    expect((caught as ConfigurationError).code).toBe('invalid_option');
  });
});

describe('describeCatalog', () => {
  it('lists every event in declaration order with description, schema, example and deprecation', () => {
    const events = defineEvents({
      'x.created': { schema: z.object({ id: z.string() }), description: 'Created.', example: { id: '1' } },
      'x.gone': { schema: z.object({ id: z.string() }), deprecated: true },
    });
    const reference = describeCatalog(events);
    expect(reference.map((entry) => entry.type)).toEqual(['x.created', 'x.gone']);
    expect(reference[0]).toMatchObject({ description: 'Created.', deprecated: false, example: { id: '1' }, schema: { type: 'object' } });
    expect(reference[1]).toMatchObject({ description: null, deprecated: true, example: null });
  });
});
