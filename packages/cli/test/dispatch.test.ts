import { join } from 'node:path';
import { createPostgresStorage, createSender, createSqliteStorage, type Storage } from '@hooks/sender';
import { silentLogger } from '@hooks/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import catalog from './fixtures/events.mjs';
import {
  DATABASE_URL,
  closedPort,
  createTestPool,
  exited,
  randomSchema,
  runCli,
  startCli,
  startHeldServer,
  startReceiver,
  temporaryDirectory,
  waitForOutput,
} from './support';

const folder = temporaryDirectory();
const pool = createTestPool();
const schemas: string[] = [];
afterAll(async () => {
  folder.remove();
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

const LOCAL = ['--allow-http', '--allow', 'loopback'];
const LOOPBACK_POLICY = { allowHttp: true, allow: ['loopback'] };
let files = 0;

/** Stores an endpoint pointing at `url` and `count` messages for it, as the web process of an app would, then closes. */
async function seed(storage: Storage, url: string, count: number, encryption?: { keys: Record<string, string>; current: string }) {
  const sender = createSender({ catalog, storage, urlPolicy: LOOPBACK_POLICY, logger: silentLogger, ...(encryption ? { encryption } : {}) });
  const { endpoint, secret } = await sender.endpoints.create({ tenant: 'acme', url });
  const messageIds: string[] = [];
  for (let index = 0; index < count; index++) {
    const { messageId } = await sender.send({ tenant: 'acme', type: 'session.ended', data: { sessionId: `ses_${index}`, attendees: index } });
    messageIds.push(messageId);
  }
  return { endpoint, secret, messageIds, sender };
}

function sqliteFile(): string {
  return join(folder.path, `dispatch-${++files}.db`);
}

function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

describe('hooks dispatch on SQLite', () => {
  test('delivers what the app stored, signed, and stops on SIGTERM with exit 0', async () => {
    let endpointSecret = '';
    const receiver = await startReceiver(catalog, () => endpointSecret);
    const file = sqliteFile();
    const storage = createSqliteStorage({ filename: file });
    const { secret, messageIds, sender } = await seed(storage, `${receiver.url}/webhooks`, 3);
    endpointSecret = secret;
    await sender.close();
    await storage.close();
    try {
      const child = startCli(['dispatch', '--database', file, ...LOCAL, '--json', '--poll-interval', '100ms']);
      await waitForOutput(child, (output) => (output.stdout.match(/"attempt\.finished"/g) ?? []).length >= 3);
      child.kill('SIGTERM');
      const run = await exited(child);
      expect(run.code).toBe(0);
      expect(receiver.statuses).toEqual([200, 200, 200]);
      expect(receiver.events.map((event) => event.id).sort()).toEqual([...messageIds].sort());
      const lines = jsonLines(run.stdout);
      expect(lines[0]).toMatchObject({ event: 'started', storage: 'sqlite' });
      expect(lines.at(-1)).toMatchObject({ event: 'stopped', signal: 'SIGTERM', succeeded: 3, failedAttempts: 0 });
      expect(run.stderr).toContain('SIGTERM: stopping');
      expect(run.stderr).toMatch(/stopped\n$/);
      const reopened = createSqliteStorage({ filename: file });
      const page = await reopened.listDeliveries({ limit: 10 });
      expect(page.items.map((delivery) => delivery.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      await reopened.close();
    } finally {
      await receiver.close();
    }
  });

  test('SIGTERM during an attempt waits for it: the answer is logged, nothing is sent twice', async () => {
    const held = await startHeldServer();
    const file = sqliteFile();
    const storage = createSqliteStorage({ filename: file });
    const { sender } = await seed(storage, held.url, 1);
    await sender.close();
    await storage.close();
    try {
      const child = startCli(['dispatch', '--database', file, ...LOCAL, '--verbose']);
      await held.nthRequest(1);
      child.kill('SIGTERM');
      await waitForOutput(child, (output) => output.stderr.includes('SIGTERM: stopping'));
      // The worker is still waiting for the attempt in flight.
      expect(child.exitCode).toBeNull();
      held.release(200);
      const run = await exited(child);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/delivered: dlv_\w+ #1 .* → HTTP 200/);
      const reopened = createSqliteStorage({ filename: file });
      const attempts = await reopened.listAttempts({ limit: 10 });
      expect(attempts.items).toMatchObject([{ statusCode: 200, success: true, number: 1 }]);
      expect((await reopened.listDeliveries({ limit: 10 })).items).toMatchObject([{ status: 'succeeded' }]);
      await reopened.close();
      expect(held.requests).toHaveLength(1);
    } finally {
      await held.close();
    }
  });

  test('a second signal exits at once with 130; the delivery stays leased, and the next worker sends it once the lease expires', async () => {
    const held = await startHeldServer();
    const file = sqliteFile();
    const storage = createSqliteStorage({ filename: file });
    const { sender } = await seed(storage, held.url, 1);
    await sender.close();
    await storage.close();
    try {
      const child = startCli(['dispatch', '--database', file, ...LOCAL, '--timeout', '1s', '--lease', '2s']);
      await held.nthRequest(1);
      child.kill('SIGINT');
      await waitForOutput(child, (output) => output.stderr.includes('SIGINT: stopping'));
      child.kill('SIGINT');
      const run = await exited(child);
      expect(run.code).toBe(130);
      expect(run.stderr).toContain('SIGINT again: exiting now');
      const reopened = createSqliteStorage({ filename: file });
      expect((await reopened.listDeliveries({ limit: 10 })).items).toMatchObject([{ status: 'in_flight', attempts: 0 }]);
      await reopened.close();
      // A restarted worker takes the delivery back when the dead one's lease expires.
      held.release(200);
      const next = startCli(['dispatch', '--database', file, ...LOCAL, '--poll-interval', '200ms', '--verbose']);
      await waitForOutput(next, (output) => output.stderr.includes('delivered: '));
      next.kill('SIGTERM');
      expect((await exited(next)).code).toBe(0);
      expect(held.requests).toHaveLength(2);
      expect(held.requests[1]!.headers['x-webhook-id']).toBe(held.requests[0]!.headers['x-webhook-id']);
    } finally {
      held.release(200);
      await held.close();
    }
  });

  test('an attempt slower than --stop-timeout does not hold the shutdown: exit 0, the delivery waits for its lease', async () => {
    const held = await startHeldServer();
    const file = sqliteFile();
    const storage = createSqliteStorage({ filename: file });
    const { sender } = await seed(storage, held.url, 1);
    await sender.close();
    await storage.close();
    try {
      const child = startCli(['dispatch', '--database', file, ...LOCAL, '--stop-timeout', '200ms']);
      await held.nthRequest(1);
      child.kill('SIGTERM');
      const run = await exited(child);
      expect(run.code).toBe(0);
      const reopened = createSqliteStorage({ filename: file });
      // Had the shutdown waited for the attempt's own timeout, the attempt would be logged as failed (pending, 1 attempt).
      expect((await reopened.listDeliveries({ limit: 10 })).items).toMatchObject([{ status: 'in_flight', attempts: 0 }]);
      expect((await reopened.listAttempts({ limit: 10 })).items).toEqual([]);
      await reopened.close();
    } finally {
      held.release(200);
      await held.close();
    }
  });

  test('SIGINT (Ctrl-C) on an idle worker: exit 0, with the running count when forced', async () => {
    const file = sqliteFile();
    const storage = createSqliteStorage({ filename: file });
    await storage.close();
    const child = startCli(['dispatch', '--database', file, '--progress']);
    await waitForOutput(child, (output) => output.stderr.includes('dispatching from sqlite'));
    child.kill('SIGINT');
    const run = await exited(child);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('delivered 0 · failed attempts 0 · given up 0');
  });

  test('decrypts endpoint secrets with HOOKS_ENCRYPTION_KEY (the keys of the encryption option), never printing them', async () => {
    const encryption = { keys: { k1: Buffer.alloc(32, 7).toString('base64') }, current: 'k1' };
    let endpointSecret = '';
    const receiver = await startReceiver(catalog, () => endpointSecret);
    const file = sqliteFile();
    const storage = createSqliteStorage({ filename: file });
    const { secret, sender } = await seed(storage, `${receiver.url}/webhooks`, 1, encryption);
    endpointSecret = secret;
    await sender.close();
    await storage.close();
    try {
      const child = startCli(['dispatch', '--database', file, ...LOCAL, '--verbose'], { env: { HOOKS_ENCRYPTION_KEY: `k1:${encryption.keys.k1}` } });
      await waitForOutput(child, (output) => output.stderr.includes('delivered: '));
      child.kill('SIGTERM');
      const run = await exited(child);
      expect(run.code).toBe(0);
      expect(receiver.statuses).toEqual([200]);
      expect(run.stderr).not.toContain(encryption.keys.k1);
      expect(run.stderr).not.toContain(secret);
    } finally {
      await receiver.close();
    }
  });

  /** A SQLite file with one endpoint (custom header: a credential of the receiver) that answers 410, disabling it, and a message for it. */
  async function seedGoneEndpoint(gone: { url: string }) {
    const file = sqliteFile();
    const storage = createSqliteStorage({ filename: file });
    const sender = createSender({ catalog, storage, urlPolicy: LOOPBACK_POLICY, logger: silentLogger });
    const { endpoint } = await sender.endpoints.create({ tenant: 'acme', url: gone.url, headers: { authorization: 'Bearer receiver-token-123' } });
    await sender.send({ tenant: 'acme', type: 'session.ended', data: { sessionId: 'ses_1', attendees: 1 } });
    await sender.close();
    await storage.close();
    return { file, endpoint };
  }

  /** The `endpoint.disabled` notifications that the app's own process (a sender with a listener, as in docs/deploying.md) is handed from `file` now. */
  async function notificationsForTheApp(file: string): Promise<Array<{ notificationId: string; endpointId: string; reason: string }>> {
    const storage = createSqliteStorage({ filename: file });
    const sender = createSender({ catalog, storage, urlPolicy: LOOPBACK_POLICY, logger: silentLogger });
    const received: Array<{ notificationId: string; endpointId: string; reason: string }> = [];
    sender.on('endpoint.disabled', ({ notificationId, endpoint, reason }) => {
      received.push({ notificationId, endpointId: endpoint.id, reason });
    });
    try {
      await sender.drain();
    } finally {
      await sender.close();
      await storage.close();
    }
    return received;
  }

  test('without --take-notifications, the owner notifications stay for the listener of the app, and the disablement is logged', async () => {
    const gone = await startHeldServer();
    gone.release(410);
    const { file, endpoint } = await seedGoneEndpoint(gone);
    try {
      const child = startCli(['dispatch', '--database', file, ...LOCAL, '--json']);
      await waitForOutput(child, (output) => output.stdout.includes('"attempt.finished"') && output.stderr.includes('Endpoint disabled'));
      // While the worker runs, the app's process (listening, dispatching) is handed the notification.
      const received = await notificationsForTheApp(file);
      child.kill('SIGTERM');
      const run = await exited(child);
      expect(run.code).toBe(0);
      expect(received).toEqual([{ notificationId: expect.stringMatching(/^ntf_/), endpointId: endpoint.id, reason: 'gone' }]);
      expect(jsonLines(run.stdout)[0]).toMatchObject({ event: 'started', takesNotifications: false });
      expect(jsonLines(run.stdout).map((line) => line.event)).not.toContain('endpoint.disabled');
      expect(run.stderr).toMatch(new RegExp(`warning: Endpoint disabled: .*endpointId=${endpoint.id} tenant=acme reason=gone`));
      expect(run.stderr).toContain('owner notifications are left to the listeners of your own processes');
      expect(run.stderr).not.toContain('receiver-token-123');
    } finally {
      await gone.close();
    }
  });

  test('--take-notifications takes them: one JSON line each, custom header values redacted, and the app is not handed them again', async () => {
    const gone = await startHeldServer();
    gone.release(410);
    const { file, endpoint } = await seedGoneEndpoint(gone);
    try {
      const child = startCli(['dispatch', '--database', file, ...LOCAL, '--json', '--take-notifications']);
      await waitForOutput(child, (output) => output.stdout.includes('"endpoint.disabled"'));
      child.kill('SIGTERM');
      const run = await exited(child);
      expect(run.code).toBe(0);
      const lines = jsonLines(run.stdout);
      expect(lines[0]).toMatchObject({ event: 'started', takesNotifications: true });
      const disabled = lines.find((line) => line.event === 'endpoint.disabled');
      expect(disabled).toMatchObject({ notificationId: expect.stringMatching(/^ntf_/), reason: 'gone', endpoint: { id: endpoint.id, enabled: false, headers: { authorization: '[redacted]' } } });
      expect(run.stdout).not.toContain('receiver-token-123');
      // The worker stopped only after the hand-over was recorded: nothing is left for the app.
      expect(await notificationsForTheApp(file)).toEqual([]);
    } finally {
      await gone.close();
    }
  });

  test('--allow takes CIDR blocks: a receiver outside them is refused (blocked_address), inside them it gets the delivery', async () => {
    let endpointSecret = '';
    const receiver = await startReceiver(catalog, () => endpointSecret);
    /** A fresh SQLite file with one message for the receiver. */
    const seeded = async () => {
      const file = sqliteFile();
      const storage = createSqliteStorage({ filename: file });
      const { secret, sender } = await seed(storage, `${receiver.url}/webhooks`, 1);
      endpointSecret = secret;
      await sender.close();
      await storage.close();
      return file;
    };
    /** Runs a worker until its first attempt finished; returns that attempt. */
    const firstAttempt = async (file: string, allow: string) => {
      const child = startCli(['dispatch', '--database', file, '--allow-http', '--allow', allow, '--json']);
      await waitForOutput(child, (output) => output.stdout.includes('"attempt.finished"'));
      child.kill('SIGTERM');
      const run = await exited(child);
      expect(run.code).toBe(0);
      return jsonLines(run.stdout).find((line) => line.event === 'attempt.finished')?.attempt;
    };
    try {
      expect(await firstAttempt(await seeded(), '10.0.0.0/8,private')).toMatchObject({ success: false, errorCode: 'blocked_address' });
      expect(receiver.requests).toEqual([]);
      expect(await firstAttempt(await seeded(), '192.168.0.0/16, 127.0.0.0/8')).toMatchObject({ success: true, statusCode: 200 });
      expect(receiver.statuses).toEqual([200]);
    } finally {
      await receiver.close();
    }
  });

  test('--allow-private-networks still works, as a deprecated alias the CLI translates (the sender gets no deprecated option)', async () => {
    let endpointSecret = '';
    const receiver = await startReceiver(catalog, () => endpointSecret);
    const file = sqliteFile();
    const storage = createSqliteStorage({ filename: file });
    const { secret, sender } = await seed(storage, `${receiver.url}/webhooks`, 1);
    endpointSecret = secret;
    await sender.close();
    await storage.close();
    try {
      const child = startCli(['dispatch', '--database', file, '--allow-http', '--allow-private-networks', '--verbose']);
      await waitForOutput(child, (output) => output.stderr.includes('delivered: '));
      child.kill('SIGTERM');
      const run = await exited(child);
      expect(run.code).toBe(0);
      expect(receiver.statuses).toEqual([200]);
      expect(run.stderr).toContain('warning: --allow-private-networks is deprecated: use --allow');
      expect(run.stderr).not.toContain('urlPolicy.allowPrivateNetworks is deprecated');
    } finally {
      await receiver.close();
    }
  });

  test('an --allow entry that is neither a range name nor a block: exit 2 before the database is opened', async () => {
    const run = await runCli(['dispatch', '--database', join(folder.path, 'never-opened.db'), '--allow', 'loopback,intranet', '--json']);
    expect(run.code).toBe(2);
    const { error } = JSON.parse(run.stdout);
    expect(error).toMatchObject({ code: 'invalid_option', exitCode: 2 });
    expect(error.message).toContain('--allow');
    expect(error.message).toContain('intranet');
    expect(error.hint).toContain('carrier-grade-nat');
    const empty = await runCli(['dispatch', '--database', join(folder.path, 'never-opened.db'), '--allow', ',']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('error[usage_error]');
  });

  test('a database file that does not exist: exit 5, nothing created', async () => {
    const run = await runCli(['dispatch', '--database', join(folder.path, 'typo.db'), '--json']);
    expect(run.code).toBe(5);
    expect(JSON.parse(run.stdout).error).toMatchObject({ code: 'storage_error', exitCode: 5 });
  });

  test('no database at all: exit 2, and HOOKS_DATABASE is read', async () => {
    const run = await runCli(['dispatch']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('HOOKS_DATABASE');
    const fromEnv = await runCli(['dispatch'], { env: { HOOKS_DATABASE: join(folder.path, 'missing.db') } });
    expect(fromEnv.code).toBe(5);
  });
});

describe('hooks dispatch on PostgreSQL', () => {
  const schema = randomSchema();
  beforeAll(() => {
    schemas.push(schema);
  });

  test('migrates with `hooks migrate`, delivers, and stops gracefully', async () => {
    const migrated = await runCli(['migrate', '--database', DATABASE_URL, '--schema', schema, '--json']);
    expect(migrated.code).toBe(0);
    let endpointSecret = '';
    const receiver = await startReceiver(catalog, () => endpointSecret);
    const storage = createPostgresStorage({ pool, schema, migrate: false });
    const { secret, messageIds, sender } = await seed(storage, `${receiver.url}/webhooks`, 2);
    endpointSecret = secret;
    await sender.close();
    try {
      const child = startCli(['dispatch', '--database', DATABASE_URL, '--schema', schema, '--no-migrate', ...LOCAL, '--json']);
      await waitForOutput(child, (output) => (output.stdout.match(/"attempt\.finished"/g) ?? []).length >= 2);
      child.kill('SIGTERM');
      const run = await exited(child);
      expect(run.code).toBe(0);
      expect(jsonLines(run.stdout)[0]).toMatchObject({ event: 'started', storage: 'postgres' });
      expect(receiver.events.map((event) => event.id).sort()).toEqual([...messageIds].sort());
      const { rows } = await pool.query(`SELECT status FROM "${schema}".deliveries`);
      expect(rows.map((row) => row.status)).toEqual(['succeeded', 'succeeded']);
    } finally {
      await receiver.close();
    }
  });

  test('an unreachable server: exit 5 with the password masked', async () => {
    const port = await closedPort();
    const run = await runCli(['dispatch', '--database', `postgres://app:s3cr3t-pass@127.0.0.1:${port}/app`]);
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('error[storage_error]');
    expect(run.stderr).toContain('postgres://app:****@127.0.0.1');
    expect(run.stderr).not.toContain('s3cr3t-pass');
  });
});
