import dns from 'node:dns';
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { HooksError } from '@hooks/core';
import { Agent, buildConnector } from 'undici';
import type { Dispatcher } from 'undici';
import { SenderError } from './errors';
import { assertEndpointUrl, compileUrlPolicy, isBlockedAddress } from './url-policy';
import type { UrlPolicy } from './url-policy';

/** One HTTP POST of a signed webhook. */
export interface DeliveryRequest {
  /** The endpoint URL. */
  url: string;
  /** Request headers (signature, content type, custom headers). */
  headers: Record<string, string>;
  /** The exact body bytes that were signed, as text. */
  body: string;
  /** Time allowed for connect, headers and body together, in milliseconds. */
  timeoutMs: number;
}

/** What the receiver answered: any HTTP status, including 3xx, 4xx and 5xx. */
export interface DeliveryResponse {
  /** HTTP status code. */
  status: number;
  /** Response headers, names lower-cased, repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The start of the response body, at most `maxResponseBytes` bytes, decoded as UTF-8. */
  body: string;
  /** Milliseconds from sending the request to the end of the kept body. */
  durationMs: number;
}

/** Stable codes of {@link DeliveryNetworkError}. */
export type NetworkErrorCode = 'timeout' | 'connection_refused' | 'connection_reset' | 'dns' | 'tls' | 'blocked_address' | 'network';

const networkMarker = Symbol.for('@hooks/sender.error.network');

/** The request did not get an HTTP response: a timeout, a refused or reset connection, DNS, TLS, or a blocked address. */
export class DeliveryNetworkError extends HooksError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by isInstance through the Symbol.for key, which survives two installed copies.
  private readonly [networkMarker] = true;
  declare readonly code: NetworkErrorCode;
  /** Milliseconds from the start of the attempt to the failure. */
  readonly durationMs: number;

  constructor(code: NetworkErrorCode, message: string, durationMs: number, options: { cause?: unknown } = {}) {
    super(code, message, 502, options);
    this.name = 'DeliveryNetworkError';
    this.durationMs = durationMs;
  }

  /** True for a DeliveryNetworkError, even from another installed copy of the package. */
  static override isInstance(error: unknown): error is DeliveryNetworkError {
    return HooksError.isInstance(error) && (error as unknown as Record<symbol, unknown>)[networkMarker] === true;
  }
}

/** Sends webhook requests. */
export interface Transport {
  /** POSTs one request; resolves with any HTTP response, rejects with {@link DeliveryNetworkError} only. */
  send(request: DeliveryRequest): Promise<DeliveryResponse>;
  /** Closes pooled connections, after the requests in flight ended. */
  close(): Promise<void>;
  /** Closes pooled connections at once, cancelling requests in flight (used by `sender.close()` after `stopTimeoutMs`). Optional: without it `close()` is used. */
  destroy?(): Promise<void>;
}

/** Options of {@link createTransport}. */
export interface TransportOptions {
  /** Which URLs and addresses may be reached; checked again at connect time for every resolved address. @default {} (https only, public addresses only) */
  urlPolicy?: UrlPolicy;
  /** Bytes of response body kept for the attempt log. @default 4096 */
  maxResponseBytes?: number;
  /** Connections per origin. @default 10 */
  connectionsPerOrigin?: number;
  /** DNS lookup (node:dns lookup signature), injectable for tests. @default dns.lookup */
  lookup?: typeof dns.lookup;
  /** How long an idle keep-alive connection stays open, in milliseconds. @default 4000 */
  keepAliveTimeoutMs?: number;
}

// After the excerpt is full we still read this much more so a small overflow keeps the connection reusable.
const DRAIN_LIMIT_BYTES = 64 * 1024;

/** Tag on errors raised by our own connect-time check, so mapping never confuses them with OS errors. */
const BLOCKED = Symbol.for('@hooks/sender.blocked-address');

function blockedError(): Error {
  const error = new Error('The endpoint resolves to an address that is not allowed (private, loopback, link-local, metadata or reserved).');
  (error as Error & { [BLOCKED]?: true })[BLOCKED] = true;
  return error;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A pooled keep-alive HTTP client that never follows redirects and checks every resolved address
 * against the URL policy when it connects (the defence against DNS rebinding: the name is resolved
 * once, checked, and the socket connects to exactly the checked address). The sender makes one
 * from its `urlPolicy`; make your own to change the pool or the response excerpt, or wrap it.
 *
 * @param options - The URL policy, response excerpt size, connections per origin, keep-alive
 *   timeout and DNS lookup.
 * @returns The transport: `send` resolves with any HTTP response and rejects only with a
 *   {@link DeliveryNetworkError}; `close` ends the pool.
 * @throws {@link SenderError} `invalid_option` for a bad URL policy entry or pool setting.
 *
 * @example
 * <!-- prelude: import { events } from './events.js'; -->
 * ```ts
 * import { createSender, createTransport } from '@hooks/sender';
 *
 * // Receivers on your own network: the same policy for saving endpoints and for connecting.
 * const urlPolicy = { allow: ['10.20.0.0/16'] };
 * const transport = createTransport({ urlPolicy, maxResponseBytes: 16_384, connectionsPerOrigin: 4 });
 * const sender = createSender({ catalog: events, urlPolicy, transport });
 * // sender.close() leaves a transport you passed open: close it yourself.
 * await sender.close();
 * await transport.close();
 * ```
 */
export function createTransport(options: TransportOptions = {}): Transport {
  const policy: UrlPolicy = { ...options.urlPolicy };
  // Bad entries (an unknown range name, a broken CIDR) fail here, not at the first delivery.
  compileUrlPolicy(policy);
  const maxResponseBytes = options.maxResponseBytes ?? 4096;
  const connections = options.connectionsPerOrigin ?? 10;
  const baseLookup = options.lookup ?? dns.lookup;
  if (!Number.isInteger(maxResponseBytes) || maxResponseBytes < 0) {
    throw new SenderError('invalid_option', 'transport maxResponseBytes must be a non-negative integer.');
  }
  if (!Number.isInteger(connections) || connections < 1) {
    throw new SenderError('invalid_option', 'transport connectionsPerOrigin must be a positive integer.');
  }

  const checkedLookup = (hostname: string, lookupOptions: dns.LookupOptions, callback: LookupCallback): void => {
    baseLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, '');
      const list = Array.isArray(addresses) ? addresses : [];
      // Any blocked answer refuses the whole name: a rebinding server could otherwise race us with a mixed answer.
      if (list.length === 0) return callback(Object.assign(new Error(`No address for ${hostname}.`), { code: 'ENOTFOUND' }), '');
      if (list.some((entry) => isBlockedAddress(entry.address, policy))) return callback(blockedError(), '');
      if (lookupOptions.all === true) return callback(null, list);
      const first = list[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };

  // The close or destroy under way or done, so a second call waits for it instead of failing.
  let closed: Promise<void> | undefined;
  const connector = buildConnector({ lookup: checkedLookup as never, timeout: 10_000 });
  const agent = new Agent({
    connections,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 4000,
    connect: (connectOptions, callback) => {
      // Literal IPs never reach lookup(), so they are checked here.
      if (isIP(connectOptions.hostname) !== 0 && isBlockedAddress(connectOptions.hostname, policy)) {
        callback(blockedError(), null);
        return;
      }
      connector(connectOptions, callback);
    },
  });

  // Endpoint URLs repeat on every delivery; the policy is fixed per transport, so a URL checked
  // once is checked for good (a small bounded cache, cleared when full), with the origin and path
  // undici needs (URL getters build new strings on every read).
  const checkedUrls = new Map<string, { origin: string; path: string }>();
  const checkUrl = (text: string): { origin: string; path: string } => {
    const cached = checkedUrls.get(text);
    if (cached) return cached;
    const url = assertEndpointUrl(text, policy);
    const target = { origin: url.origin, path: `${url.pathname}${url.search}` };
    if (checkedUrls.size >= 1000) checkedUrls.clear();
    checkedUrls.set(text, target);
    return target;
  };

  return {
    send(request) {
      const started = performance.now();
      let target: { origin: string; path: string };
      try {
        target = checkUrl(request.url);
      } catch (error) {
        const code: NetworkErrorCode = SenderError.isInstance(error) && error.code === 'blocked_address' ? 'blocked_address' : 'network';
        return Promise.reject(
          new DeliveryNetworkError(code, SenderError.isInstance(error) ? error.message : 'The endpoint URL is not usable.', elapsedSince(started), { cause: error }),
        );
      }

      // undici's low-level dispatch: no stream, no AbortSignal, no async iterator per request. The
      // response is complete (and the socket back in the pool) when onResponseEnd runs.
      return new Promise<DeliveryResponse>((resolve, reject) => {
        const handler = new PendingRequest(started, request.timeoutMs, maxResponseBytes, resolve, reject);
        try {
          agent.dispatch(
            {
              origin: target.origin,
              path: target.path,
              method: 'POST',
              headers: request.headers,
              body: request.body,
              // The overall timer is the limit; undici's own phase timers would only fire later.
              headersTimeout: 0,
              bodyTimeout: 0,
            },
            handler,
          );
        } catch (error) {
          handler.fail(error);
        }
      });
    },
    // Idempotent: undici rejects a second close or destroy (ClientDestroyedError).
    close() {
      closed ??= agent.close().then(() => undefined);
      return closed;
    },
    destroy() {
      // A destroy may cut short a close under way (requests still open).
      if (!agent.destroyed) closed = agent.destroy().then(() => undefined);
      return closed ?? Promise.resolve();
    },
  };
}

/** Milliseconds since `started` (a performance.now() reading), to the microsecond. */
function elapsedSince(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

/** The overall timer of a request ran out (a function of the module, so a request makes no closure for it). */
function timeOut(pending: PendingRequest): void {
  pending.timeOut();
}

/** Hands a response over (see PendingRequest.succeed). */
function answerNextTurn(pending: PendingRequest): void {
  setImmediate(pending.resolve, pending.response as DeliveryResponse);
}

/**
 * One request in flight: undici's dispatch handler, its overall timer, and the promise it settles.
 * A class rather than closures: one object per request.
 */
class PendingRequest implements Dispatcher.DispatchHandler {
  private settled = false;
  private timedOut = false;
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private headers: Record<string, string> = {};
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private drained = 0;
  private readonly timer: ReturnType<typeof setTimeout>;
  response: DeliveryResponse | undefined;

  constructor(
    private readonly started: number,
    private readonly timeoutMs: number,
    private readonly maxResponseBytes: number,
    readonly resolve: (response: DeliveryResponse) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.timer = setTimeout(timeOut, timeoutMs, this);
  }

  timeOut(): void {
    this.timedOut = true;
    const error = new Error('timeout');
    // Still queued or connecting: answer now; the request is aborted as soon as it starts.
    if (this.controller) this.controller.abort(error);
    this.fail(error);
  }

  private succeed(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    const { chunks } = this;
    this.response = { status: this.status, headers: this.headers, body: decodeExcerpt(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)), durationMs: elapsedSince(this.started) };
    // undici makes the connection reusable in a setImmediate it schedules right after this
    // callback (it waits one event loop turn on purpose), and until then its pool counts the
    // connection as busy and would open another for our next request. Answering after that
    // turn keeps sequential deliveries on one keep-alive connection.
    process.nextTick(answerNextTurn, this);
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.reject(toNetworkError(error, this.timedOut, this.timeoutMs, elapsedSince(this.started)));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.settled) controller.abort(new Error('timeout'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, responseHeaders: Record<string, string | string[] | undefined>): void {
    this.status = statusCode;
    const headers: Record<string, string> = {};
    for (const name of Object.keys(responseHeaders)) {
      const value = responseHeaders[name];
      if (value === undefined) continue;
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const { maxResponseBytes } = this;
    if (this.kept < maxResponseBytes) {
      const part = chunk.length > maxResponseBytes - this.kept ? chunk.subarray(0, maxResponseBytes - this.kept) : chunk;
      this.chunks.push(part);
      this.kept += part.length;
    } else {
      this.drained += chunk.length;
      // A small overflow is read to the end so the connection stays reusable; a huge answer is
      // cut: we answer with the excerpt and drop the connection.
      if (this.drained > DRAIN_LIMIT_BYTES) {
        this.succeed();
        controller.abort(new Error('response excerpt complete'));
      }
    }
  }

  onResponseEnd(): void {
    this.succeed();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }
}

// Decoding keeps no state between calls (no `stream` option), so one decoder serves every response.
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Decodes the kept bytes, dropping a multi-byte character cut in half at the end. */
function decodeExcerpt(bytes: Buffer): string {
  const text = utf8.decode(bytes);
  return text.endsWith('\uFFFD') && bytes.length > 0 && (bytes[bytes.length - 1] ?? 0) >= 0x80 ? text.slice(0, -1) : text;
}

const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

/** Every error in a cause chain or AggregateError, outermost first. */
function errorChain(error: unknown): Array<Record<string | symbol, unknown>> {
  const out: Array<Record<string | symbol, unknown>> = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && out.length < 16) {
    const current = queue.shift();
    if (typeof current !== 'object' || current === null) continue;
    const record = current as Record<string | symbol, unknown>;
    out.push(record);
    if (record.cause !== undefined) queue.push(record.cause);
    if (Array.isArray(record.errors)) queue.push(...record.errors);
  }
  return out;
}

/** Maps undici, OS and TLS errors to a stable code; the message never contains headers or the body. */
function toNetworkError(error: unknown, timedOut: boolean, timeoutMs: number, durationMs: number): DeliveryNetworkError {
  if (DeliveryNetworkError.isInstance(error)) return error;
  if (timedOut) return new DeliveryNetworkError('timeout', `No complete response within ${timeoutMs} ms.`, durationMs, { cause: error });
  const chain = errorChain(error);
  const codes = chain.map((entry) => (typeof entry.code === 'string' ? entry.code : ''));
  const messages = chain.map((entry) => (typeof entry.message === 'string' ? entry.message : ''));
  const has = (predicate: (code: string) => boolean) => codes.some(predicate);
  const make = (code: NetworkErrorCode, message: string) => new DeliveryNetworkError(code, message, durationMs, { cause: error });

  if (chain.some((entry) => entry[BLOCKED] === true)) {
    return make('blocked_address', 'The endpoint resolves to an address that is not allowed (private, loopback, link-local, metadata or reserved).');
  }
  if (has((code) => code === 'ECONNREFUSED')) return make('connection_refused', 'The endpoint refused the connection.');
  if (has((code) => code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NODATA' || code === 'EAI_NONAME')) {
    return make('dns', 'The endpoint host name could not be resolved.');
  }
  if (has((code) => TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('ERR_OSSL_') || code.startsWith('CERT_'))) {
    return make('tls', `The TLS handshake with the endpoint failed (${codes.find((code) => code !== '' && !code.startsWith('UND_ERR')) ?? 'tls'}).`);
  }
  if (has((code) => code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT')) {
    return make('timeout', 'The endpoint did not answer in time.');
  }
  if (
    has((code) => code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED') ||
    messages.some((message) => /socket hang up|other side closed/i.test(message))
  ) {
    return make('connection_reset', 'The endpoint closed the connection before a complete response.');
  }
  const first = codes.find((code) => code !== '');
  return make('network', first ? `The request failed (${first}).` : 'The request failed.');
}
