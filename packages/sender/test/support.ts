import { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, silentLogger } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { createSender, type SenderOptions } from '../src/sender';
import { createMemoryStorage } from '../src/storage/memory';

/** One request a test receiver got. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The message id header. */
  id: string;
  /** `X-Webhook-Attempt`. */
  attempt: number;
  /** The injected clock when the request arrived (or Date.now when none was given). */
  at: number;
}

/** What a handler answers: a status with optional headers/body, 'hang' (never answers) or 'reset' (destroys the socket). */
export type ReceiverAnswer = { status: number; headers?: Record<string, string>; body?: string } | 'hang' | 'reset';

/** A real HTTP receiver on 127.0.0.1 that records every request. */
export interface TestReceiver {
  url: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** Starts a loopback receiver; `answer` decides per request (default 200). */
export async function startReceiver(answer: (request: ReceivedRequest, index: number) => ReceiverAnswer | Promise<ReceiverAnswer> = () => ({ status: 200 }), clock: () => number = Date.now): Promise<TestReceiver> {
  const requests: ReceivedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const received: ReceivedRequest = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        id: String(request.headers['x-webhook-id'] ?? request.headers['webhook-id'] ?? ''),
        attempt: Number(request.headers['x-webhook-attempt'] ?? 0),
        at: clock(),
      };
      requests.push(received);
      const result = await answer(received, requests.length - 1);
      if (result === 'hang') {
        hanging.add(response);
        return;
      }
      if (result === 'reset') {
        request.socket.destroy();
        return;
      }
      response.writeHead(result.status, result.headers ?? {});
      response.end(result.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    requests,
    async close() {
      for (const response of hanging) response.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A controllable clock in unix milliseconds. */
export function createClock(start = Date.parse('2026-11-23T10:00:00.000Z')) {
  let current = start;
  return {
    now: () => current,
    advance(ms: number) {
      current += ms;
    },
    set(value: number) {
      current = value;
    },
  };
}

/** The URL policy tests use: loopback http allowed. */
export const LOOPBACK_POLICY = { allowHttp: true, allow: ['loopback'] } as const;

/** One line a {@link RecordingLogger} received. */
export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown> | undefined;
}

/** A logger that keeps every line, for assertions (and for scanning output for secrets). */
export function recordingLogger(): Logger & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const add = (level: LogLine['level']) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  return { lines, info: add('info'), warn: add('warn'), error: add('error'), text: () => lines.map((line) => `${line.level} ${line.message} ${JSON.stringify(line.fields ?? {})}`).join('\n') };
}

/** A valid payload of `registrant.created`. */
export function registrantData(index = 0) {
  return {
    registrant: { id: `reg_${index}`, email: `person${index}@example.com`, firstName: 'Ada', lastName: 'Lovelace' },
    eventId: 'evt_01',
    sessionId: 'ses_01',
    registeredAt: '2026-11-23T10:00:00.000Z',
    utmSource: null,
  };
}

/** A sender over memory storage with loopback allowed, no jitter, a fast timeout. */
export function makeSender(overrides: Partial<SenderOptions<typeof broadcastEvents>> = {}) {
  return createSender({
    catalog: broadcastEvents,
    storage: createMemoryStorage(),
    urlPolicy: LOOPBACK_POLICY,
    retry: { jitter: 0 },
    dispatcher: { timeoutMs: 2_000, leaseMs: 10_000, pollIntervalMs: 20 },
    onError: () => {},
    logger: silentLogger,
    ...overrides,
  });
}

export { broadcastEvents };
