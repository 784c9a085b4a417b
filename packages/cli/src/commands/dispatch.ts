import type { Command } from 'commander';
import { type EventCatalog, defineEvents } from '@hooks/core';
import type { Endpoint, Sender } from '@hooks/sender';
import { type OpenedStorage, DATABASE_ENV, openStorage, storageCall } from '../database';
import { ENCRYPTION_ENV, type EncryptionKeys, resolveEncryption } from '../encryption';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { flushOutput, printJsonLine, writeError } from '../io';
import { loadCatalog } from '../load-catalog';
import { durationOption, integerOption } from '../options';
import { createProgress } from '../progress';

interface DispatchOptions {
  database?: string;
  schema?: string;
  catalog?: string;
  export?: string;
  concurrency?: number;
  perEndpointConcurrency?: number;
  timeout?: number;
  lease?: number;
  pollInterval?: number;
  stopTimeout?: number;
  allowHttp?: boolean;
  allowPrivateNetworks?: boolean;
  migrate: boolean;
  verbose?: boolean;
  json?: boolean;
  progress?: boolean;
  encryptionKeyFile?: string;
}

/** How long closing may take after the graceful stop, before the worker exits regardless. */
const CLOSE_GRACE_MS = 1000;

function time(): string {
  return new Date().toISOString();
}

/** An endpoint for the log: its custom header values may be credentials of the customer's receiver. */
function loggedEndpoint(endpoint: Endpoint): Endpoint {
  return { ...endpoint, headers: Object.fromEntries(Object.keys(endpoint.headers).map((name) => [name, '[redacted]'])) };
}

/** The database from `--database` or `$HOOKS_DATABASE`. */
export function databaseOf(options: { database?: string }): string {
  const database = options.database ?? process.env[DATABASE_ENV];
  if (!database) throw new CliError('usage_error', `Give the database with --database (SQLite path or postgres:// URL) or $${DATABASE_ENV}.`);
  return database;
}

/** `hooks dispatch`: the dispatcher as its own worker process, stopped gracefully by SIGTERM/SIGINT. */
export function registerDispatch(program: Command): void {
  program
    .command('dispatch')
    .summary('run the dispatcher as a worker process')
    .description(
      'Run the dispatcher of @hooks/sender in this process: claim due deliveries from the database, POST them, retry, disable failing endpoints, log every attempt, until SIGTERM or SIGINT. On the first signal it stops claiming, waits for the attempts in flight (at most --stop-timeout), closes the database and exits 0; a second signal exits at once with 130 (leases expire and another worker retries). For deployments that keep web processes (which call send()) and workers apart.',
    )
    .option('--database <database>', `SQLite path or postgres:// URL (default: $${DATABASE_ENV})`)
    .option('--schema <schema>', 'PostgreSQL schema of the sender tables (default: hooks)')
    .option('-c, --catalog <module>', 'the defineEvents() catalog module (optional: the dispatcher sends stored messages as they are)')
    .option('--export <name>', 'the named export holding the catalog')
    .option('--concurrency <number>', 'attempts in flight at once in this process (default: 50)', integerOption(1, 10_000))
    .option('--per-endpoint-concurrency <number>', 'attempts in flight per endpoint across every worker (default: 10)', integerOption(1, 10_000))
    .option('--timeout <duration>', 'time allowed for one attempt (default: 15s)', durationOption)
    .option('--lease <duration>', 'how long a claim is held; must exceed --timeout (default: 60s)', durationOption)
    .option('--poll-interval <duration>', 'how often the database is polled (default: 1s)', durationOption)
    .option('--stop-timeout <duration>', 'how long a graceful stop waits for attempts in flight (default: --timeout + 1s)', durationOption)
    .option('--allow-http', 'allow http:// endpoints (local development only)')
    .option('--allow-private-networks', 'allow loopback and private addresses (local development only)')
    .option('--encryption-key-file <file>', `keys that decrypt endpoint secrets, "id:base64key[,…]" as in the encryption option (default: $${ENCRYPTION_ENV})`)
    .option('--no-migrate', 'fail instead of migrating a PostgreSQL schema that is behind (run `hooks migrate` in the deploy step)')
    .option('--verbose', 'log every attempt, not only failures')
    .option('--json', 'print one JSON line per event (started, attempt.finished, endpoint.*, stopped) on standard output')
    .option('--progress', 'show a running count on standard error even when it is not a terminal')
    .option('--no-progress', 'never show the running count')
    .addHelpText(
      'after',
      `
Examples:
  $ hooks dispatch --database ./hooks.db
  $ HOOKS_DATABASE=postgres://app@db/app hooks dispatch --schema hooks --concurrency 100 --no-migrate
  $ hooks dispatch --database ./dev.db --allow-http --allow-private-networks --verbose`,
    )
    .action(async (options: DispatchOptions) => {
      const database = databaseOf(options);
      const encryption = await resolveEncryption(options.encryptionKeyFile);
      const catalog: EventCatalog = options.catalog === undefined ? defineEvents({}) : await loadCatalog({ path: options.catalog, exportName: options.export });
      const opened = await openStorage({ database, ...(options.schema ? { schema: options.schema } : {}) }, { create: false, migrate: options.migrate });
      await runDispatcher(opened, catalog, options, encryption);
    });
}

async function runDispatcher(opened: OpenedStorage, catalog: EventCatalog, options: DispatchOptions, encryption: EncryptionKeys | undefined): Promise<void> {
  const { createSender } = await import('@hooks/sender');
  const json = options.json === true;
  const log = (text: string) => writeError(`${time()} ${text}\n`);
  // Fail now, not on the first poll: the schema must be there (and migrated unless --no-migrate).
  await storageCall(opened.label, () => opened.storage.listEndpoints({ limit: 1 }));
  let sender: Sender;
  try {
    sender = createSender({
      catalog,
      storage: opened.storage,
      urlPolicy: { allowHttp: options.allowHttp === true, allowPrivateNetworks: options.allowPrivateNetworks === true },
      dispatcher: {
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
        ...(options.perEndpointConcurrency === undefined ? {} : { perEndpointConcurrency: options.perEndpointConcurrency }),
        ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout }),
        ...(options.lease === undefined ? {} : { leaseMs: options.lease }),
        ...(options.pollInterval === undefined ? {} : { pollIntervalMs: options.pollInterval }),
        ...(options.stopTimeout === undefined ? {} : { stopTimeoutMs: options.stopTimeout }),
      },
      ...(encryption ? { encryption } : {}),
      logger: {
        info: (message) => log(message),
        warn: (message) => log(`warning: ${message}`),
        error: (message) => log(`error: ${message}`),
      },
      onError: (error) => log(`error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`),
    });
  } catch (error) {
    await opened.storage.close();
    throw error;
  }

  const progress = createProgress(options.progress);
  const counts = { succeeded: 0, failedAttempts: 0, givenUp: 0 };
  const showCounts = () => progress.update(`delivered ${counts.succeeded} · failed attempts ${counts.failedAttempts} · given up ${counts.givenUp}`);
  sender.on('attempt.finished', ({ attempt, delivery }) => {
    if (attempt.success) counts.succeeded++;
    else counts.failedAttempts++;
    showCounts();
    if (json) printJsonLine({ event: 'attempt.finished', time: time(), attempt, delivery });
    else if (!attempt.success || options.verbose) {
      const outcome = attempt.statusCode === null ? attempt.errorCode : `HTTP ${attempt.statusCode}`;
      const next = delivery?.status === 'pending' && delivery.nextAttemptAt ? `, retry at ${delivery.nextAttemptAt.toISOString()}` : delivery?.status === 'failed' ? ', given up' : '';
      log(`${attempt.success ? 'delivered' : 'attempt failed'}: ${attempt.deliveryId} #${attempt.number} (${attempt.messageId} to ${attempt.endpointId}) → ${outcome} in ${attempt.durationMs} ms${next}`);
    }
  });
  sender.on('delivery.failed', ({ delivery }) => {
    counts.givenUp++;
    showCounts();
    if (json) printJsonLine({ event: 'delivery.failed', time: time(), delivery });
  });
  sender.on('endpoint.failing', ({ endpoint, consecutiveFailures }) => {
    if (json) printJsonLine({ event: 'endpoint.failing', time: time(), endpoint: loggedEndpoint(endpoint), consecutiveFailures });
    else log(`endpoint failing: ${endpoint.id} (${endpoint.url}) has failed ${consecutiveFailures} times in a row`);
  });
  sender.on('endpoint.disabled', ({ endpoint, reason }) => {
    if (json) printJsonLine({ event: 'endpoint.disabled', time: time(), endpoint: loggedEndpoint(endpoint), reason });
    else log(`endpoint disabled: ${endpoint.id} (${endpoint.url}): ${reason}`);
  });
  sender.on('endpoint.recovered', ({ endpoint, previousFailures }) => {
    if (json) printJsonLine({ event: 'endpoint.recovered', time: time(), endpoint: loggedEndpoint(endpoint), previousFailures });
    else log(`endpoint recovered: ${endpoint.id} (${endpoint.url}) after ${previousFailures} failures`);
  });

  let stopping = false;
  // The dispatcher's own timers do not hold the process open (a library must not); a worker must
  // run until it is told to stop.
  const keepAlive = setInterval(() => {}, 2 ** 30);
  const stopped = new Promise<string>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log(`${signal} again: exiting now; deliveries in flight are retried once their lease expires`);
        void flushOutput().then(() => process.exit(EXIT.interrupted));
        return;
      }
      stopping = true;
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  sender.start();
  if (json) printJsonLine({ event: 'started', time: time(), storage: opened.kind, database: opened.label, pid: process.pid });
  log(`dispatching from ${opened.kind} ${opened.label} (pid ${process.pid}); SIGTERM or Ctrl-C stops gracefully`);

  const signal = await stopped;
  log(`${signal}: stopping; waiting for attempts in flight`);
  try {
    // stop() waits for attempts in flight at most --stop-timeout. close() then closes the HTTP
    // pool gracefully, which would wait for an attempt still running; past a short grace period
    // the process exits anyway and that delivery is retried once its lease expires.
    await sender.stop();
    await Promise.race([sender.close(), new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
  } finally {
    await opened.storage.close();
    clearInterval(keepAlive);
  }
  progress.done(`delivered ${counts.succeeded} · failed attempts ${counts.failedAttempts} · given up ${counts.givenUp}`);
  if (json) printJsonLine({ event: 'stopped', time: time(), signal, ...counts });
  log('stopped');
}
