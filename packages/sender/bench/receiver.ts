import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

// The loopback receiver: answers 200 at once and counts distinct deliveries (message id × path).
// Talks to run.ts over IPC: 'take' answers the counts since the last 'take' and resets them.

let requests = 0;
let distinct = new Set<string>();

const server = createServer((request, response) => {
  request.on('data', () => {});
  request.on('end', () => {
    requests += 1;
    const id = request.headers['webhook-id'] ?? request.headers['x-webhook-id'] ?? '';
    distinct.add(`${String(id)} ${request.url ?? ''}`);
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    response.end('ok');
  });
});
server.keepAliveTimeout = 30_000;

server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
});

process.on('message', (message: { type: string }) => {
  if (message.type === 'take') {
    process.send?.({ type: 'counts', requests, distinct: distinct.size });
    requests = 0;
    distinct = new Set();
  } else if (message.type === 'stop') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
