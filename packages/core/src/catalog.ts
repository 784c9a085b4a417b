import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { WebhookEnvelope } from './envelope';
import { ConfigurationError, type PayloadIssue, WebhookPayloadError } from './errors';

/** One event type: its payload schema (any Standard Schema: zod, valibot, arktype…), a description and an example. */
export interface EventDefinition<TSchema extends StandardSchemaV1 = StandardSchemaV1> {
  /** Validates `data`; its output type is the handler's payload type. */
  schema: TSchema;
  /** One sentence for docs and the settings page. */
  description?: string;
  /** A realistic payload, used by test sends and docs. Must pass the schema. */
  example?: StandardSchemaV1.InferInput<TSchema>;
  /** Marks the event as deprecated in catalogs and docs. */
  deprecated?: boolean;
  /** JSON Schema of the payload for published references; needed only when the schema library has no Standard JSON Schema converter (valibot). */
  jsonSchema?: Record<string, unknown>;
}

/** A map of event type names to their definitions. */
export type EventDefinitions = Record<string, EventDefinition>;

/** The event type names of a catalog. */
export type EventName<TCatalog extends EventCatalog> = keyof TCatalog['definitions'] & string;

/** The validated payload type of event `TName`. */
export type EventData<TCatalog extends EventCatalog, TName extends EventName<TCatalog>> = StandardSchemaV1.InferOutput<
  TCatalog['definitions'][TName]['schema']
>;

/** The payload type a sender must supply for event `TName` (the schema's input). */
export type EventInput<TCatalog extends EventCatalog, TName extends EventName<TCatalog>> = StandardSchemaV1.InferInput<
  TCatalog['definitions'][TName]['schema']
>;

/** A verified, validated event of type `TName`: the envelope with typed `data`. */
export type WebhookEvent<TCatalog extends EventCatalog, TName extends EventName<TCatalog> = EventName<TCatalog>> = {
  [N in TName]: WebhookEnvelope<N, EventData<TCatalog, N>>;
}[TName];

/**
 * The declared events of a webhook product, with validation. Create it with {@link defineEvents}.
 *
 * `TName` defaults to the names of `TDefinitions`; it is a separate parameter so that every
 * concrete catalog is assignable to the plain `EventCatalog` (names are covariant, where
 * `keyof TDefinitions` alone would make the interface invariant).
 */
export interface EventCatalog<TDefinitions extends EventDefinitions = EventDefinitions, TName extends string = keyof TDefinitions & string> {
  /** The definitions as declared. */
  readonly definitions: TDefinitions;
  /** Every event type name, in declaration order. */
  readonly names: ReadonlyArray<TName>;
  /** True when `type` is declared. */
  has(type: string): type is TName;
  /**
   * Validates `data` against the schema of `type` and resolves with the schema's output.
   * Rejects with {@link WebhookPayloadError}: `unknown_event`, or `invalid_payload` whose
   * issues carry paths like `data.email`.
   */
  validate<TType extends TName>(type: TType, data: unknown): Promise<StandardSchemaV1.InferOutput<TDefinitions[TType]['schema']>>;
}

/** Standard Schema path segments may be objects (`{ key }`); flatten them. */
function toPath(path: StandardSchemaV1.Issue['path']): PropertyKey[] {
  // Array.from, not path.map: arktype's path is an Array subclass whose species constructor
  // turns `map` on an empty path into `[0]`.
  return Array.from(path ?? [], (segment) => (typeof segment === 'object' && segment !== null ? segment.key : segment));
}

/** Runs any Standard Schema and returns its output, or throws `invalid_payload` with the failing paths under `pathPrefix`. */
export async function validateWithSchema<TSchema extends StandardSchemaV1>(
  schema: TSchema,
  value: unknown,
  pathPrefix: ReadonlyArray<PropertyKey> = ['data'],
): Promise<StandardSchemaV1.InferOutput<TSchema>> {
  return validateWithSchemaNow(schema, value, pathPrefix);
}

/**
 * {@link validateWithSchema} that answers synchronously when the schema does (zod, valibot and
 * arktype all do) and throws instead of rejecting; a promise for an async schema. The receiver
 * uses it to save a turn of the event loop per request.
 */
export function validateWithSchemaNow<TSchema extends StandardSchemaV1>(
  schema: TSchema,
  value: unknown,
  pathPrefix: ReadonlyArray<PropertyKey> = ['data'],
): StandardSchemaV1.InferOutput<TSchema> | Promise<StandardSchemaV1.InferOutput<TSchema>> {
  const result = schema['~standard'].validate(value);
  if (result instanceof Promise) return result.then((settled) => schemaOutcome(settled, pathPrefix));
  return schemaOutcome(result, pathPrefix);
}

function schemaOutcome<TSchema extends StandardSchemaV1>(result: StandardSchemaV1.Result<StandardSchemaV1.InferOutput<TSchema>>, pathPrefix: ReadonlyArray<PropertyKey>): StandardSchemaV1.InferOutput<TSchema> {
  if (result.issues) {
    const issues: PayloadIssue[] = result.issues.map((issue) => ({ path: [...pathPrefix, ...toPath(issue.path)], message: issue.message }));
    const first = issues[0];
    const where = first ? issues[0]?.path.map(String).join('.') : '';
    throw new WebhookPayloadError('invalid_payload', `The payload does not match the schema${where ? ` at ${where}` : ''}: ${first?.message ?? 'invalid'}`, issues);
  }
  return result.value as StandardSchemaV1.InferOutput<TSchema>;
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return typeof value === 'object' && value !== null && typeof (value as StandardSchemaV1)['~standard']?.validate === 'function'
    || typeof value === 'function' && typeof (value as unknown as StandardSchemaV1)['~standard']?.validate === 'function';
}

/**
 * Declares the events of a webhook product. Payload types are inferred per event name.
 *
 * @typeParam TDefinitions - The definitions as written (kept literal), so that names and payload types are known.
 * @param definitions - Each event type's name (1 to 128 letters, digits, `.`, `_`, `:` or `-`) and its definition: a Standard Schema (zod, valibot, arktype…), a description, an example.
 * @returns The catalog: senders validate what they send with it, receivers validate and type what they get. Throws {@link ConfigurationError} (`invalid_option`) for a bad name or a missing schema.
 *
 * @example
 * ```ts
 * import { defineEvents } from '@hooks/core';
 * import { z } from 'zod';
 *
 * export const events = defineEvents({
 *   'registrant.created': {
 *     description: 'Someone registered for a broadcast.',
 *     schema: z.object({ email: z.email(), sessionId: z.string() }),
 *     example: { email: 'ada@example.com', sessionId: 'ses_01' },
 *   },
 * });
 * ```
 */
export function defineEvents<const TDefinitions extends EventDefinitions>(definitions: TDefinitions): EventCatalog<TDefinitions> {
  const names = Object.keys(definitions) as Array<keyof TDefinitions & string>;
  for (const name of names) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(name)) {
      throw new ConfigurationError('invalid_option', `Event type "${name.slice(0, 64)}" must be 1-128 letters, digits, ".", "_", ":" or "-".`);
    }
    if (!isStandardSchema(definitions[name]?.schema)) {
      throw new ConfigurationError('invalid_option', `Event type "${name}" needs a Standard Schema (zod, valibot, arktype…) as its schema.`);
    }
  }
  const known = new Set<string>(names);
  return {
    definitions,
    names,
    has(type: string): type is keyof TDefinitions & string {
      return known.has(type);
    },
    async validate(type, data) {
      const definition = known.has(type) ? definitions[type] : undefined;
      if (!definition) throw new WebhookPayloadError('unknown_event', `Unknown event type "${String(type).slice(0, 128)}".`, [{ path: ['type'], message: 'unknown event type' }]);
      return validateWithSchema(definition.schema, data);
    },
  };
}
