import { readFileSync } from 'node:fs';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import type { FetchHandler } from './fetch-server';
import { DEMO_TENANT, type Platform } from './platform';
import type { ReceivedEntry } from './receivers/recorder';
import type { ReceiverName, RunningReceiver } from './receivers/types';
import { type BroadcastEventType, LIFECYCLE, type Simulator } from './simulator';

/** What the demo's web server needs. */
export interface SettingsServerOptions {
  /** The sender and its admin API. */
  platform: Platform;
  /** Produces the simulated events. */
  simulator: Simulator;
  /** The receivers running now (they start after the server, which gives the Next.js app its control URL). */
  receivers: () => RunningReceiver[];
  /** Reads the "answer 500" switch of a receiver. */
  isFailing: (name: ReceiverName) => boolean;
  /** Sets the "answer 500" switch of a receiver. */
  setFailing: (name: ReceiverName, failing: boolean) => void;
  /** The secrets a receiver accepts now. */
  secretsFor: (name: ReceiverName) => Promise<string[]>;
  /** Stated by the portal's regenerate dialog. */
  secretOverlapMs: number;
  /** `<hooks-portal>` as one browser module. */
  portalScript: () => Promise<string>;
  /** Called after a write through the admin API, so endpoints that target a receiver follow it across restarts. */
  afterAdminWrite?: () => Promise<void>;
}

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/styles.css': { file: 'styles.css', type: 'text/css; charset=utf-8' },
};

// How long a portal token lasts; the element asks /api/demo/portal-token again when it expires.
const PORTAL_TOKEN_SECONDS = 15 * 60;

// The page loads only its own script and styles; the admin API answers carry secrets.
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } });
}

function error(status: number, code: string, message: string): Response {
  return json({ error: { code, message } }, status);
}

async function readJson(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.trim() === '') return {};
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SyntaxError('expected an object');
  return parsed as Record<string, unknown>;
}

async function fetchReceived(receiver: RunningReceiver): Promise<{ entries: ReceivedEntry[]; error?: string }> {
  try {
    const response = await fetch(receiver.receivedUrl, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) return { entries: [], error: `GET /received answered ${response.status}` };
    return { entries: (await response.json()) as ReceivedEntry[] };
  } catch {
    return { entries: [], error: 'The receiver did not answer.' };
  }
}

/**
 * The demo's web server as one Fetch handler: the settings page (`<hooks-portal>` and its
 * script), the sender's admin API at `/api/admin` with the portal token route, the simulator
 * (`POST /simulate`) and the receivers' switches under `/api/demo`.
 */
export function createSettingsHandler(options: SettingsServerOptions): FetchHandler {
  const files = new Map(Object.entries(STATIC).map(([path, entry]) => [path, { body: readFileSync(new URL(`./web/${entry.file}`, import.meta.url)), type: entry.type }]));
  const { platform } = options;
  const findReceiver = (name: string | undefined) => options.receivers().find((receiver) => receiver.name === name);

  async function simulate(request: Request): Promise<Response> {
    let input: Record<string, unknown>;
    try {
      input = await readJson(request);
    } catch {
      return error(400, 'invalid_input', 'The body must be a JSON object: { "type": "registrant.created" } or { "scenario": "broadcast" }.');
    }
    const type = input.type ?? new URL(request.url).searchParams.get('type') ?? undefined;
    let types: BroadcastEventType[];
    if (input.scenario === 'broadcast') types = [...LIFECYCLE];
    else if (typeof type === 'string' && broadcastEvents.has(type)) types = [type as BroadcastEventType];
    else return error(400, 'unknown_event', `Choose an event type: ${broadcastEvents.names.join(', ')}, or the scenario "broadcast".`);
    const sent = [];
    for (const name of types) {
      const event = options.simulator.next(name);
      const result = await platform.sender.send({ tenant: DEMO_TENANT, type: event.type, data: event.data } as Parameters<typeof platform.sender.send>[0]);
      sent.push({ type: event.type, messageId: result.messageId, deliveryCount: result.deliveryCount });
    }
    return json({ sent }, 202);
  }

  return async (request) => {
    const url = new URL(request.url);
    const path = url.pathname;
    // The demo has no login and its answers carry secrets: only loopback names are served (no DNS
    // rebinding), and a browser request from another site's page is refused (no CSRF).
    if (!LOOPBACK_HOSTS.has(url.hostname)) return error(403, 'forbidden', 'The demo answers on 127.0.0.1 and localhost only.');
    const origin = request.headers.get('origin');
    if (origin !== null && origin !== url.origin) return error(403, 'forbidden', 'Cross-site requests are refused.');
    if (path === '/api/admin' || path.startsWith('/api/admin/')) {
      const answer = await platform.admin(request);
      if (request.method !== 'GET' && answer.ok) await options.afterAdminWrite?.();
      return answer;
    }
    if (path === '/hooks-portal.js' && request.method === 'GET') {
      return new Response(await options.portalScript(), { headers: { 'content-type': 'text/javascript; charset=utf-8', ...PAGE_HEADERS } });
    }
    // The one route a SaaS adds: a portal token for the signed-in user's workspace (the demo has
    // no login, so it is always the demo workspace).
    if (path === '/api/demo/portal-token' && request.method === 'GET') {
      const minted = platform.sender.createPortalToken({ tenant: DEMO_TENANT, expiresInSeconds: PORTAL_TOKEN_SECONDS });
      return json({ token: minted.token, expiresAt: minted.expiresAt.toISOString() });
    }

    if (request.method === 'GET' && files.has(path)) {
      const file = files.get(path)!;
      return new Response(file.body, { headers: { 'content-type': file.type, ...PAGE_HEADERS } });
    }
    if (path === '/simulate') {
      if (request.method !== 'POST') return error(405, 'method_not_allowed', 'POST an event type to /simulate.');
      return simulate(request);
    }
    if (path === '/api/demo' && request.method === 'GET') {
      return json({
        tenant: DEMO_TENANT,
        secretOverlapMs: options.secretOverlapMs,
        eventTypes: [...broadcastEvents.names],
        receivers: options.receivers().map(({ name, label, webhookUrl, receivedUrl, note }) => ({ name, label, webhookUrl, receivedUrl, note: note ?? null })),
      });
    }
    if (path === '/api/demo/receivers' && request.method === 'GET') {
      const items = await Promise.all(
        options.receivers().map(async (receiver) => {
          const { entries, error: problem } = await fetchReceived(receiver);
          return {
            name: receiver.name,
            label: receiver.label,
            webhookUrl: receiver.webhookUrl,
            receivedUrl: receiver.receivedUrl,
            note: receiver.note ?? null,
            failing: options.isFailing(receiver.name),
            receivedCount: entries.length,
            // The list, without payloads: the page shows type, attempt and signatures.
            received: entries.slice(0, 10).map(({ data: _data, ...entry }) => entry),
            error: problem ?? null,
          };
        }),
      );
      return json({ items });
    }
    const receiverRoute = /^\/api\/demo\/receivers\/([a-z]+)\/(failing|control)$/.exec(path);
    if (receiverRoute) {
      const receiver = findReceiver(receiverRoute[1]);
      if (!receiver) return error(404, 'not_found', 'No such receiver.');
      if (receiverRoute[2] === 'failing' && request.method === 'POST') {
        let input: Record<string, unknown>;
        try {
          input = await readJson(request);
        } catch {
          input = {};
        }
        if (typeof input.failing !== 'boolean') return error(400, 'invalid_input', 'Send { "failing": true } or { "failing": false }.');
        options.setFailing(receiver.name, input.failing);
        return json({ name: receiver.name, failing: input.failing });
      }
      // Read by the Next.js app, which runs in its own process (loopback only, like the whole demo).
      if (receiverRoute[2] === 'control' && request.method === 'GET') {
        return json({ secrets: await options.secretsFor(receiver.name), failing: options.isFailing(receiver.name) });
      }
      return error(405, 'method_not_allowed', 'Method not allowed.');
    }
    return error(404, 'not_found', 'No such page.');
  };
}
