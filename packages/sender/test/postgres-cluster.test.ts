import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { afterAll, describe, expect, it } from 'vitest';
import { createSender } from '../src/sender';
import { createPostgresStorage } from '../src/storage/postgres';
import { type ClusterReceivers, type ClusterWorker, createTestPool, DATABASE_URL, dropSchemas, randomSchema, startClusterReceivers, startClusterWorker, waitFor } from './cluster-support';

// 2,000 messages × 10 endpoints = 20,000 deliveries; HOOKS_CLUSTER_MESSAGES makes a quick local run smaller.
const ENDPOINTS = 10;
const MESSAGES = Number(process.env.HOOKS_CLUSTER_MESSAGES ?? 2_000);
const WORKERS = 4;
const PER_ENDPOINT = 6;
const CONCURRENCY = 16;
// Short, so the killed worker's deliveries come back quickly; long enough that a loaded machine
// does not time out live attempts (a timed-out attempt is retried, and logged, by design).
const LEASE_MS = 8_000;

const pool = createTestPool(10);
const schema = randomSchema('hooks_cluster');
afterAll(async () => {
  await dropSchemas(pool, [schema]);
  await pool.end();
});

describe('postgres cluster', () => {
  it(`delivers ${ENDPOINTS * MESSAGES} deliveries with ${WORKERS} processes, one SIGKILLed mid-run, losing none`, { timeout: 600_000 }, async () => {
    const storage = createPostgresStorage({ pool, schema });
    await storage.migrate();
    const sender = createSender({ catalog: broadcastEvents, storage, urlPolicy: { allowHttp: true, allow: ['loopback'] } });
    let receivers: ClusterReceivers | undefined;
    const workers: ClusterWorker[] = [];
    try {
      receivers = await startClusterReceivers(ENDPOINTS);
      for (const url of receivers.urls) await sender.endpoints.create({ tenant: 'cluster', url });
      const example = broadcastEvents.definitions['registrant.created']?.example;
      for (let start = 0; start < MESSAGES; start += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, offset) => sender.send({ tenant: 'cluster', type: 'registrant.created', data: example as never, idempotencyKey: `m-${start + offset}` })));
      }
      const total = ENDPOINTS * MESSAGES;
      const counts = async () => {
        const { rows } = await pool.query(`SELECT status, count(*)::int AS n FROM "${schema}".deliveries GROUP BY status`);
        return Object.fromEntries(rows.map((row) => [row.status as string, row.n as number])) as Record<string, number>;
      };
      expect(await counts()).toEqual({ pending: total });

      const env = {
        CLUSTER_DATABASE_URL: DATABASE_URL,
        CLUSTER_SCHEMA: schema,
        CLUSTER_LEASE_MS: String(LEASE_MS),
        CLUSTER_CONCURRENCY: String(CONCURRENCY),
        CLUSTER_PER_ENDPOINT: String(PER_ENDPOINT),
        CLUSTER_BATCH: String(CONCURRENCY),
      };
      const describeRun = async () =>
        `received ${(receivers as ClusterReceivers).total()}, database ${JSON.stringify(await counts())}, workers: ${workers.map((worker) => `${worker.name}: ${worker.output.slice(-5).join(' | ').slice(0, 600)}`).join(' ;; ')}`;
      for (let index = 0; index < WORKERS; index++) workers.push(startClusterWorker(`w${index}`, env));
      await Promise.all(workers.map((worker) => worker.ready));

      // Kill one worker with attempts surely in flight: a quarter of the way through.
      const victim = workers[1] as ClusterWorker;
      const seenBy = (name: string) => [...(receivers as ClusterReceivers).received.values()].filter((list) => list.includes(name)).length;
      await waitFor(() => (receivers as ClusterReceivers).total() >= total / 4 && seenBy(victim.name) > 0, 'a quarter of the deliveries', 150_000, describeRun);
      victim.child.kill('SIGKILL');
      await victim.exited;

      await waitFor(async () => ((await counts()).succeeded ?? 0) === total, 'every delivery to succeed', 540_000, describeRun);
      for (const worker of workers) await worker.stop();

      // No loss: every (endpoint, message) pair arrived, and the database agrees.
      expect(await counts()).toEqual({ succeeded: total });
      expect(receivers.received.size).toBe(total);
      // Every request is either a logged attempt or one the killed worker sent and never logged:
      // per delivery, receipts = attempts + (0 or 1, and then the killed worker sent it); at most
      // as many unlogged ones as it had in flight. Logged repeats (a timeout under load) are
      // ordinary retries.
      const { rows: attemptRows } = await pool.query(
        `SELECT m.id AS message_id, e.url, count(a.id)::int AS attempts FROM "${schema}".deliveries d JOIN "${schema}".messages m ON m.id = d.message_id
         JOIN "${schema}".endpoints e ON e.id = d.endpoint_id LEFT JOIN "${schema}".attempts a ON a.delivery_id = d.id GROUP BY m.id, e.url`,
      );
      let unlogged = 0;
      let retried = 0;
      for (const row of attemptRows) {
        const index = receivers.urls.indexOf(row.url as string);
        const senders = receivers.received.get(`${index}/${row.message_id as string}`) ?? [];
        const extra = senders.length - (row.attempts as number);
        // At least the successful request arrived; a logged attempt may lack a receipt (a request
        // cut off before the receiver read it), never the other way round, except the kill's.
        expect(senders.length).toBeGreaterThanOrEqual(1);
        expect(extra).toBeLessThanOrEqual(1);
        if (extra === 1) {
          expect(senders).toContain(victim.name);
          unlogged++;
        }
        if ((row.attempts as number) > 1) retried++;
      }
      expect(unlogged).toBeLessThanOrEqual(CONCURRENCY);
      const duplicates = [...receivers.received.values()].filter((senders) => senders.length > 1).length;
      // The per-endpoint limit held across processes.
      for (const max of receivers.maxConcurrent) expect(max).toBeLessThanOrEqual(PER_ENDPOINT);
      console.log(
        `cluster: ${total} deliveries, ${WORKERS} workers, killed ${victim.name} after ${seenBy(victim.name)} of its requests; duplicate deliveries: ${duplicates} (${unlogged} in flight at the kill, ${retried} retried after a logged failed attempt); max concurrent per endpoint: ${Math.max(...receivers.maxConcurrent)}/${PER_ENDPOINT}`,
      );
    } finally {
      for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
      await sender.close();
      await storage.close();
      await receivers?.close();
    }
  });
});
