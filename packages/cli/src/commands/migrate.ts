import type { Command } from 'commander';
import { openStorage, storageCall } from '../database';
import { CliError } from '../errors';
import { printJson, writeOut } from '../io';
import { createProgress } from '../progress';
import { databaseOf } from './dispatch';

interface MigrateOptions {
  database?: string;
  schema?: string;
  json?: boolean;
  progress?: boolean;
}

/** `hooks migrate`: applies the pending migrations of the sender's schema. */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .summary("create or update the sender's tables")
    .description(
      "Apply the pending migrations of @hooks/sender's tables, for SQLite (the file is created if missing) or PostgreSQL (under an advisory lock: several deploys at once are safe). Run it in the deploy step and start workers with `hooks dispatch --no-migrate`. Running it again does nothing.",
    )
    .option('--database <database>', 'SQLite path or postgres:// URL (default: $HOOKS_DATABASE)')
    .option('--schema <schema>', 'PostgreSQL schema of the sender tables (default: hooks)')
    .option('--json', 'print the result as JSON')
    .option('--progress', 'show progress on standard error even when it is not a terminal')
    .option('--no-progress', 'never show progress')
    .addHelpText(
      'after',
      `
Examples:
  $ hooks migrate --database ./hooks.db
  $ hooks migrate --database postgres://deploy@db/app --schema hooks`,
    )
    .action(async (options: MigrateOptions) => {
      const database = databaseOf(options);
      const progress = createProgress(options.progress);
      const started = performance.now();
      progress.update(`migrating ${database.startsWith('postgres') ? 'PostgreSQL' : 'SQLite'}…`);
      // SQLite migrates while opening; PostgreSQL waits for the explicit call below.
      const opened = await openStorage({ database, ...(options.schema ? { schema: options.schema } : {}) }, { create: true, migrate: false });
      try {
        const storage = opened.storage as typeof opened.storage & { migrate?: () => Promise<unknown> };
        if (typeof storage.migrate !== 'function') {
          throw new CliError('unsupported_storage', `This version of @hooks/sender cannot migrate ${opened.kind} storage on demand.`);
        }
        const result = await storageCall(opened.label, () => storage.migrate!());
        const durationMs = Math.round(performance.now() - started);
        const applied = typeof result === 'object' && result !== null && Array.isArray((result as { applied?: unknown }).applied) ? (result as { applied: unknown[] }).applied : undefined;
        progress.done(`migrated ${opened.kind} in ${durationMs} ms`);
        if (options.json) printJson({ ok: true, storage: opened.kind, database: opened.label, durationMs, ...(applied ? { applied } : {}) });
        else writeOut(`${opened.label}: schema up to date${applied ? ` (${applied.length} migration${applied.length === 1 ? '' : 's'} applied)` : ''}\n`);
      } finally {
        await opened.storage.close();
      }
    });
}
