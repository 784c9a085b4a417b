import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verify } from '@hooks/core';

/** One delivery a receiver got, with whether its signature verified against the given secrets. */
export interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  body: string;
  verified: boolean;
  status: number;
}

/** A real customer endpoint on loopback: verifies signatures with the secrets it is told, answers 500 while failing. */
export interface LoopbackReceiver {
  url: string;
  received: ReceivedDelivery[];
  secrets: string[];
  failing: boolean;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1. */
export async function startLoopbackReceiver(): Promise<LoopbackReceiver> {
  const state: LoopbackReceiver = { url: '', received: [], secrets: [], failing: false, close: async () => {} };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = false;
      if (state.secrets.length > 0) {
        try {
          await verify(body, request.headers as Record<string, string>, { secrets: state.secrets });
          verified = true;
        } catch {
          verified = false;
        }
      }
      const status = state.failing ? 500 : 200;
      state.received.push({ headers: request.headers, body, verified, status });
      response.writeHead(status, { 'content-type': 'application/json', 'x-receiver': 'loopback' }).end(JSON.stringify(state.failing ? { error: 'database down' } : { ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return state;
}
