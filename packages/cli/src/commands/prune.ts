import type { Command } from 'commander';
import { openStorage, storageCall } from '../database';
import { CliError } from '../errors';
import { printJson, writeOut } from '../io';
import { integerOption, olderThanOption } from '../options';
import { createProgress } from '../progress';
import { databaseOf } from './dispatch';

interface PruneOptions {
  database?: string;
  schema?: string;
  olderThan: number;
  batchSize: number;
  maxBatches?: number;
  json?: boolean;
  progress?: boolean;
}

interface PruneCounts {
  messages: number;
  deliveries: number;
  attempts: number;
  /** Delivered owner notifications, where the storage keeps them. */
  notifications?: number;
  batches: number;
}

type PrunableStorage = {
  prune?: (options: { olderThan: number; batchSize?: number; maxBatches?: number }) => Promise<PruneCounts>;
};

/** `hooks prune --older-than 30d`: deletes old finished messages with their deliveries and attempts. */
export function registerPrune(program: Command): void {
  program
    .command('prune')
    .summary('delete old finished messages, deliveries and attempts')
    .description(
      'Delete the messages created before --older-than, with their deliveries and attempt logs, once every delivery of the message has finished (succeeded or given up): a message still being retried is kept whatever its age. Works in short batches (one transaction each) that never block the dispatchers for long, with a running count.',
    )
    .requiredOption('--older-than <age>', 'age such as 30d, 12h, 90m, or a date such as 2026-01-01', olderThanOption)
    .option('--database <database>', 'SQLite path or postgres:// URL (default: $HOOKS_DATABASE)')
    .option('--schema <schema>', 'PostgreSQL schema of the sender tables (default: hooks)')
    .option('--batch-size <number>', 'messages deleted per transaction', integerOption(1, 10_000), 500)
    .option('--max-batches <number>', 'stop after this many batches (the next run continues)', integerOption(1, Number.MAX_SAFE_INTEGER))
    .option('--json', 'print the counts as JSON')
    .option('--progress', 'show the running count on standard error even when it is not a terminal')
    .option('--no-progress', 'never show the running count')
    .addHelpText(
      'after',
      `
Examples:
  $ hooks prune --database ./hooks.db --older-than 30d
  $ hooks prune --database postgres://app@db/app --older-than 90d --batch-size 1000 --json`,
    )
    .action(async (options: PruneOptions) => {
      const database = databaseOf(options);
      const opened = await openStorage({ database, ...(options.schema ? { schema: options.schema } : {}) }, { create: false, migrate: false });
      try {
        const storage = opened.storage as typeof opened.storage & PrunableStorage;
        if (typeof storage.prune !== 'function') {
          throw new CliError('unsupported_storage', `This version of @hooks/sender cannot prune ${opened.kind} storage.`);
        }
        const progress = createProgress(options.progress);
        const total: Required<PruneCounts> = { messages: 0, deliveries: 0, attempts: 0, notifications: 0, batches: 0 };
        const describe = () => `pruned ${total.messages} messages, ${total.deliveries} deliveries, ${total.attempts} attempts (${total.batches} batches)`;
        progress.update(`pruning messages older than ${new Date(options.olderThan).toISOString()}…`);
        // One batch per call, so the count moves while a large backlog is deleted.
        while (options.maxBatches === undefined || total.batches < options.maxBatches) {
          const batch = await storageCall(opened.label, () => storage.prune!({ olderThan: options.olderThan, batchSize: options.batchSize, maxBatches: 1 }));
          total.messages += batch.messages;
          total.deliveries += batch.deliveries;
          total.attempts += batch.attempts;
          total.notifications += batch.notifications ?? 0;
          total.batches += Math.max(1, batch.batches);
          progress.update(describe());
          if (batch.messages < options.batchSize && (batch.notifications ?? 0) < options.batchSize) break;
        }
        progress.done(describe());
        if (options.json) printJson({ ok: true, storage: opened.kind, database: opened.label, olderThan: new Date(options.olderThan).toISOString(), ...total });
        else writeOut(`${opened.label}: deleted ${total.messages} messages, ${total.deliveries} deliveries and ${total.attempts} attempts older than ${new Date(options.olderThan).toISOString()}\n`);
      } finally {
        await opened.storage.close();
      }
    });
}
