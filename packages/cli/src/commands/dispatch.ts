import { type Command, InvalidArgumentError } from 'commander';
import { type EventCatalog, HooksError, defineEvents } from '@hooks/core';
import type { Endpoint, Sender, UrlPolicy } from '@hooks/sender';
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
  allow?: string[];
  allowPrivateNetworks?: boolean;
  takeNotifications?: boolean;
  migrate: boolean;
  verbose?: boolean;
  json?: boolean;
  progress?: boolean;
  encryptionKeyFile?: string;
}

/** How long closing may take after the graceful stop, before the worker exits regardless. */
const CLOSE_GRACE_MS = 1000;

/** What the deprecated `--allow-private-networks` stands for: the sender's reading of `allowPrivateNetworks: true`. */
const LEGACY_PRIVATE_RANGES = ['loopback', 'private', 'carrier-grade-nat', 'reserved'] as const;

/** `--allow loopback,10.20.0.0/16` (repeatable): the entries of `urlPolicy.allow`, checked by the sender. */
function allowOption(value: string, previous: string[] | undefined): string[] {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw new InvalidArgumentError('Expected range names or CIDR blocks, comma-separated, e.g. loopback or 10.20.0.0/16.');
  return [...(previous ?? []), ...entries];
}

/** Fields of a log line as `key=value` pairs; the sender never passes secrets or payloads in them. */
function formatFields(fields: Record<string, unknown> | undefined): string {
  if (fields === undefined) return '';
  const pairs = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${value instanceof Error ? value.message : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`);
  return pairs.length === 0 ? '' : ` (${pairs.join(' ')})`;
}

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
    .option(
      '--allow <ranges>',
      'non-public addresses to deliver to, comma-separated: range names (loopback, private, carrier-grade-nat, link-local, reserved, metadata) or CIDR blocks / addresses of your own networks, e.g. loopback or 10.20.0.0/16 (default: public addresses only)',
      allowOption,
    )
    .option('--allow-private-networks', 'deprecated: use --allow; the same as --allow loopback,private,carrier-grade-nat,reserved')
    .option(
      '--take-notifications',
      'take the owner notifications (endpoint.failing, endpoint.disabled, endpoint.recovered): print them and mark them handed over, so no listener of your own gets them (default: leave them to your processes that listen; disablements are still logged)',
    )
    .option('--encryption-key-file <file>', `keys that decrypt endpoint secrets, "id:base64key[,…]" as in the encryption option (default: $${ENCRYPTION_ENV})`)
    .option('--no-migrate', 'fail instead of migrating a PostgreSQL schema that is behind (run `hooks migrate` in the deploy step)')
    .option('--verbose', 'log every attempt, not only failures')
    .option('--json', 'print one JSON line per event (started, attempt.finished, delivery.failed, endpoint.* with --take-notifications, stopped) on standard output')
    .option('--progress', 'show a running count on standard error even when it is not a terminal')
    .option('--no-progress', 'never show the running count')
    .addHelpText(
      'after',
      `
Examples:
  $ hooks dispatch --database ./hooks.db
  $ HOOKS_DATABASE=postgres://app@db/app hooks dispatch --schema hooks --concurrency 100 --no-migrate
  $ hooks dispatch --database ./dev.db --allow-http --allow loopback --verbose
  $ hooks dispatch --database ./hooks.db --allow 10.20.0.0/16,fd12:3456::/48 --json --take-notifications`,
    )
    .action(async (options: DispatchOptions) => {
      const database = databaseOf(options);
      const urlPolicy = await resolveUrlPolicy(options);
      const encryption = await resolveEncryption(options.encryptionKeyFile);
      const catalog: EventCatalog = options.catalog === undefined ? defineEvents({}) : await loadCatalog({ path: options.catalog, exportName: options.export });
      const opened = await openStorage({ database, ...(options.schema ? { schema: options.schema } : {}) }, { create: false, migrate: options.migrate });
      await runDispatcher(opened, catalog, options, encryption, urlPolicy);
    });
}

/**
 * The sender's URL policy from `--allow-http`, `--allow` and the deprecated
 * `--allow-private-networks`, checked before the database is opened: a mistyped range is a usage
 * error, not a worker that refuses every endpoint.
 */
async function resolveUrlPolicy(options: DispatchOptions): Promise<UrlPolicy> {
  const allow = [...(options.allow ?? [])];
  if (options.allowPrivateNetworks === true) {
    writeError(`${time()} warning: --allow-private-networks is deprecated: use --allow (it stands for --allow ${LEGACY_PRIVATE_RANGES.join(',')}; --allow loopback is enough on one machine).\n`);
    for (const range of LEGACY_PRIVATE_RANGES) if (!allow.includes(range)) allow.push(range);
  }
  const urlPolicy: UrlPolicy = { allowHttp: options.allowHttp === true, allow };
  const { NAMED_ADDRESS_RANGES, assertEndpointUrl } = await import('@hooks/sender');
  try {
    // The sender checks the policy before the URL: a public https URL passes whenever the policy is valid.
    assertEndpointUrl('https://example.com/', urlPolicy);
  } catch (error) {
    if (HooksError.isInstance(error) && error.code === 'invalid_option') {
      throw new CliError('invalid_option', `--allow: ${error.message}`, { hint: `Range names are ${NAMED_ADDRESS_RANGES.join(', ')}; blocks look like 10.20.0.0/16 or fd12::/64.`, cause: error });
    }
    throw error;
  }
  return urlPolicy;
}

async function runDispatcher(opened: OpenedStorage, catalog: EventCatalog, options: DispatchOptions, encryption: EncryptionKeys | undefined, urlPolicy: UrlPolicy): Promise<void> {
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
      urlPolicy,
      dispatcher: {
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
        ...(options.perEndpointConcurrency === undefined ? {} : { perEndpointConcurrency: options.perEndpointConcurrency }),
        ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout }),
        ...(options.lease === undefined ? {} : { leaseMs: options.lease }),
        ...(options.pollInterval === undefined ? {} : { pollIntervalMs: options.pollInterval }),
        ...(options.stopTimeout === undefined ? {} : { stopTimeoutMs: options.stopTimeout }),
      },
      ...(encryption ? { encryption } : {}),
      // With fields: an automatic disablement is logged with its endpoint, tenant and reason, also without --take-notifications.
      logger: {
        info: (message, fields) => log(`${message}${formatFields(fields)}`),
        warn: (message, fields) => log(`warning: ${message}${formatFields(fields)}`),
        error: (message, fields) => log(`error: ${message}${formatFields(fields)}`),
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
  // Listening TAKES the owner notifications: the sender hands each one to a single process that
  // listens, and marks it handed over. So only on request: otherwise the app's own listener
  // (which emails the owners) gets them, and this worker only logs disablements (above).
  if (options.takeNotifications === true) {
    sender.on('endpoint.failing', ({ notificationId, endpoint, consecutiveFailures }) => {
      if (json) printJsonLine({ event: 'endpoint.failing', time: time(), notificationId, endpoint: loggedEndpoint(endpoint), consecutiveFailures });
      else log(`endpoint failing: ${endpoint.id} (${endpoint.url}) has failed ${consecutiveFailures} times in a row`);
    });
    sender.on('endpoint.disabled', ({ notificationId, endpoint, reason }) => {
      if (json) printJsonLine({ event: 'endpoint.disabled', time: time(), notificationId, endpoint: loggedEndpoint(endpoint), reason });
      else log(`endpoint disabled: ${endpoint.id} (${endpoint.url}): ${reason}`);
    });
    sender.on('endpoint.recovered', ({ notificationId, endpoint, previousFailures }) => {
      if (json) printJsonLine({ event: 'endpoint.recovered', time: time(), notificationId, endpoint: loggedEndpoint(endpoint), previousFailures });
      else log(`endpoint recovered: ${endpoint.id} (${endpoint.url}) after ${previousFailures} failures`);
    });
  }

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
  const takesNotifications = options.takeNotifications === true;
  if (json) printJsonLine({ event: 'started', time: time(), storage: opened.kind, database: opened.label, pid: process.pid, takesNotifications });
  log(`dispatching from ${opened.kind} ${opened.label} (pid ${process.pid}); SIGTERM or Ctrl-C stops gracefully`);
  log(takesNotifications ? 'owner notifications are taken here (--take-notifications): no other listener gets them' : 'owner notifications are left to the listeners of your own processes (--take-notifications takes them here)');

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
