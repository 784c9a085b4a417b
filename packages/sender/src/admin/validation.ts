import { SenderError } from '../errors';

// Field-by-field checks of admin API input. Each failure is a SenderError('invalid_input') whose
// `details.field` names the field, so a settings page can put the message next to it.

/** A JSON object from a request body. */
export type JsonObject = Record<string, unknown>;

function invalid(field: string, message: string): SenderError {
  return new SenderError('invalid_input', message, { details: { field } });
}

/** The parsed body as an object; anything else (array, string, null) is refused. */
export function asObject(body: unknown): JsonObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SenderError('invalid_input', 'The request body must be a JSON object.', { details: { field: '(body)' } });
  }
  return body as JsonObject;
}

/** Refuses fields not in `allowed`, so a typo is an error rather than silently ignored. */
export function onlyFields(body: JsonObject, allowed: readonly string[], where = 'body'): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      const hint = key === 'tenant' ? ' The tenant comes from the authorization hook.' : '';
      throw invalid(key.slice(0, 100), `Unknown field "${key.slice(0, 100)}" in the ${where}.${hint} Allowed: ${allowed.join(', ')}.`);
    }
  }
}

/** A string of 1..max characters; `undefined` when absent and not required. */
export function stringField(body: JsonObject, field: string, options: { required?: boolean; max: number }): string | undefined {
  const value = body[field];
  if (value === undefined) {
    if (options.required) throw invalid(field, `${field} is required.`);
    return undefined;
  }
  if (typeof value !== 'string') throw invalid(field, `${field} must be a string.`);
  if (value.length === 0 || value.length > options.max) throw invalid(field, `${field} must have 1 to ${options.max} characters.`);
  return value;
}

/** Like {@link stringField} but `null` is accepted (clears the value); an empty string also becomes `null`. */
export function nullableStringField(body: JsonObject, field: string, max: number): string | null | undefined {
  const value = body[field];
  if (value === null || value === '') return value === undefined ? undefined : null;
  return stringField(body, field, { max });
}

/** A boolean, or undefined when absent. */
export function booleanField(body: JsonObject, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalid(field, `${field} must be true or false.`);
  return value;
}

/** A number in [min, max] (an integer when asked), or undefined when absent. */
export function numberField(body: JsonObject, field: string, options: { min: number; max: number; integer?: boolean }): number | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(field, `${field} must be a number.`);
  if (options.integer && !Number.isInteger(value)) throw invalid(field, `${field} must be a whole number.`);
  if (value < options.min || value > options.max) throw invalid(field, `${field} must be from ${options.min} to ${options.max}.`);
  return value;
}

/** One of the listed strings, or undefined when absent. */
export function enumField<T extends string>(body: JsonObject, field: string, values: readonly T[]): T | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) throw invalid(field, `${field} must be one of: ${values.join(', ')}.`);
  return value as T;
}

/** An array of distinct non-empty strings. */
export function stringListField(body: JsonObject, field: string, options: { maxItems: number; maxLength: number }): string[] | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalid(field, `${field} must be an array of strings.`);
  if (value.length > options.maxItems) throw invalid(field, `${field} may have at most ${options.maxItems} items.`);
  const out: string[] = [];
  for (const [index, item] of value.entries()) {
    if (typeof item !== 'string' || item.length === 0 || item.length > options.maxLength) {
      throw invalid(`${field}[${index}]`, `${field}[${index}] must be a string of 1 to ${options.maxLength} characters.`);
    }
    if (!out.includes(item)) out.push(item);
  }
  return out;
}

/**
 * Custom request headers: an object of header name → string value. Names, reserved headers and
 * value limits are the sender's rules (`endpoints.create`/`update` check them), kept in one place.
 */
export function headersField(body: JsonObject, field: string): Record<string, string> | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(field, `${field} must be an object of header names to string values.`);
  for (const [name, headerValue] of Object.entries(value)) {
    if (typeof headerValue !== 'string') throw invalid(field, `The value of header "${name.slice(0, 100)}" must be a string.`);
  }
  return value as Record<string, string>;
}

/** A JSON object of host-app data, at most `maxBytes` once serialised. */
export function metadataField(body: JsonObject, field: string, maxBytes: number): Record<string, unknown> | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(field, `${field} must be a JSON object.`);
  if (Buffer.byteLength(JSON.stringify(value)) > maxBytes) throw invalid(field, `${field} must be at most ${maxBytes} bytes as JSON.`);
  return value as Record<string, unknown>;
}

/** A time: unix milliseconds or an ISO 8601 date string. */
export function parseTime(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && value.length > 0 && value.length <= 40) {
    if (/^\d{1,15}$/.test(value)) return Number(value);
    // Only full ISO dates, so a stray word never parses to some surprising time.
    if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
      const time = Date.parse(value);
      if (Number.isFinite(time)) return time;
    }
  }
  throw invalid(field, `${field} must be unix milliseconds or an ISO 8601 date.`);
}

/** Reads query parameters, refusing unknown ones and repeated ones. */
export function readQuery(url: URL, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    if (!allowed.includes(key)) {
      throw invalid(key.slice(0, 100), `Unknown query parameter "${key.slice(0, 100)}". Allowed: ${allowed.join(', ') || 'none'}.`);
    }
    if (out.has(key)) throw invalid(key, `Query parameter "${key}" is given more than once.`);
    out.set(key, value);
  }
  return out;
}

/** Page size from the query: 1..1000, default 50. */
export function limitParameter(query: Map<string, string>): number {
  const text = query.get('limit');
  if (text === undefined) return 50;
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > 1000) throw invalid('limit', 'limit must be a whole number from 1 to 1000.');
  return Number(text);
}

/** A string query parameter of 1..max characters, or undefined. */
export function stringParameter(query: Map<string, string>, name: string, max = 200): string | undefined {
  const value = query.get(name);
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > max) throw invalid(name, `${name} must have 1 to ${max} characters.`);
  return value;
}

/** A time query parameter, or undefined. */
export function timeParameter(query: Map<string, string>, name: string): number | undefined {
  const value = query.get(name);
  return value === undefined ? undefined : parseTime(value, name);
}

/** A boolean query parameter (`true` / `false`), or undefined. */
export function booleanParameter(query: Map<string, string>, name: string): boolean | undefined {
  const value = query.get(name);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw invalid(name, `${name} must be true or false.`);
  return value === 'true';
}

/** One of the listed values, or undefined. */
export function enumParameter<T extends string>(query: Map<string, string>, name: string, values: readonly T[]): T | undefined {
  const value = query.get(name);
  if (value === undefined) return undefined;
  if (!(values as readonly string[]).includes(value)) throw invalid(name, `${name} must be one of: ${values.join(', ')}.`);
  return value as T;
}
