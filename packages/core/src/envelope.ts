import { createMessageId } from './ids';

/** The JSON body of every webhook: exactly these four fields. */
export interface WebhookEnvelope<TType extends string = string, TData = unknown> {
  /** Message id, the same on every retry and every endpoint. */
  id: string;
  /** Event type, e.g. `registrant.created`. */
  type: TType;
  /** When the event happened, ISO 8601 in UTC. */
  timestamp: string;
  /** The event's payload, as the catalog's schema describes it. */
  data: TData;
}

/** Options of {@link createEnvelope}. */
export interface CreateEnvelopeOptions<TType extends string, TData> {
  /** Event type. */
  type: TType;
  /** Payload. */
  data: TData;
  /** Message id. @default a new `msg_…` id */
  id?: string;
  /** When the event happened. @default now */
  timestamp?: Date | string;
}

/**
 * Builds an envelope with a fresh id and the current time unless given.
 *
 * @param options - The event type and payload; the id and timestamp when they are already known.
 * @returns The envelope: `{ id, type, timestamp, data }`.
 *
 * @example
 * ```ts
 * import { createEnvelope } from '@hooks/core';
 *
 * const envelope = createEnvelope({
 *   type: 'registrant.created',
 *   data: { email: 'ada@example.com', sessionId: 'ses_01' },
 * });
 * // {
 * //   id: 'msg_01JD…',
 * //   type: 'registrant.created',
 * //   timestamp: '2026-11-23T10:00:00.000Z',
 * //   data: { email: 'ada@example.com', sessionId: 'ses_01' },
 * // }
 * ```
 */
export function createEnvelope<TType extends string, TData>(options: CreateEnvelopeOptions<TType, TData>): WebhookEnvelope<TType, TData> {
  const timestamp = options.timestamp === undefined ? new Date() : options.timestamp;
  return {
    id: options.id ?? createMessageId(),
    type: options.type,
    timestamp: typeof timestamp === 'string' ? timestamp : timestamp.toISOString(),
    data: options.data,
  };
}

/**
 * The exact body bytes to sign and send: JSON of the envelope with its fields in a fixed order.
 *
 * @param envelope - The envelope to send.
 * @returns Its JSON text: `{"id":…,"type":…,"timestamp":…,"data":…}`. Sign and send these bytes, unchanged.
 *
 * @example
 * ```ts
 * import { createEnvelope, serializeEnvelope, sign } from '@hooks/core';
 *
 * const envelope = createEnvelope({
 *   type: 'session.ended',
 *   data: { sessionId: 'ses_01', attendees: 42 },
 * });
 * const body = serializeEnvelope(envelope);
 * // '{"id":"msg_…","type":"session.ended","timestamp":"…","data":{…}}'
 * const signature = await sign({
 *   id: envelope.id,
 *   timestamp: new Date(),
 *   payload: body,
 *   secrets: process.env.WEBHOOK_SECRET!,
 * });
 * ```
 */
export function serializeEnvelope(envelope: WebhookEnvelope): string {
  return JSON.stringify({ id: envelope.id, type: envelope.type, timestamp: envelope.timestamp, data: envelope.data });
}
