import { execFileSync } from 'node:child_process';
import type dns from 'node:dns';
import type { LookupAddress } from 'node:dns';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Transport, TransportOptions } from '../src/transport';
import { createTransport, DeliveryNetworkError } from '../src/transport';

interface Loopback {
  server: Server;
  port: number;
  connections: number;
  requests: Array<{ method: string; url: string; host: string; body: string }>;
  close(): Promise<void>;
}

const servers: Loopback[] = [];
const transports: Transport[] = [];

async function startServer(handler: (request: IncomingMessage, response: ServerResponse) => void, host = '127.0.0.1'): Promise<Loopback> {
  const server = createServer();
  const loopback: Loopback = {
    server,
    port: 0,
    connections: 0,
    requests: [],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => {
    loopback.connections += 1;
  });
  server.on('request', (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      loopback.requests.push({ method: request.method ?? '', url: request.url ?? '', host: request.headers.host ?? '', body: Buffer.concat(chunks).toString() });
      handler(request, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  loopback.port = (server.address() as AddressInfo).port;
  servers.push(loopback);
  return loopback;
}

function transport(options: TransportOptions = {}): Transport {
  const created = createTransport({ urlPolicy: { allowHttp: true, allow: ['loopback'] }, ...options });
  transports.push(created);
  return created;
}

function fixedLookup(addresses: LookupAddress[]): typeof dns.lookup {
  const lookup = (_hostname: string, options: unknown, callback: unknown) => {
    const done = (typeof options === 'function' ? options : callback) as (error: Error | null, value: LookupAddress[]) => void;
    setImmediate(() => done(null, addresses));
  };
  return lookup as unknown as typeof dns.lookup;
}

const post = (url: string, timeoutMs = 5000) => ({ url, headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1' }, body: '{"a":1}', timeoutMs });

async function rejection(promise: Promise<unknown>): Promise<DeliveryNetworkError> {
  try {
    await promise;
  } catch (error) {
    if (DeliveryNetworkError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a DeliveryNetworkError');
}

afterEach(async () => {
  await Promise.all(transports.splice(0).map((item) => item.close()));
  await Promise.all(servers.splice(0).map((item) => item.close()));
});

describe('createTransport: responses', () => {
  it.each([200, 204, 400, 410, 429, 500, 503])('resolves status %i with headers and body', async (status) => {
    const server = await startServer((_request, response) => {
      response.writeHead(status, { 'X-Custom': 'Value', 'Retry-After': '7' });
      response.end(status === 204 ? undefined : `answer ${status}`);
    });
    const result = await transport().send(post(`http://127.0.0.1:${server.port}/hook`));
    expect(result.status).toBe(status);
    expect(result.headers['x-custom']).toBe('Value');
    expect(result.headers['retry-after']).toBe('7');
    expect(result.body).toBe(status === 204 ? '' : `answer ${status}`);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(server.requests).toEqual([{ method: 'POST', url: '/hook', host: `127.0.0.1:${server.port}`, body: '{"a":1}' }]);
  });

  it('sends the given headers', async () => {
    let seen: IncomingMessage['headers'] = {};
    const server = await startServer((request, response) => {
      seen = request.headers;
      response.end();
    });
    await transport().send(post(`http://127.0.0.1:${server.port}/`));
    expect(seen['webhook-id']).toBe('msg_1');
    expect(seen['content-type']).toBe('application/json');
  });

  it.each([301, 302, 303, 307, 308])('never follows a %i redirect', async (status) => {
    const server = await startServer((request, response) => {
      if (request.url === '/target') response.end('followed');
      else response.writeHead(status, { location: '/target' }).end('moved');
    });
    const result = await transport().send(post(`http://127.0.0.1:${server.port}/start`));
    expect(result.status).toBe(status);
    expect(result.headers.location).toBe('/target');
    expect(server.requests.map((request) => request.url)).toEqual(['/start']);
  });

  it('keeps at most maxResponseBytes of a huge response and stops reading it', async () => {
    const megabyte = Buffer.alloc(1024 * 1024, 'x');
    let written = 0;
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      // 64 MiB, far more than the excerpt plus the drain allowance; stop once the client is gone.
      const write = () => {
        while (written < 64 && !response.destroyed) {
          written += 1;
          if (!response.write(megabyte)) return void response.once('drain', write);
        }
        response.end();
      };
      write();
    });
    const result = await transport({ maxResponseBytes: 100 }).send(post(`http://127.0.0.1:${server.port}/`));
    expect(result.status).toBe(200);
    expect(result.body).toBe('x'.repeat(100));
    expect(written).toBeLessThan(64);
  });

  it('drops a multi-byte character cut by the cap', async () => {
    const server = await startServer((_request, response) => response.end('ab€€'));
    const result = await transport({ maxResponseBytes: 4 }).send(post(`http://127.0.0.1:${server.port}/`));
    expect(result.body).toBe('ab');
  });

  it('reuses one keep-alive connection for sequential requests', async () => {
    const server = await startServer((_request, response) => response.end('ok'));
    const client = transport();
    for (let index = 0; index < 5; index += 1) {
      const result = await client.send(post(`http://127.0.0.1:${server.port}/`));
      expect(result.status).toBe(200);
    }
    expect(server.requests).toHaveLength(5);
    expect(server.connections).toBe(1);
  });

  it('opens at most connectionsPerOrigin sockets under concurrency', async () => {
    const server = await startServer((_request, response) => setTimeout(() => response.end('ok'), 20));
    const client = transport({ connectionsPerOrigin: 3 });
    const results = await Promise.all(Array.from({ length: 12 }, () => client.send(post(`http://127.0.0.1:${server.port}/`))));
    expect(results.every((result) => result.status === 200)).toBe(true);
    expect(server.connections).toBeLessThanOrEqual(3);
    expect(server.connections).toBeGreaterThan(0);
  });
});

describe('createTransport: network errors', () => {
  it('times out when the receiver never answers', async () => {
    const server = await startServer(() => {
      /* never answers */
    });
    const error = await rejection(transport().send(post(`http://127.0.0.1:${server.port}/`, 150)));
    expect(error.code).toBe('timeout');
    expect(error.durationMs).toBeGreaterThan(0);
    expect(error.message).not.toContain('msg_1');
  });

  it('times out when the body trickles past the limit', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200);
      response.write('partial');
      /* never ends */
    });
    const error = await rejection(transport().send(post(`http://127.0.0.1:${server.port}/`, 200)));
    expect(error.code).toBe('timeout');
  });

  it('close() and destroy() may be called again, in any order', async () => {
    const server = await startServer((_request, response) => response.end('ok'));
    const closing = transport();
    expect((await closing.send(post(`http://127.0.0.1:${server.port}/`))).status).toBe(200);
    await Promise.all([closing.close(), closing.close()]);
    await expect(closing.close()).resolves.toBeUndefined();
    await expect(closing.destroy?.()).resolves.toBeUndefined();
    const destroying = transport();
    await destroying.destroy?.();
    await expect(destroying.close()).resolves.toBeUndefined();
    await expect(destroying.destroy?.()).resolves.toBeUndefined();
  });

  it('reports a reset connection', async () => {
    const server = await startServer((request) => request.socket.destroy());
    const error = await rejection(transport().send(post(`http://127.0.0.1:${server.port}/`)));
    expect(error.code).toBe('connection_reset');
  });

  it('reports a refused connection on a closed port', async () => {
    const server = await startServer(() => {});
    const port = server.port;
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const error = await rejection(transport().send(post(`http://127.0.0.1:${port}/`)));
    expect(error.code).toBe('connection_refused');
  });

  it('reports a DNS failure from the lookup', async () => {
    const failing = ((_hostname: string, _options: unknown, callback: (error: Error) => void) => {
      setImmediate(() => callback(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })));
    }) as unknown as typeof dns.lookup;
    const error = await rejection(transport({ lookup: failing }).send(post('http://does-not-exist.test/')));
    expect(error.code).toBe('dns');
  });

  it('rejects an unusable URL without a request', async () => {
    const error = await rejection(createTransport().send(post('http://127.0.0.1:1/')));
    expect(error.code).toBe('network');
    expect(DeliveryNetworkError.isInstance(error)).toBe(true);
  });
});

describe('createTransport: TLS', () => {
  let directory = '';
  let key = '';
  let cert = '';
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'hooks-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(directory, 'key.pem'), '-out', join(directory, 'cert.pem')], {
      stdio: 'ignore',
    });
    key = readFileSync(join(directory, 'key.pem'), 'utf8');
    cert = readFileSync(join(directory, 'cert.pem'), 'utf8');
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('reports an untrusted certificate as tls', async () => {
    const server = createHttpsServer({ key, cert }, (_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const error = await rejection(transport().send(post(`https://127.0.0.1:${port}/`)));
      expect(error.code).toBe('tls');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('createTransport: connect-time address check', () => {
  const strict = { urlPolicy: { allowHttp: true } };

  it.each(['http://127.0.0.2:PORT/', 'http://[::1]:PORT/', 'http://[::ffff:127.0.0.1]:PORT/', 'http://2130706433:PORT/', 'http://0x7f.1:PORT/'])(
    'refuses %s and never connects',
    async (template) => {
      const server = await startServer((_request, response) => response.end('ok'), '::');
      const error = await rejection(createTransportTracked(strict).send(post(template.replace('PORT', String(server.port)))));
      expect(error.code).toBe('blocked_address');
      expect(server.connections).toBe(0);
    },
  );

  it('refuses a host name that resolves to 127.0.0.1 and never connects', async () => {
    const server = await startServer((_request, response) => response.end('ok'));
    const client = createTransportTracked({ ...strict, lookup: fixedLookup([{ address: '127.0.0.1', family: 4 }]) });
    const error = await rejection(client.send(post(`http://rebind.example:${server.port}/`)));
    expect(error.code).toBe('blocked_address');
    expect(server.connections).toBe(0);
  });

  it.each([
    [[{ address: '10.1.2.3', family: 4 }]],
    [[{ address: '169.254.169.254', family: 4 }]],
    [[{ address: '203.0.113.9', family: 4 }, { address: '127.0.0.1', family: 4 }]],
    [[{ address: 'fd00:ec2::254', family: 6 }]],
    [[{ address: '::ffff:192.168.1.1', family: 6 }]],
  ] as Array<[LookupAddress[]]>)('refuses a name when any resolved address is blocked (%j)', async (addresses) => {
    const error = await rejection(createTransportTracked({ ...strict, lookup: fixedLookup(addresses) }).send(post('http://rebind.example/')));
    expect(error.code).toBe('blocked_address');
  });

  it('refuses a blocked name over https too', async () => {
    const client = createTransportTracked({ urlPolicy: {}, lookup: fixedLookup([{ address: '127.0.0.1', family: 4 }]) });
    const error = await rejection(client.send(post('https://rebind.example/')));
    expect(error.code).toBe('blocked_address');
  });

  describe('granular allow list', () => {
    const spellings: LookupAddress[] = [
      { address: '127.0.0.2', family: 4 },
      { address: '::1', family: 6 },
      { address: '::ffff:127.0.0.1', family: 6 },
      { address: '127.0.0.1', family: 4 },
    ];

    it.each(spellings)('refuses a name resolving to $address when only link-local and private ranges are allowed, and never connects', async (answer) => {
      const server = await startServer((_request, response) => response.end('ok'), '::');
      const client = createTransportTracked({ urlPolicy: { allowHttp: true, allow: ['link-local', 'private', '10.0.0.0/8'] }, lookup: fixedLookup([answer]) });
      const error = await rejection(client.send(post(`http://hooks.customer.example:${server.port}/`)));
      expect(error.code).toBe('blocked_address');
      expect(server.connections).toBe(0);
    });

    it.each(spellings)('connects a name resolving to $address with allow: [loopback]', async (answer) => {
      const server = await startServer((_request, response) => response.end('ok'), '::');
      const client = createTransportTracked({ urlPolicy: { allowHttp: true, allow: ['loopback'] }, lookup: fixedLookup([answer]) });
      const result = await client.send(post(`http://hooks.customer.example:${server.port}/`));
      expect(result.status).toBe(200);
      expect(server.connections).toBe(1);
    });

    it.each(['http://127.0.0.2:PORT/', 'http://[::1]:PORT/', 'http://[::ffff:127.0.0.1]:PORT/', 'http://localhost:PORT/'])('connects %s with allow: [loopback]', async (template) => {
      const server = await startServer((_request, response) => response.end('ok'), '::');
      const result = await createTransportTracked({ urlPolicy: { allowHttp: true, allow: ['loopback'] } }).send(post(template.replace('PORT', String(server.port))));
      expect(result.status).toBe(200);
    });
  });

  it('connects to the checked address when the policy allows it', async () => {
    const server = await startServer((_request, response) => response.end('ok'));
    const client = createTransportTracked({ urlPolicy: { allowHttp: true, allow: ['loopback'] }, lookup: fixedLookup([{ address: '127.0.0.1', family: 4 }]) });
    const result = await client.send(post(`http://rebind.example:${server.port}/x`));
    expect(result.status).toBe(200);
    expect(server.requests[0]?.host).toBe(`rebind.example:${server.port}`);
  });
});

function createTransportTracked(options: TransportOptions): Transport {
  const created = createTransport(options);
  transports.push(created);
  return created;
}
