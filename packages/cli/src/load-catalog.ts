import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EventCatalog } from '@hooks/core';
import { CliError } from './errors';

/** Options of {@link loadCatalog}. */
export interface LoadCatalogOptions {
  /** Path of the module, relative to the working directory. */
  path: string;
  /** Name of the export holding the catalog. @default the default export, else the only catalog among the named exports */
  exportName?: string | undefined;
}

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);
const JAVASCRIPT = new Set(['.js', '.mjs', '.cjs']);

/** True for what `defineEvents` returns, from any installed copy of @hooks/core. */
export function isCatalog(value: unknown): value is EventCatalog {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<EventCatalog>;
  return (
    typeof candidate.definitions === 'object' &&
    candidate.definitions !== null &&
    Array.isArray(candidate.names) &&
    typeof candidate.has === 'function' &&
    typeof candidate.validate === 'function'
  );
}

type TsImport = (specifier: string, parentURL: string) => Promise<Record<string, unknown>>;

// tsx is looked up in the user's project first (where a TypeScript project has it), then next to
// the CLI. Its ESM API is imported through the `import` entry of its exports map.
async function findTsx(): Promise<TsImport | undefined> {
  for (const base of [join(process.cwd(), 'package.json'), import.meta.url]) {
    let entry: string;
    try {
      const manifestPath = createRequire(base).resolve('tsx/package.json');
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports?: Record<string, { import?: string | { default?: string } }> };
      const target = manifest.exports?.['./esm/api']?.import;
      const relative = typeof target === 'string' ? target : target?.default;
      if (!relative) continue;
      entry = join(dirname(manifestPath), relative);
    } catch {
      // Not installed there; try the next place.
      continue;
    }
    const api = (await import(pathToFileURL(entry).href)) as { tsImport?: TsImport };
    if (typeof api.tsImport === 'function') return api.tsImport;
  }
  return undefined;
}

async function importModule(file: string): Promise<Record<string, unknown>> {
  const extension = extname(file);
  const url = pathToFileURL(file).href;
  if (TYPESCRIPT.has(extension)) {
    const tsImport = await findTsx();
    if (tsImport) return tsImport(url, pathToFileURL(join(process.cwd(), '/')).href);
    try {
      // Node 22.18+ and 23.6+ strip types themselves; Node 20 refuses the extension.
      return (await import(url)) as Record<string, unknown>;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ERR_UNKNOWN_FILE_EXTENSION' || code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING' || code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') {
        throw new CliError('typescript_loader_missing', `Loading the TypeScript catalog "${file}" needs tsx.`, {
          hint: 'Install it in your project (npm install --save-dev tsx), or point --catalog at the compiled .js file.',
          cause: error,
        });
      }
      throw error;
    }
  }
  return (await import(url)) as Record<string, unknown>;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * Loads the event catalog a user's module exports (`.js`, `.mjs`, `.cjs`; `.ts`/`.mts`/`.cts`
 * through tsx when it is installed, or Node's own type stripping where it has it).
 */
export async function loadCatalog(options: LoadCatalogOptions): Promise<EventCatalog> {
  const file = resolve(process.cwd(), options.path);
  if (!existsSync(file)) throw new CliError('catalog_not_found', `The catalog module "${options.path}" does not exist.`);
  const extension = extname(file);
  if (!TYPESCRIPT.has(extension) && !JAVASCRIPT.has(extension)) {
    throw new CliError('catalog_load_failed', `The catalog module "${options.path}" must be a .js, .mjs, .cjs, .ts, .mts or .cts file.`);
  }
  let namespace: Record<string, unknown>;
  try {
    namespace = await importModule(file);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError('catalog_load_failed', `The catalog module "${options.path}" failed to load: ${describeError(error)}`, { cause: error });
  }
  return pickCatalog(namespace, options);
}

function pickCatalog(namespace: Record<string, unknown>, options: LoadCatalogOptions): EventCatalog {
  // A CommonJS module arrives as `default` = module.exports: look inside it as well.
  const fromDefault = namespace.default;
  const exports: Record<string, unknown> = { ...namespace };
  if (typeof fromDefault === 'object' && fromDefault !== null && !isCatalog(fromDefault)) {
    for (const [name, value] of Object.entries(fromDefault)) if (!(name in exports)) exports[name] = value;
  }
  if (options.exportName !== undefined) {
    const chosen = exports[options.exportName];
    if (isCatalog(chosen)) return chosen;
    throw new CliError('no_catalog_export', `The catalog module "${options.path}" has no export "${options.exportName}" made with defineEvents().`, {
      hint: listHint(exports),
    });
  }
  if (isCatalog(fromDefault)) return fromDefault;
  const catalogs = Object.entries(exports).filter(([name, value]) => name !== 'default' && isCatalog(value));
  if (catalogs.length === 1) return catalogs[0]![1] as EventCatalog;
  if (catalogs.length > 1) {
    throw new CliError('ambiguous_catalog', `The catalog module "${options.path}" exports several catalogs: ${catalogs.map(([name]) => name).join(', ')}.`, {
      hint: 'Choose one with --export NAME.',
    });
  }
  throw new CliError('no_catalog_export', `The catalog module "${options.path}" exports no catalog made with defineEvents().`, { hint: listHint(exports) });
}

function listHint(exports: Record<string, unknown>): string {
  const names = Object.keys(exports);
  return names.length > 0
    ? `Its exports: ${names.join(', ')}. Export the result of defineEvents({ … }) as the default export or by name (--export NAME).`
    : 'It exports nothing. Export the result of defineEvents({ … }) as the default export or by name (--export NAME).';
}
