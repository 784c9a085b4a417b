import { type HeadersInput, PROFILE_HEADERS, type SecretsResolver, type VerifiedWebhook, type WebhookEvent, maskSecret } from '@hooks/core';
import { getHeader } from '@hooks/core/internal';
import type { BroadcastEvents } from '@hooks/fixture-broadcast-events';

/** Where a demo receiver gets its configuration from on every request. */
export interface ReceiverControl {
  /** Every secret the receiver accepts now: the current and not yet expired previous secrets of the endpoints that target it. */
  secrets(): Promise<string[]>;
  /** True while the demo's "break this receiver" switch is on: the handler throws, so the receiver answers 500. */
  failing(): Promise<boolean>;
}

/** One delivery that reached a receiver's handler (after its signature verified). */
export interface ReceivedEntry {
  /** The message id (`X-Webhook-Id`). */
  id: string;
  /** The event type. */
  type: string;
  /** When the handler ran (ISO time). */
  receivedAt: string;
  /** `X-Webhook-Attempt`. */
  attempt: number | null;
  /** `handled` (answered 200) or `failed` (the switch was on: answered 500, the sender retries). */
  outcome: 'handled' | 'failed';
  /** How many signatures the request carried: 2 while the sender signs with an old and a new secret. */
  signatures: number;
  /** The secrets the receiver accepted for this request, masked (`whsec_…Ab3x`). */
  acceptedSecrets: string[];
  /** The event's payload. */
  data: unknown;
}

/** The verifying side of a demo receiver: a secrets resolver for the adapter, the handler, and what it saw. */
export interface Recorder {
  /** Pass as the adapter's `secrets` option: read on each request, so a rotation is picked up at once. */
  secrets: SecretsResolver;
  /** Register with the adapter's `onAny`. */
  handle(event: WebhookEvent<BroadcastEvents>, context: { webhook: VerifiedWebhook }): Promise<void>;
  /** What reached the handler, newest first. */
  list(): ReceivedEntry[];
}

const KEEP = 200;

/** Creates a {@link Recorder} fed by `control`. */
export function createRecorder(control: ReceiverControl): Recorder {
  const received: ReceivedEntry[] = [];
  // What the secrets resolver saw per message id, read back by the handler of the same request.
  const seen = new Map<string, { signatures: number; acceptedSecrets: string[] }>();

  return {
    async secrets({ headers }: { headers: HeadersInput }) {
      const secrets = await control.secrets();
      const id = getHeader(headers, PROFILE_HEADERS['x-webhook'].id) ?? getHeader(headers, PROFILE_HEADERS.standard.id);
      const signature = getHeader(headers, PROFILE_HEADERS['x-webhook'].signature) ?? getHeader(headers, PROFILE_HEADERS.standard.signature) ?? '';
      if (id !== undefined) {
        seen.set(id, { signatures: signature.split(' ').filter((part) => part !== '').length, acceptedSecrets: secrets.map(maskSecret) });
        if (seen.size > KEEP) seen.delete(seen.keys().next().value as string);
      }
      return secrets;
    },
    async handle(event, { webhook }) {
      const failing = await control.failing();
      const request = seen.get(webhook.id) ?? { signatures: 0, acceptedSecrets: [] };
      received.unshift({
        id: webhook.id,
        type: event.type,
        receivedAt: new Date().toISOString(),
        attempt: webhook.attempt ?? null,
        outcome: failing ? 'failed' : 'handled',
        ...request,
        data: event.data,
      });
      if (received.length > KEEP) received.length = KEEP;
      // Throwing makes the core pipeline answer 500 and release the dedupe claim, so the retry is processed.
      if (failing) throw new Error('This receiver is switched to fail (demo).');
    },
    list: () => received.map((entry) => ({ ...entry })),
  };
}
