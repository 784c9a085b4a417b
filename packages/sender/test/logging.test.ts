// Where the sender's errors go: onError with their source, else the logger (a database outage as
// one line a minute per source, not one per poll), and never into the dispatcher: a logger or an
// onError that throws must not stop delivery. The PostgreSQL wake-up connection reports its
// failures too (a real server, a real terminated backend).
import type { Logger } from '@hooks/core';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createSender } from '../src/sender';
import { createMemoryStorage } from '../src/storage/memory';
import { createPostgresStorage } from '../src/storage/postgres';
import { SenderError } from '../src/errors';
import type { Storage } from '../src/storage/types';
import { createTestPool, dropSchemas, randomSchema } from './cluster-support';
import { LOOPBACK_POLICY, broadcastEvents, recordingLogger, registrantData, startReceiver } from './support';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Waits (bounded) until `check` holds, looking every 10 ms. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let index = 0; index < 1_000; index++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A memory storage whose claims fail while `broken.value` is true. */
function flakyStorage(broken: { value: boolean; calls: number }): Storage {
  const inner = createMemoryStorage();
  const fail = () => Promise.reject(new SenderError('storage_error', 'database is down'));
  return {
    ...inner,
    claimDeliveries(input) {
      broken.calls++;
      return broken.value ? fail() : inner.claimDeliveries(input);
    },
    finishAttemptsAndClaim(inputs, claim) {
      return broken.value ? fail() : inner.finishAttemptsAndClaim(inputs, claim);
    },
  };
}

describe('sender errors', () => {
  it('keeps delivering when the logger throws on a poll failure', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const broken = { value: true, calls: 0 };
    let thrown = 0;
    const logger: Logger = {
      info() {},
      warn() {},
      error() {
        thrown++;
        throw new Error('the log pipe is closed');
      },
    };
    const sender = createSender({ catalog: broadcastEvents, storage: flakyStorage(broken), urlPolicy: LOOPBACK_POLICY, logger, dispatcher: { pollIntervalMs: 20 } });
    cleanups.push(() => sender.close());
    await sender.endpoints.create({ tenant: 'acme', url: receiver.url });
    // Sent before start(): only the poll loop can deliver it (nothing wakes the dispatcher later).
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    sender.start();
    await until(() => thrown >= 1, 'a poll failure to be logged');
    broken.value = false;
    await until(() => receiver.requests.length === 1, 'the delivery by a later poll');
    expect(receiver.requests).toHaveLength(1);
  });

  it('keeps delivering when onError throws, and tells onError where each error came from', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const broken = { value: true, calls: 0 };
    const sources: string[] = [];
    const sender = createSender({
      catalog: broadcastEvents,
      storage: flakyStorage(broken),
      urlPolicy: LOOPBACK_POLICY,
      logger: recordingLogger(),
      dispatcher: { pollIntervalMs: 20 },
      onError: (_error, source) => {
        sources.push(source);
        throw new Error('onError bug');
      },
    });
    cleanups.push(() => sender.close());
    sender.on('attempt.finished', () => {
      throw new Error('listener bug');
    });
    await sender.endpoints.create({ tenant: 'acme', url: receiver.url });
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    sender.start();
    await until(() => sources.includes('poll'), 'a poll failure');
    broken.value = false;
    await until(() => sources.includes('listener'), 'the listener error');
    expect(receiver.requests).toHaveLength(1);
    expect(new Set(sources)).toEqual(new Set(['poll', 'listener']));
  });

  it('logs a storage outage once a minute per source, then how often it repeated', async () => {
    const broken = { value: true, calls: 0 };
    const logger = recordingLogger();
    const sender = createSender({ catalog: broadcastEvents, storage: flakyStorage(broken), urlPolicy: LOOPBACK_POLICY, logger, dispatcher: { pollIntervalMs: 10 } });
    cleanups.push(() => sender.close());
    sender.start();
    await until(() => broken.calls >= 6, 'six failed polls');
    const polls = () => logger.lines.filter((line) => line.level === 'error' && line.fields?.source === 'poll');
    expect(polls()).toEqual([{ level: 'error', message: 'SenderError: database is down', fields: { source: 'poll', code: 'storage_error' } }]);

    // A minute later, the next failure is logged with the count of the ones left out.
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 61_000);
    await until(() => polls().length === 2, 'the next line a minute later');
    expect(polls()[1]?.fields).toMatchObject({ source: 'poll', code: 'storage_error', repeated: expect.any(Number) });
    expect(polls()[1]?.fields?.repeated as number).toBeGreaterThanOrEqual(5);
  });
});

describe('the PostgreSQL wake-up connection', () => {
  const pool = createTestPool(4);
  const schema = randomSchema('hooks_logging');
  afterAll(async () => {
    await dropSchemas(pool, [schema]);
    await pool.end();
  });

  it('reports a dropped LISTEN connection as a wake-up error, then reconnects and wakes the dispatcher again', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const storage = createPostgresStorage({ pool, schema });
    const errors: Array<[unknown, string]> = [];
    // A poll interval far longer than the test: only a wake-up can deliver in time.
    const sender = createSender({ catalog: broadcastEvents, storage, urlPolicy: LOOPBACK_POLICY, logger: recordingLogger(), dispatcher: { pollIntervalMs: 600_000 }, onError: (error, source) => errors.push([error, source]) });
    cleanups.push(() => sender.close());
    await sender.endpoints.create({ tenant: 'acme', url: receiver.url });
    sender.start();

    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
    await admin.connect();
    cleanups.push(() => admin.end());
    const listening = async () => (await admin.query(`SELECT pid FROM pg_stat_activity WHERE query = $1`, [`LISTEN "hooks_sender_${schema}"`])).rows.map((row) => row.pid as number);
    let pids: number[] = [];
    for (let index = 0; index < 300 && pids.length !== 1; index++) {
      pids = await listening();
      if (pids.length !== 1) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(pids).toHaveLength(1);
    await admin.query('SELECT pg_terminate_backend($1)', [pids[0]]);
    await until(() => errors.some(([, source]) => source === 'wake-up'), 'the wake-up error');
    const [error] = errors.find(([, source]) => source === 'wake-up') ?? [];
    expect(error).toMatchObject({ code: 'storage_error', message: expect.stringContaining('Polling until it is back') });

    // It reconnects by itself (after a second): a send then wakes the dispatcher without a poll.
    let again: number[] = [];
    for (let index = 0; index < 300 && (again.length !== 1 || again[0] === pids[0]); index++) {
      again = await listening();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(again).toHaveLength(1);
    expect(again[0]).not.toBe(pids[0]);
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await until(() => receiver.requests.length === 1, 'the delivery woken by NOTIFY');
  });
});
