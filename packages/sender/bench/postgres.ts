import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

// PostgreSQL for the benchmarks: a database of their own (`hooks_bench`, created when missing),
// so `pg_stat_database.xact_commit` counts only the contender's transactions, not the tests that
// other engineers run against `test` at the same time.

/** The server the tests use (trust auth on loopback). */
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The benchmark database name. */
export const BENCH_DATABASE = process.env.BENCH_PG_DATABASE ?? 'hooks_bench';

/** The connection string of the benchmark database. */
export function benchDatabaseUrl(): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${BENCH_DATABASE}`;
  return url.toString();
}

/** Creates the benchmark database once. */
export async function ensureBenchDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DATABASE]);
    if (rows.length === 0) await client.query(`CREATE DATABASE "${BENCH_DATABASE}"`);
  } catch (error) {
    // Another contender created it at the same moment.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}

/** A fresh schema name. */
export function benchSchema(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/**
 * Committed transactions in the benchmark database so far. The statistics of other backends
 * reach shared memory up to a second late (and at backend exit): callers end their pools and
 * wait before the second reading.
 */
export async function committedTransactions(): Promise<number> {
  const client = new pg.Client({ connectionString: benchDatabaseUrl() });
  await client.connect();
  try {
    await client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await client.query('SELECT xact_commit FROM pg_stat_database WHERE datname = $1', [BENCH_DATABASE]);
    // This reading's own transactions are counted too; two readings cost a few, noise next to 20,000 deliveries.
    return Number(rows[0]?.xact_commit ?? 0);
  } finally {
    await client.end();
  }
}

/** Waits for every backend's statistics to be flushed (they flush at most once a second, and at exit). */
export function statisticsSettled(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1_200));
}

/** Drops a schema of the benchmark database. */
export async function dropBenchSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: benchDatabaseUrl() });
  await client.connect();
  try {
    if (process.env.BENCH_PG_FUNCTIONS === '1') {
      // Per-function call counts and times (needs track_functions = 'pl' for the bench database).
      await client.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await client.query('SELECT funcname, calls, round(total_time::numeric, 1) AS total_ms, round(self_time::numeric, 1) AS self_ms, round((total_time / greatest(calls, 1))::numeric, 2) AS avg_ms FROM pg_stat_user_functions WHERE schemaname = $1 ORDER BY total_time DESC', [schema]);
      for (const row of rows) process.stderr.write(`function ${schema}.${row.funcname}: calls ${row.calls}, total ${row.total_ms} ms, self ${row.self_ms} ms, avg ${row.avg_ms} ms\n`);
    }
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * CPU seconds used so far by the PostgreSQL server on this machine (every postgres process, plus
 * the exited backends its postmaster reaped), from /proc; undefined where that cannot be read.
 * Other sessions' work on the same server counts too: compare medians of interleaved rounds.
 */
export function postgresCpuSeconds(): number | undefined {
  try {
    const ticks = 100;
    let total = 0;
    let found = false;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue;
      }
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== 'postgres') continue;
      found = true;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
      const parent = readParentName(Number(fields[1]));
      total += Number(fields[11]) + Number(fields[12]);
      if (parent !== 'postgres') total += Number(fields[13]) + Number(fields[14]);
    }
    return found ? total / ticks : undefined;
  } catch {
    return undefined;
  }
}

function readParentName(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  } catch {
    return '';
  }
}
