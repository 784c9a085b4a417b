/**
 * The receiver matrix for apps whose handlers run in another process (a real Next.js server):
 * what reached the handler is read back with `GET <path>` (a {@link RecorderSnapshot}), and the
 * handler is steered by `utmSource` ('slow', 'fail-once'; see recorder.ts).
 */
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { createMessageId, signHeaders } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { describe, expect, it } from 'vitest';
import { type RecorderSnapshot, TEST_SECRETS } from './recorder';

const FIFTY_MB = 50 * 1024 * 1024;
const [secret] = TEST_SECRETS;

/** A `registrant.created` envelope with a fresh id, pretty-printed with non-ASCII text so re-serialised JSON would not match. */
export function registrantCreated(overrides: Record<string, unknown> = {}): { id: string; body: string } {
  const id = createMessageId();
  const data = { ...broadcastEvents.definitions['registrant.created'].example, registrant: { id: 'reg_01', email: 'zoe@example.com', firstName: 'Zoë', lastName: 'Ångström' }, ...overrides };
  return { id, body: `${JSON.stringify({ id, type: 'registrant.created', timestamp: new Date().toISOString(), data }, null, 2)}\n` };
}

/** Signs `body` as message `id` and returns the request headers. */
export function signed(id: string, body: string, extra: { timestamp?: Date; attempt?: number; secret?: string } = {}): Promise<Record<string, string>> {
  return signHeaders({ id, timestamp: extra.timestamp ?? new Date(), payload: body, secrets: extra.secret ?? secret, attempt: extra.attempt, eventType: 'registrant.created' });
}

type Json = Record<string, unknown> & { ok?: boolean; duplicate?: boolean; error?: { code: string; path?: string } };

/** Streams `total` bytes chunked (no Content-Length) and resolves with the first response and how much was written by then. */
export function streamHuge(url: string, headers: Record<string, string>, total: number, resetAllowed = false): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    let done = false;
    const request = httpRequest(url, { method: 'POST', headers });
    request.on('response', (response) => {
      done = true;
      const sentAtResponse = sent;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => {
        body += text;
      });
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, body, sent: sentAtResponse });
        request.destroy();
      });
    });
    // Writes fail once the server gives up on the connection after its 413; the response is what matters.
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (done) return;
      // Where the platform may reset the upload before its 413 arrives, a reset is a refusal too (status 0).
      if (resetAllowed && (error.code === 'EPIPE' || error.code === 'ECONNRESET')) {
        done = true;
        resolve({ status: 0, body: '', sent });
        return;
      }
      reject(error);
    });
    const write = (): void => {
      while (!done && sent < total) {
        sent += chunk.length;
        if (!request.write(chunk)) {
          request.once('drain', write);
          return;
        }
      }
      if (!done) request.end();
    };
    write();
  });
}

/**
 * Sends the headers of a POST declaring `Content-Length: total` and one byte, then waits for the
 * response without sending the rest. Fails after 10 s: a server that waits for the body never answers.
 */
export function declareOnly(url: string, headers: Record<string, string>, total: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', headers: { ...headers, 'content-length': String(total) } });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error('no response to a declared Content-Length within 10 s: the server waited for the body'));
    }, 10_000);
    request.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => {
        body += text;
      });
      response.on('end', () => {
        clearTimeout(timer);
        request.destroy();
        resolve({ status: response.statusCode ?? 0, body });
      });
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.write('{');
  });
}

/** Settings of {@link remoteReceiverMatrix}. */
export interface RemoteMatrixOptions {
  /** False when the platform itself reads the whole body before the handler runs (Next's self-hosted edge runtime buffers up to 10 MB). @default true */
  streamsBody?: boolean;
  /** True where the platform may reset an oversized upload before the 413 reaches the client (Next's Pages Router server). @default false */
  resetAllowed?: boolean;
}

/** Registers the matrix against `url()`, whose `GET` answers a {@link RecorderSnapshot}. */
export function remoteReceiverMatrix(name: string, url: () => string, options: RemoteMatrixOptions = {}): void {
  describe(`${name}: receiver matrix`, () => {
    const post = async (body: string, headers: Record<string, string>) => {
      const response = await fetch(url(), { method: 'POST', body, headers });
      return { status: response.status, headers: response.headers, json: (await response.json()) as Json };
    };
    const snapshot = async (): Promise<RecorderSnapshot> => (await (await fetch(url())).json()) as RecorderSnapshot;
    const countOf = async (id: string): Promise<number> => (await snapshot()).calls[id] ?? 0;

    it('handles a valid delivery once, with the exact event', async () => {
      const { id, body } = registrantCreated();
      const response = await post(body, await signed(id, body));
      expect(response.status).toBe(200);
      expect(response.json).toEqual({ ok: true, id });
      const seen = await snapshot();
      expect(seen.calls[id]).toBe(1);
      expect(seen.events[id]).toMatchObject({ id, type: 'registrant.created', data: { registrant: { firstName: 'Zoë' } } });
    });

    it('rejects a tampered body with 401 invalid_signature', async () => {
      const { id, body } = registrantCreated();
      const response = await post(body.replace('Zoë', 'Eve'), await signed(id, body));
      expect(response.status).toBe(401);
      expect(response.json.error?.code).toBe('invalid_signature');
      expect(await countOf(id)).toBe(0);
    });

    it('rejects a stale timestamp with 401 timestamp_too_old', async () => {
      const { id, body } = registrantCreated();
      const response = await post(body, await signed(id, body, { timestamp: new Date(Date.now() - 10 * 60 * 1000) }));
      expect(response.status).toBe(401);
      expect(response.json.error?.code).toBe('timestamp_too_old');
      expect(await countOf(id)).toBe(0);
    });

    it('rejects a request without webhook headers with 401 missing_header', async () => {
      const { body } = registrantCreated();
      const response = await post(body, { 'content-type': 'application/json' });
      expect(response.status).toBe(401);
      expect(response.json.error?.code).toBe('missing_header');
    });

    it('accepts the second secret of a rotation', async () => {
      const { id, body } = registrantCreated();
      const response = await post(body, await signed(id, body, { secret: TEST_SECRETS[1] }));
      expect(response.status).toBe(200);
      expect(await countOf(id)).toBe(1);
    });

    it('answers a replayed id with 200 duplicate and runs the handler once', async () => {
      const { id, body } = registrantCreated();
      expect((await post(body, await signed(id, body))).status).toBe(200);
      const second = await post(body, await signed(id, body, { attempt: 2 }));
      expect(second.status).toBe(200);
      expect(second.json).toEqual({ ok: true, id, duplicate: true });
      expect(await countOf(id)).toBe(1);
    });

    it('runs the handler once when identical deliveries race (409 while in flight)', async () => {
      const { id, body } = registrantCreated({ utmSource: 'slow' });
      const headers = await signed(id, body);
      const responses = await Promise.all(Array.from({ length: 5 }, () => post(body, headers)));
      const statuses = responses.map((response) => response.status);
      expect(statuses.every((status) => status === 200 || status === 409)).toBe(true);
      expect(responses.filter((response) => response.status === 200 && response.json.duplicate !== true)).toHaveLength(1);
      expect(statuses).toContain(409);
      expect(await countOf(id)).toBe(1);
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream'])('verifies the raw bytes of a body sent as %s', async (contentType) => {
      const { id, body } = registrantCreated();
      const response = await post(body, { ...(await signed(id, body)), 'content-type': contentType });
      expect(response.status).toBe(200);
      expect(await countOf(id)).toBe(1);
    });

    it('answers a signed body that is not JSON with 400 invalid_json', async () => {
      const id = createMessageId();
      const body = '{"id": "not json';
      const response = await post(body, await signed(id, body));
      expect(response.status).toBe(400);
      expect(response.json.error?.code).toBe('invalid_json');
    });

    it('answers a schema mismatch with 400 and the failing path', async () => {
      const { id, body } = registrantCreated({ registrant: { id: 'reg_1', email: 'not-an-email', firstName: 'A', lastName: 'B' } });
      const response = await post(body, await signed(id, body));
      expect(response.status).toBe(400);
      expect(response.json.error?.code).toBe('invalid_payload');
      expect(response.json.error?.path).toBe('data.registrant.email');
      expect(await countOf(id)).toBe(0);
    });

    it('answers 500 when the handler throws, then processes the retry', async () => {
      const { id, body } = registrantCreated({ utmSource: 'fail-once' });
      const first = await post(body, await signed(id, body));
      expect(first.status).toBe(500);
      expect(first.json.error?.code).toBe('handler_error');
      const retry = await post(body, await signed(id, body, { attempt: 2 }));
      expect(retry.status).toBe(200);
      expect(retry.json).toEqual({ ok: true, id });
      expect(await countOf(id)).toBe(2);
    });

    it(`answers a streamed 50 MB body with 413${options.streamsBody === false ? '' : ' long before it is all sent'}`, async () => {
      const { id } = registrantCreated();
      const response = await streamHuge(url(), await signed(id, '{}'), FIFTY_MB, options.resetAllowed === true);
      if (response.status !== 0 || options.resetAllowed !== true) {
        expect(response.status).toBe(413);
        expect(JSON.parse(response.body).error.code).toBe('payload_too_large');
      }
      if (options.streamsBody !== false) expect(response.sent).toBeLessThan(FIFTY_MB / 2);
      expect(await countOf(id)).toBe(0);
    });

    it('refuses a gzip body with 415 unsupported_encoding (the signature covers the bytes on the wire)', async () => {
      const { id, body } = registrantCreated();
      const response = await fetch(url(), { method: 'POST', body: gzipSync(body), headers: { ...(await signed(id, body)), 'content-encoding': 'gzip' } });
      expect(response.status).toBe(415);
      expect(((await response.json()) as Json).error?.code).toBe('unsupported_encoding');
      expect(await countOf(id)).toBe(0);
    });

    if (options.streamsBody !== false) {
      it('answers a declared Content-Length over the limit with 413 at once, before the body is sent', async () => {
        const { id } = registrantCreated();
        const response = await declareOnly(url(), await signed(id, '{}'), FIFTY_MB);
        expect(response.status).toBe(413);
        expect(JSON.parse(response.body).error.code).toBe('payload_too_large');
        expect(await countOf(id)).toBe(0);
      });
    }

    it('answers a declared Content-Length over the limit with 413', async () => {
      const { id, body } = registrantCreated();
      const padded = body.padEnd(2 * 1024 * 1024, ' ');
      try {
        const response = await post(padded, await signed(id, padded));
        expect(response.status).toBe(413);
        expect(response.json.error?.code).toBe('payload_too_large');
      } catch (error) {
        // Where the platform closes the connection after the 413 while the client still writes (Next 15's Pages Router server), the write fails: still a refusal.
        const code = (error as { cause?: { code?: string } }).cause?.code;
        if (options.resetAllowed !== true || (code !== 'EPIPE' && code !== 'ECONNRESET')) throw error;
      }
      expect(await countOf(id)).toBe(0);
    });
  });
}
