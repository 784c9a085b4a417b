import type { ReceiverControl } from './recorder';

/** The frameworks the demo runs a receiver in. */
export type ReceiverName = 'express' | 'fastify' | 'koa' | 'next' | 'hono';

/** A receiver server the demo started. */
export interface RunningReceiver {
  /** Which framework. */
  name: ReceiverName;
  /** A label for people: "Express", "Next.js (App Router)"… */
  label: string;
  /** Where to point an endpoint: the URL of its webhook route. */
  webhookUrl: string;
  /** JSON list of what reached the handler, newest first. */
  receivedUrl: string;
  /** How it runs, when that needs saying (e.g. the Next.js fallback). */
  note?: string;
  /** Closes the server. */
  stop(): Promise<void>;
}

/** What every receiver starter gets. */
export interface ReceiverStartOptions {
  /** Secrets and the failure switch, read on each request. */
  control: ReceiverControl;
}
