import { fileURLToPath } from 'node:url';
import type { RetryOptions } from '@hooks/sender';
import { createFetchServer } from './fetch-server';
import { bundlePortalScript } from './portal-script';
import { DEMO_TENANT, type Platform, createPlatform } from './platform';
import { startExpressReceiver } from './receivers/express';
import { startFastifyReceiver } from './receivers/fastify';
import { startHonoReceiver } from './receivers/hono';
import { startKoaReceiver } from './receivers/koa';
import { close, listen } from './receivers/listen';
import { startNextReceiver } from './receivers/next';
import type { ReceiverControl } from './receivers/recorder';
import type { ReceiverName, RunningReceiver } from './receivers/types';
import { createSettingsHandler } from './server';
import { createSimulator } from './simulator';

/** Where `pnpm demo` keeps its SQLite database: `apps/demo/.demo-data` (git-ignored). */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../.demo-data', import.meta.url));

const DEFAULT_OVERLAP_MS = 86_400_000;

/** Options of {@link startDemo}. */
export interface DemoOptions {
  /** Port of the settings page; 0 picks a free one. Receivers always get free ports. @default 0 */
  port?: number;
  /** Folder of the SQLite database. @default apps/demo/.demo-data */
  dataDir?: string;
  /** Retry schedule and caps (tests pass a short one). @default the sender's seed schedule */
  retry?: RetryOptions;
  /** How long a regenerated secret's predecessor keeps signing. @default 86_400_000 (24 h) */
  secretOverlapMs?: number;
  /** `auto` runs the real Next.js app when it was built, `route-only` serves its route handler from Node. @default 'auto' */
  next?: 'auto' | 'route-only';
}

/** URLs of a running demo. */
export interface DemoUrls {
  /** The settings page (Settings → Integrations → Webhooks). */
  settings: string;
  /** The sender's admin API. */
  admin: string;
  /** Per receiver: where to point an endpoint, and its `/received` list. */
  receivers: Record<ReceiverName, { label: string; webhook: string; received: string; note: string | null }>;
}

/** A running demo. */
export interface RunningDemo {
  /** Where everything listens. */
  urls: DemoUrls;
  /** The sender and admin API behind the settings page. */
  platform: Platform;
  /** Flips a receiver's "answer 500" switch. */
  setFailing(name: ReceiverName, failing: boolean): void;
  /** Stops the receivers, the web server and the sender's dispatcher, and closes the database. */
  stop(): Promise<void>;
}

function sameTarget(endpointUrl: string, webhookUrl: string): boolean {
  try {
    const a = new URL(endpointUrl);
    const b = new URL(webhookUrl);
    return a.origin === b.origin && a.pathname.replace(/\/+$/, '') === b.pathname.replace(/\/+$/, '');
  } catch {
    return false;
  }
}

/**
 * Starts the whole demo on loopback: the broadcast platform (sender on SQLite, admin API,
 * settings page, simulator) and receivers in Express, Fastify, Koa, Next.js and Hono.
 */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const secretOverlapMs = options.secretOverlapMs ?? DEFAULT_OVERLAP_MS;
  const platform = createPlatform({ dataDir: options.dataDir ?? DEFAULT_DATA_DIR, retry: options.retry, secretOverlapMs });
  const { sender } = platform;
  const failing = new Map<ReceiverName, boolean>();
  const receivers: RunningReceiver[] = [];

  async function demoEndpoints() {
    const all = [];
    let cursor: string | undefined;
    do {
      const page = await sender.endpoints.list({ tenant: DEMO_TENANT, limit: 100, ...(cursor ? { cursor } : {}) });
      all.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return all;
  }

  // The demo owns both sides, so a receiver's configuration is read from the sender: the current
  // secret and the previous ones still inside their overlap, of every endpoint that targets it.
  // A real receiver keeps these in its own config; during a rotation it lists the old and the new.
  async function secretsFor(name: ReceiverName): Promise<string[]> {
    const receiver = receivers.find((entry) => entry.name === name);
    if (!receiver) return [];
    const secrets: string[] = [];
    for (const endpoint of await demoEndpoints()) {
      if (!sameTarget(endpoint.url, receiver.webhookUrl)) continue;
      const { current, previous } = await sender.endpoints.getSecrets(endpoint.id);
      secrets.push(current, ...previous.map((entry) => entry.secret));
    }
    return secrets;
  }

  // Endpoints added in the portal that target a demo receiver are tagged with it, so a restart
  // (new ports) can point them at the same receiver again.
  async function tagReceiverEndpoints(): Promise<void> {
    for (const endpoint of await demoEndpoints()) {
      const target = receivers.find((receiver) => sameTarget(endpoint.url, receiver.webhookUrl));
      if (target && endpoint.metadata.demoReceiver !== target.name) {
        await sender.endpoints.update(endpoint.id, { metadata: { ...endpoint.metadata, demoReceiver: target.name } });
      }
    }
  }

  const portalScript = bundlePortalScript();
  // Started now, awaited on first request; a failure is reported there, not as an unhandled rejection.
  portalScript.catch(() => {});

  const control = (name: ReceiverName): ReceiverControl => ({
    secrets: () => secretsFor(name),
    failing: async () => failing.get(name) === true,
  });

  const server = createFetchServer(
    createSettingsHandler({
      platform,
      simulator: createSimulator(),
      receivers: () => receivers,
      isFailing: (name) => failing.get(name) === true,
      setFailing: (name, value) => failing.set(name, value),
      secretsFor,
      secretOverlapMs,
      portalScript: () => portalScript,
      afterAdminWrite: tagReceiverEndpoints,
    }),
  );
  let settings: string;
  try {
    settings = await listen(server, options.port ?? 0);
    const started = await Promise.allSettled([
      startExpressReceiver({ control: control('express') }),
      startFastifyReceiver({ control: control('fastify') }),
      startKoaReceiver({ control: control('koa') }),
      startNextReceiver({ control: control('next'), controlUrl: `${settings}/api/demo/receivers/next/control`, mode: options.next ?? 'auto' }),
      startHonoReceiver({ control: control('hono') }),
    ]);
    for (const result of started) if (result.status === 'fulfilled') receivers.push(result.value);
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;

    // Endpoints saved by an earlier run point at that run's ports: move them to this run's receivers.
    for (const endpoint of await demoEndpoints()) {
      const target = receivers.find((receiver) => receiver.name === endpoint.metadata.demoReceiver);
      if (target && !sameTarget(endpoint.url, target.webhookUrl)) await sender.endpoints.update(endpoint.id, { url: target.webhookUrl });
    }
  } catch (error) {
    await Promise.allSettled(receivers.map((receiver) => receiver.stop()));
    await close(server);
    await sender.close();
    throw error;
  }

  const urls: DemoUrls = {
    settings: `${settings}/`,
    admin: `${settings}/api/admin`,
    receivers: Object.fromEntries(
      receivers.map((receiver) => [receiver.name, { label: receiver.label, webhook: receiver.webhookUrl, received: receiver.receivedUrl, note: receiver.note ?? null }]),
    ) as DemoUrls['receivers'],
  };

  let stopping: Promise<void> | undefined;
  return {
    urls,
    platform,
    setFailing: (name, value) => failing.set(name, value),
    stop() {
      stopping ??= (async () => {
        // The dispatcher first, so no attempt runs against a receiver that is going away.
        await sender.stop();
        await Promise.allSettled(receivers.map((receiver) => receiver.stop()));
        await close(server);
        await sender.close();
      })();
      return stopping;
    },
  };
}
