import { cryptoBackendName, signHeaders, verify } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { describe, expect, it } from 'vitest';
import { webhookHandler } from '../src/index';
import { TEST_SECRETS } from './support/recorder';

// Runs under vitest's edge-runtime environment with `edge-light` resolution and no Node built-ins
// (see vitest.config.ts); real HTTP through Next's edge runtime is in next.test.ts.
const [secret] = TEST_SECRETS;

async function signedRequest(body: string | ReadableStream<Uint8Array>, signedBody = typeof body === 'string' ? body : '{}'): Promise<Request> {
  const id = JSON.parse(signedBody).id ?? 'msg_edge_stream';
  const headers = await signHeaders({ id, timestamp: new Date(), payload: signedBody, secrets: secret });
  return new Request('https://example.com/api/webhooks', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
}

function envelope(id: string, data: unknown = broadcastEvents.definitions['registrant.created'].example): string {
  return JSON.stringify({ id, type: 'registrant.created', timestamp: new Date().toISOString(), data });
}

describe('@hooks/next on the edge runtime', () => {
  it('runs in the edge runtime with the Web Crypto backend', () => {
    expect(typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime).toBe('string');
    expect(cryptoBackendName).toBe('web');
  });

  it('core verifies a signature with Web Crypto', async () => {
    const body = envelope('msg_edge_verify');
    const headers = await signHeaders({ id: 'msg_edge_verify', timestamp: new Date(), payload: body, secrets: secret });
    await expect(verify(body, headers, { secrets: [...TEST_SECRETS] })).resolves.toMatchObject({ id: 'msg_edge_verify', profile: 'x-webhook' });
    await expect(verify(`${body} `, headers, { secrets: [...TEST_SECRETS] })).rejects.toMatchObject({ code: 'invalid_signature' });
  });

  it('handles a Request: typed handler once, duplicate on replay, 401 on tampering', async () => {
    const seen: string[] = [];
    const POST = webhookHandler({ catalog: broadcastEvents, secrets: [...TEST_SECRETS] }).on('registrant.created', (event, { request }) => {
      seen.push(`${event.data.registrant.email} ${request.method}`);
    });
    const body = envelope('msg_edge_1');
    const first = await POST(await signedRequest(body));
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ ok: true, id: 'msg_edge_1' });
    const replay = await POST(await signedRequest(body));
    expect(await replay.json()).toEqual({ ok: true, id: 'msg_edge_1', duplicate: true });
    const tampered = await signedRequest(body);
    const forged = await POST(new Request(tampered.url, { method: 'POST', headers: tampered.headers, body: body.replace('Ada', 'Eve') }));
    expect(forged.status).toBe(401);
    expect(seen).toEqual(['ada@example.com POST']);
  });

  it('answers a schema mismatch with 400 and the path', async () => {
    const POST = webhookHandler({ catalog: broadcastEvents, secrets: secret });
    const response = await POST(await signedRequest(envelope('msg_edge_2', { nope: true })));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { path: string } }).error.path).toMatch(/^data\./);
  });

  it('stops reading a streamed body at the limit with 413', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
      },
    });
    const POST = webhookHandler({ catalog: broadcastEvents, secrets: secret, maxBodyBytes: 256 * 1024 });
    const response = await POST(await signedRequest(endless));
    expect(response.status).toBe(413);
    expect(pulled).toBeLessThan(16);
  });
});
