// Defects of issue 11 at the core level: secrets missing at start-up, Content-Encoding, methods,
// handler errors logged through the logger option, and what a log line may contain.
import { gzipSync, deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Logger, createReceiver, generateSecret } from '../src/index';
import { broadcastEvents, fixedNow, signedRequest } from './support';

const secret = generateSecret();

/** A logger that keeps every call, serialised the way a JSON log line would be. */
function recordingLogger(): Logger & { lines: Array<{ level: string; message: string; fields: string }> } {
  const lines: Array<{ level: string; message: string; fields: string }> = [];
  const keep = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    const serialised = JSON.stringify(fields ?? {}, (_key, value) => (value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value));
    lines.push({ level, message, fields: serialised });
  };
  return { lines, info: keep('info'), warn: keep('warn'), error: keep('error') };
}

const bodyOf = (result: { body: string }) => JSON.parse(result.body) as { error?: { code: string; message: string }; ok?: boolean };

describe('secrets that are not set', () => {
  it.each([
    ['undefined', undefined],
    ['an empty string', ''],
    ['an empty list', []],
    ['a list of unset variables', [undefined, undefined]],
  ])('with %s: creating the receiver does not throw; each request gets 500 missing_secret and one log line', async (_label, secrets) => {
    const logger = recordingLogger();
    const receiver = createReceiver({ catalog: broadcastEvents, secrets: secrets as never, logger, now: fixedNow });
    let called = 0;
    receiver.on('registrant.created', () => {
      called++;
    });
    for (let round = 0; round < 2; round++) {
      const result = await receiver.handle(await signedRequest({ secrets: secret }));
      expect(result.status).toBe(500);
      expect(bodyOf(result).error?.code).toBe('missing_secret');
    }
    expect(called).toBe(0);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatchObject({ level: 'error' });
    expect(logger.lines[0]!.message).toContain('missing_secret');
  });

  it('skips an unset entry of a rotation list, warns once, and verifies with the others', async () => {
    const logger = recordingLogger();
    const receiver = createReceiver({ catalog: broadcastEvents, secrets: [secret, undefined], logger, now: fixedNow }).on('registrant.created', () => undefined);
    expect((await receiver.handle(await signedRequest({ secrets: secret }))).status).toBe(200);
    expect((await receiver.handle(await signedRequest({ secrets: secret }))).status).toBe(200);
    expect(logger.lines.map((line) => line.level)).toEqual(['warn']);
    expect(logger.lines[0]!.fields).not.toContain(secret);
  });

  it('a resolver that returns nothing gets 500 missing_secret too', async () => {
    const logger = recordingLogger();
    const receiver = createReceiver({ catalog: broadcastEvents, secrets: () => undefined, logger, now: fixedNow });
    const result = await receiver.handle(await signedRequest({ secrets: secret }));
    expect(bodyOf(result).error?.code).toBe('missing_secret');
    expect(logger.lines).toHaveLength(1);
  });

  it('a malformed secret still throws at creation, without repeating it', () => {
    expect(() => createReceiver({ catalog: broadcastEvents, secrets: 'whsec_tooshort' })).toThrow(expect.objectContaining({ code: 'invalid_secret' }));
  });
});

describe('Content-Encoding', () => {
  const receiverWith = (inflate?: boolean, maxBodyBytes?: number) => {
    const calls: string[] = [];
    const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow, inflate, maxBodyBytes, logger: recordingLogger() });
    receiver.on('registrant.created', (event) => {
      calls.push(event.id);
    });
    return { receiver, calls };
  };

  it.each(['gzip', 'deflate', 'br', 'x-custom'])('answers %s with 415 unsupported_encoding by default', async (encoding) => {
    const { receiver, calls } = receiverWith();
    const request = await signedRequest({ secrets: secret });
    const compressed = encoding === 'gzip' ? gzipSync(request.body as string) : deflateSync(request.body as string);
    const result = await receiver.handle({ ...request, body: compressed, headers: { ...request.headers, 'content-encoding': encoding } });
    expect(result.status).toBe(415);
    expect(bodyOf(result).error?.code).toBe('unsupported_encoding');
    expect(calls).toEqual([]);
  });

  it('accepts identity and an empty header as no encoding', async () => {
    const { receiver } = receiverWith();
    for (const encoding of ['identity', '', ' Identity ']) {
      const request = await signedRequest({ secrets: secret });
      expect((await receiver.handle({ ...request, headers: { ...request.headers, 'content-encoding': encoding } })).status).toBe(200);
    }
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
  ] as const)('with inflate: true, inflates %s and verifies the signature over the inflated bytes', async (encoding, compress) => {
    const { receiver, calls } = receiverWith(true);
    const request = await signedRequest({ secrets: secret });
    const result = await receiver.handle({ ...request, body: compress(request.body as string), headers: { ...request.headers, 'content-encoding': encoding } });
    expect(result.status).toBe(200);
    expect(calls).toEqual([request.id]);
  });

  it('with inflate: true, applies maxBodyBytes to the inflated bytes (a small bomb gets 413)', async () => {
    const { receiver, calls } = receiverWith(true, 4096);
    const request = await signedRequest({ secrets: secret, body: `{"pad":"${' '.repeat(1_000_000)}"}` });
    const bomb = gzipSync(request.body as string);
    expect(bomb.length).toBeLessThan(4096);
    const result = await receiver.handle({ ...request, body: bomb, headers: { ...request.headers, 'content-encoding': 'gzip' } });
    expect(result.status).toBe(413);
    expect(calls).toEqual([]);
  });

  it('with inflate: true, refuses br with 415 and corrupt gzip with 400 invalid_encoding', async () => {
    const { receiver } = receiverWith(true);
    const request = await signedRequest({ secrets: secret });
    expect((await receiver.handle({ ...request, headers: { ...request.headers, 'content-encoding': 'br' } })).status).toBe(415);
    const corrupt = await receiver.handle({ ...request, body: new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]), headers: { ...request.headers, 'content-encoding': 'gzip' } });
    expect(corrupt.status).toBe(400);
    expect(bodyOf(corrupt).error?.code).toBe('invalid_encoding');
  });

  it('never answers 5xx for arbitrary bytes under any encoding header', async () => {
    const { receiver } = receiverWith(true);
    const request = await signedRequest({ secrets: secret });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), fc.constantFrom('gzip', 'deflate', 'x-gzip', 'br', 'identity'), async (bytes, encoding) => {
        const result = await receiver.handle({ ...request, body: bytes, headers: { ...request.headers, 'content-encoding': encoding } });
        expect(result.status).toBeGreaterThanOrEqual(400);
        expect(result.status).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
  });
});

describe('methods', () => {
  it.each(['GET', 'PUT', 'HEAD'])('answers %s with 405 and Allow: POST when the adapter passes the method', async (method) => {
    const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow });
    const result = await receiver.handle({ body: '', headers: {}, method });
    expect(result.status).toBe(405);
    expect(result.headers.allow).toBe('POST');
    expect(bodyOf(result).error?.code).toBe('method_not_allowed');
  });
});

describe('handler errors', () => {
  it('are logged by default through the logger with id, type and attempt, never the body or the secret', async () => {
    const logger = recordingLogger();
    const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow, logger }).on('registrant.created', () => {
      throw new Error('database down');
    });
    const request = await signedRequest({ secrets: secret });
    const result = await receiver.handle(request);
    expect(result.status).toBe(500);
    expect(logger.lines).toHaveLength(1);
    const [line] = logger.lines;
    expect(line!.level).toBe('error');
    expect(JSON.parse(line!.fields)).toMatchObject({ webhookId: request.id, type: 'registrant.created', attempt: 1, error: { message: 'database down' } });
    expect(line!.fields).not.toContain('ada@example.com');
    expect(line!.fields).not.toContain(secret);
    expect(line!.fields).not.toContain(request.headers['x-webhook-signature']);
  });

  it('go to onError instead when it is given', async () => {
    const logger = recordingLogger();
    const seen: string[] = [];
    const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow, logger, onError: (error, event, webhook) => seen.push(`${(error as Error).message} ${event.id} ${webhook.attempt}`) }).on(
      'registrant.created',
      () => {
        throw new Error('boom');
      },
    );
    const request = await signedRequest({ secrets: secret });
    await receiver.handle(request);
    expect(seen).toEqual([`boom ${request.id} 1`]);
    expect(logger.lines).toEqual([]);
  });

  it('use the per-request logger an adapter passes when the receiver has none', async () => {
    const framework = recordingLogger();
    const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow }).on('registrant.created', () => {
      throw new Error('boom');
    });
    await receiver.handle({ ...(await signedRequest({ secrets: secret })), logger: framework });
    expect(framework.lines.map((line) => line.level)).toEqual(['error']);
  });

  it('survive a logger that throws', async () => {
    const broken: Logger = {
      info() {},
      warn() {},
      error() {
        throw new Error('logger down');
      },
    };
    const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow, logger: broken }).on('registrant.created', () => {
      throw new Error('boom');
    });
    expect((await receiver.handle(await signedRequest({ secrets: secret }))).status).toBe(500);
  });
});

describe('infrastructure failures', () => {
  it('log a failing secrets lookup by class and code only: its message may hold a password', async () => {
    const logger = recordingLogger();
    const receiver = createReceiver({
      catalog: broadcastEvents,
      now: fixedNow,
      logger,
      secrets: () => {
        throw Object.assign(new Error('connect failed: postgres://app:hunter2@db/app'), { code: 'ECONNREFUSED' });
      },
    });
    const result = await receiver.handle(await signedRequest({ secrets: secret }));
    expect(result.status).toBe(503);
    expect(logger.lines).toHaveLength(1);
    expect(JSON.parse(logger.lines[0]!.fields)).toEqual({ code: 'secrets_unavailable', error: { name: 'Error', code: 'ECONNREFUSED' } });
    expect(logger.lines[0]!.fields).not.toContain('hunter2');
  });
});
