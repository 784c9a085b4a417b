import type { EventCatalog, EventDefinition } from './catalog';
import { ConfigurationError } from './errors';

/** JSON Schema dialects a schema library may be asked for (Standard JSON Schema targets). */
export type JsonSchemaTarget = 'draft-2020-12' | 'draft-07';

/** The published description of one event type: what a SaaS shows its customers. */
export interface EventReference {
  /** Event type name. */
  type: string;
  /** One sentence from the catalog, or null. */
  description: string | null;
  /** True when the catalog marks the event deprecated. */
  deprecated: boolean;
  /** JSON Schema of `data` as receivers get it (the schema's output), or null when the schema library has no converter and no `jsonSchema` was given. */
  schema: Record<string, unknown> | null;
  /** The catalog's example payload, or null. */
  example: unknown;
}

interface StandardJsonSchemaProps {
  jsonSchema?: { output?: (options: { target: string }) => Record<string, unknown> };
}

/**
 * JSON Schema of one event's `data`: the definition's own `jsonSchema` when given, else the
 * schema library's Standard JSON Schema converter (zod 4, arktype), else null.
 *
 * @param definition - One event's definition, from `catalog.definitions`.
 * @param target - The JSON Schema dialect to produce (default: `'draft-2020-12'`).
 * @returns The JSON Schema of what receivers get (the schema's output), or null when the library has no converter and the definition no `jsonSchema`. Throws {@link ConfigurationError} (`invalid_option`) when the converter fails.
 *
 * @example
 * ```ts
 * import { eventJsonSchema } from '@hooks/core';
 * import { events } from './events.js';
 *
 * const schema = eventJsonSchema(events.definitions['registrant.created']);
 * // {
 * //   $schema: 'https://json-schema.org/draft/2020-12/schema',
 * //   type: 'object',
 * //   properties: {
 * //     email: { type: 'string', format: 'email', … },
 * //     sessionId: { type: 'string' },
 * //   },
 * //   …
 * // }
 * ```
 */
export function eventJsonSchema(definition: EventDefinition, target: JsonSchemaTarget = 'draft-2020-12'): Record<string, unknown> | null {
  if (definition.jsonSchema !== undefined) return definition.jsonSchema;
  const convert = (definition.schema['~standard'] as StandardJsonSchemaProps).jsonSchema?.output;
  if (typeof convert !== 'function') return null;
  try {
    return convert({ target });
  } catch (error) {
    throw new ConfigurationError('invalid_option', `The schema library could not convert this event's schema to JSON Schema (${target}); give the definition a \`jsonSchema\`.`, { cause: error });
  }
}

/**
 * Every event of a catalog as a publishable reference (type, description, JSON Schema,
 * example), in declaration order.
 *
 * @param catalog - The catalog made with {@link defineEvents}.
 * @param target - The JSON Schema dialect of each `schema` (default: `'draft-2020-12'`).
 * @returns One {@link EventReference} per event type, in declaration order.
 *
 * @example
 * ```ts
 * import { describeCatalog } from '@hooks/core';
 * import { events } from './events.js';
 *
 * // Publish the event reference for your customers, e.g. from a route of your API.
 * export function GET(): Response {
 *   return Response.json(describeCatalog(events));
 * }
 * ```
 */
export function describeCatalog(catalog: EventCatalog, target: JsonSchemaTarget = 'draft-2020-12'): EventReference[] {
  return catalog.names.map((type) => {
    const definition = catalog.definitions[type] as EventDefinition;
    return {
      type,
      description: definition.description ?? null,
      deprecated: definition.deprecated === true,
      schema: eventJsonSchema(definition, target),
      example: definition.example ?? null,
    };
  });
}
