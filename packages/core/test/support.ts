// Shared test helpers: build really signed requests for the seed catalog.
// By path, not as a dependency: the fixture depends on core, and a dependency back would be a cycle.
import { broadcastEvents } from '../../../fixtures/broadcast-events/src/index';
import { type HeaderProfile, createEnvelope, serializeEnvelope, signHeaders } from '../src/index';

export { broadcastEvents };

/** A fixed clock: 2026-11-23T10:00:00Z. */
export const NOW_MS = Date.UTC(2026, 10, 23, 10, 0, 0);
export const NOW_SECONDS = NOW_MS / 1000;
export const fixedNow = (): number => NOW_MS;

/** A valid `registrant.created` payload. */
export function registrantData(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    registrant: { id: 'reg_01', email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' },
    eventId: 'evt_01',
    sessionId: 'ses_01',
    registeredAt: '2026-11-23T10:00:00.000Z',
    utmSource: null,
    ...overrides,
  };
}

export interface SignedRequestOptions {
  secrets: string | ReadonlyArray<string>;
  type?: string;
  data?: unknown;
  id?: string;
  /** Signing time in seconds. @default NOW_SECONDS */
  timestamp?: number;
  profile?: HeaderProfile;
  /** Use this exact body instead of an envelope. */
  body?: string | Uint8Array;
}

/** A body and the headers that sign it, as a sender would produce them. */
export async function signedRequest(options: SignedRequestOptions): Promise<{ id: string; body: string | Uint8Array; headers: Record<string, string> }> {
  const id = options.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  const type = options.type ?? 'registrant.created';
  const body =
    options.body ?? serializeEnvelope(createEnvelope({ id, type, data: options.data ?? registrantData(), timestamp: new Date(NOW_MS) }));
  const headers = await signHeaders({
    id,
    timestamp: options.timestamp ?? NOW_SECONDS,
    payload: body,
    secrets: options.secrets,
    profile: options.profile,
    eventType: type,
  });
  return { id, body, headers };
}

/** Resolves to the error a promise rejects with (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** The error a function throws (fails the test when it returns). */
export function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected the function to throw');
}
