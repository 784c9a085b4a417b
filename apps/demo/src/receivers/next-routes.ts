import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { webhookHandler } from '@hooks/next';
import { type ReceiverControl, createRecorder } from './recorder';

/** The route handlers of the Next.js receiver, exported by its `route.ts` as `POST` and `GET`. */
export interface NextReceiverRoutes {
  /** `@hooks/next`'s `webhookHandler`: verifies, dedupes, validates and runs the recorder. */
  post: (request: Request) => Promise<Response>;
  /** Lists what reached the handler, newest first. */
  get: () => Response;
}

/** Creates the App Router route handlers of the Next.js receiver. */
export function createNextReceiverRoutes(control: ReceiverControl): NextReceiverRoutes {
  const recorder = createRecorder(control);
  return {
    post: webhookHandler({ catalog: broadcastEvents, secrets: recorder.secrets }).onAny(recorder.handle),
    get: () => Response.json(recorder.list()),
  };
}

/** A {@link ReceiverControl} read over HTTP from the demo, for the Next.js app that runs in its own process. */
export function remoteControl(url: string | undefined): ReceiverControl {
  let cached: { at: number; value: Promise<{ secrets: string[]; failing: boolean }> } | undefined;
  // One fetch serves the secrets lookup and the handler of the same request.
  const read = (): Promise<{ secrets: string[]; failing: boolean }> => {
    if (!url) return Promise.resolve({ secrets: [], failing: false });
    if (!cached || Date.now() - cached.at > 200) {
      const value = fetch(url, { cache: 'no-store' }).then(async (response) => {
        if (!response.ok) throw new Error(`The demo control answered ${response.status}.`);
        return (await response.json()) as { secrets: string[]; failing: boolean };
      });
      value.catch(() => {
        cached = undefined;
      });
      cached = { at: Date.now(), value };
    }
    return cached.value;
  };
  return { secrets: async () => (await read()).secrets, failing: async () => (await read()).failing };
}
