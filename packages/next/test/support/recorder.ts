import type { WebhookEvent } from '@hooks/core';
import type { BroadcastEvents } from '@hooks/fixture-broadcast-events';

// Shared by the Next fixture app and the Hono tests: a handler that records what reached it.
// `utmSource` steers it: 'slow' holds the claim for a while (concurrent duplicates meet an
// in-flight claim), 'fail-once' throws on the first delivery of an id (its retry succeeds).

/** Test secrets of the receivers under test: the current one and the one a rotation moves to. */
export const TEST_SECRETS = ['whsec_WDZh34fazC7fllzTKgNryviuOvxriEcIvs69Oof+mDQ=', 'whsec_nJghr5sKRxgLr73kbtOZd7TIyAmeAY8+rXj0i2xG00A='] as const;

/** What the recording handler saw: calls per message id and the last event per id. */
export interface RecorderSnapshot {
  /** Handler entries per message id (a throwing call counts). */
  calls: Record<string, number>;
  /** The last event received per message id. */
  events: Record<string, unknown>;
}

/** A handler that records every event it receives. */
export interface Recorder {
  /** The handler to register with `onAny`. */
  handle(event: WebhookEvent<BroadcastEvents>): Promise<void>;
  /** A copy of what was recorded so far. */
  snapshot(): RecorderSnapshot;
}

/** Creates a {@link Recorder}. */
export function createRecorder(): Recorder {
  const calls: Record<string, number> = {};
  const events: Record<string, unknown> = {};
  const failed = new Set<string>();
  return {
    async handle(event) {
      calls[event.id] = (calls[event.id] ?? 0) + 1;
      events[event.id] = event;
      const steer = event.type === 'registrant.created' ? event.data.utmSource : null;
      if (steer === 'slow') await new Promise((resolve) => setTimeout(resolve, 300));
      if (steer === 'fail-once' && !failed.has(event.id)) {
        failed.add(event.id);
        throw new Error('handler failed on purpose');
      }
    },
    snapshot: () => ({ calls: { ...calls }, events: { ...events } }),
  };
}
