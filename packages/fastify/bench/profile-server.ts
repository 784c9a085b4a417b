// Deterministic cost per request of the Fastify plugin, by component: one server process per
// mode, driven by profile-client.ts (or under valgrind --tool=callgrind). Runs the BUILT packages
// (dist), not the TypeScript source: `pnpm --filter @hooks/core --filter @hooks/fastify build`.
//   node --import tsx bench/profile-server.ts <mode>   # prints the port; `cpu` on stdin prints CPU µs so far
// Modes: json (Fastify's JSON parser only), parser (the plugin's raw-body parser, JSON.parse and
// the JSON route's reply), handle / handle-nostore (receiver.handle in a plain route, timed in place),
// lite[-nolog][-noctx][-nodecor][-noerr][-nohdrs] (a copy of the plugin's route with parts left out),
// nostore / store1k (the plugin, store: false / 1,000 ids), hooks (the plugin as the bench runs it).
import { createMemoryIdempotencyStore, createReceiver } from '@hooks/core';
import { webhooks } from '@hooks/fastify';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import Fastify from 'fastify';

const mode = process.argv[2] ?? 'hooks';
const secret = process.env.BENCH_SECRET ?? '';
const path = '/webhooks';
const app = Fastify();
const timings: number[] = [];
if (mode === 'json') {
  app.post(path, async (request) => ({ ok: true, id: (request.body as { id?: string }).id }));
} else if (mode === 'parser') {
  await app.register((instance, _options, done) => {
    instance.removeAllContentTypeParsers();
    instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1 << 20 }, (_request, body, parsed) => parsed(null, body));
    instance.post(path, async (request) => ({ ok: true, id: (JSON.parse((request.body as Buffer).toString()) as { id?: string }).id }));
    done();
  });
} else if (mode === 'handle' || mode === 'handle-nostore') {
  // The receiver inside a plain route over the same raw-body parser; the synchronous part of
  // receiver.handle (all of it with store: false) is timed in place: median in the `cpu` answer.
  const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, ...(mode === 'handle-nostore' ? { store: false as const } : {}) }).on('registrant.created', () => undefined);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, parsed) => parsed(null, body));
  app.post(path, async (request, reply) => {
    const started = performance.now();
    const pending = receiver.handle({ body: request.body as Buffer, headers: request.headers });
    const result = await pending;
    // Only microtasks run meanwhile (a synchronous handler, the in-memory store): no other request interleaves.
    timings.push(performance.now() - started);
    reply.code(result.status).header('content-type', 'application/json; charset=utf-8');
    return result.body;
  });
} else if (mode.startsWith('lite')) {
  // A copy of the plugin's route with parts left out: lite[-nolog][-noctx][-nodecor][-noerr][-nohdrs].
  const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret }).on('registrant.created', () => undefined);
  const has = (flag: string) => !mode.includes(`-no${flag}`);
  const logger = { info() {}, warn() {}, error() {} };
  await app.register((instance, _options, done) => {
    instance.removeAllContentTypeParsers();
    instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: receiver.maxBodyBytes }, (_request, body, parsed) => parsed(null, body));
    if (has('err')) instance.setErrorHandler((error, _request, reply) => reply.send(error));
    if (has('decor')) instance.decorateRequest('webhook', undefined);
    instance.post(path, async (request, reply) => {
      const result = await receiver.handle({
        body: request.body as Buffer,
        headers: request.headers,
        context: has('ctx') ? { request, reply } : undefined,
        logger: has('log') ? { info: (m: string) => request.log.info(m), warn: (m: string) => request.log.warn(m), error: (m: string) => request.log.error(m) } : logger,
      });
      if (has('decor') && result.event) (request as unknown as { webhook: unknown }).webhook = result.event;
      if (has('hdrs')) return reply.code(result.status).headers(result.headers).send(result.body);
      reply.code(result.status).header('content-type', 'application/json; charset=utf-8');
      return result.body;
    });
    done();
  });
} else {
  await app.register(webhooks({ catalog: broadcastEvents, secrets: secret, path, ...(mode === 'nostore' ? { store: false } : mode === 'store1k' ? { store: createMemoryIdempotencyStore({ maxEntries: 1000 }) } : {}) }).on('registrant.created', () => undefined));
}
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (line: string) => {
  if (line.trim() === 'cpu') {
    const { user, system } = process.cpuUsage();
    const sorted = timings.splice(0).sort((a, b) => a - b);
    if (sorted.length > 0) process.stderr.write(`${mode}: receiver.handle to resolution, median ${(sorted[sorted.length >> 1]! * 1000).toFixed(1)} µs over ${sorted.length}\n`);
    process.stdout.write(`cpu ${user + system}\n`);
  }
});
process.stdin.on('end', () => process.exit(0));
