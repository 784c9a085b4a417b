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

/** Builds an envelope with a fresh id and the current time unless given. */
export function createEnvelope<TType extends string, TData>(options: CreateEnvelopeOptions<TType, TData>): WebhookEnvelope<TType, TData> {
  const timestamp = options.timestamp === undefined ? new Date() : options.timestamp;
  return {
    id: options.id ?? createMessageId(),
    type: options.type,
    timestamp: typeof timestamp === 'string' ? timestamp : timestamp.toISOString(),
    data: options.data,
  };
}

/** The exact body bytes to sign and send: JSON of the envelope with its fields in a fixed order. */
export function serializeEnvelope(envelope: WebhookEnvelope): string {
  return JSON.stringify({ id: envelope.id, type: envelope.type, timestamp: envelope.timestamp, data: envelope.data });
}
