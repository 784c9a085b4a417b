import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { type EventReference, type JsonSchemaTarget, describeCatalog } from '@hooks/core';
import { CliError } from '../errors';
import { printJson, writeOut } from '../io';
import { loadCatalog } from '../load-catalog';

interface CatalogOptions {
  catalog: string;
  export?: string;
  format: 'json-schema' | 'json';
  target: JsonSchemaTarget;
  out?: string;
  envelope?: boolean;
  baseUrl?: string;
  json?: boolean;
}

const DIALECTS: Record<JsonSchemaTarget, string> = {
  'draft-2020-12': 'https://json-schema.org/draft/2020-12/schema',
  'draft-07': 'http://json-schema.org/draft-07/schema#',
};

/** File name of an event's schema: event names may hold ":", which some file systems refuse. */
export function schemaFileName(type: string): string {
  return `${type.replaceAll(':', '_')}.json`;
}

function definitionsKey(target: JsonSchemaTarget): '$defs' | 'definitions' {
  return target === 'draft-07' ? 'definitions' : '$defs';
}

/** One standalone JSON Schema document for an event: of its `data`, or with `envelope`, of the whole webhook body. */
export function eventSchemaDocument(reference: EventReference, options: { target: JsonSchemaTarget; envelope: boolean; baseUrl?: string | undefined }): Record<string, unknown> {
  const { $schema: _dialect, ...schema } = reference.schema ?? {};
  const header: Record<string, unknown> = { $schema: DIALECTS[options.target] };
  if (options.baseUrl) header.$id = `${options.baseUrl.replace(/\/+$/, '')}/${schemaFileName(reference.type)}`;
  header.title = reference.type;
  if (reference.description) header.description = reference.description;
  if (reference.deprecated) header.deprecated = true;
  if (!options.envelope) {
    return { ...header, ...schema, ...(reference.example === null ? {} : { examples: [reference.example] }) };
  }
  // Definitions must stay at the document root for the converter's "#/$defs/…" references to resolve.
  const key = definitionsKey(options.target);
  const { [key]: definitions, ...dataSchema } = schema as Record<string, unknown>;
  return {
    ...header,
    type: 'object',
    properties: {
      id: { type: 'string', description: 'Message id, the same on every retry (X-Webhook-Id): dedupe on it.' },
      type: { const: reference.type },
      timestamp: { type: 'string', format: 'date-time', description: 'When the event happened (ISO 8601, UTC).' },
      data: dataSchema,
    },
    required: ['id', 'type', 'timestamp', 'data'],
    ...(definitions === undefined ? {} : { [key]: definitions }),
    ...(reference.example === null ? {} : { examples: [{ id: 'msg_…', type: reference.type, timestamp: '2026-01-01T00:00:00.000Z', data: reference.example }] }),
  };
}

/** `hooks catalog --format json-schema`: exports the event catalog, one JSON Schema per event. */
export function registerCatalog(program: Command): void {
  program
    .command('catalog')
    .summary('export the event catalog as JSON Schema')
    .description(
      "Export the event catalog so a SaaS can publish its event reference: one JSON Schema document per event (title, description, deprecated, examples), made by the schema library's own Standard JSON Schema converter (zod 4, arktype) or the definition's `jsonSchema`. Without --out, prints one JSON object keyed by event type.",
    )
    .requiredOption('-c, --catalog <module>', 'module exporting the defineEvents() catalog (.js, .mjs, .cjs; .ts with tsx installed)')
    .option('--export <name>', 'the named export holding the catalog')
    .addOption(new Option('-f, --format <format>', 'json-schema: one schema document per event; json: the catalog reference (type, description, schema, example) as a list').choices(['json-schema', 'json']).default('json-schema'))
    .addOption(new Option('--target <dialect>', 'JSON Schema dialect').choices(['draft-2020-12', 'draft-07']).default('draft-2020-12'))
    .option('--envelope', 'describe the whole webhook body { id, type, timestamp, data }, not only data')
    .option('--base-url <url>', 'sets each document\'s $id to <url>/<event>.json')
    .option('-o, --out <dir>', 'write <event>.json files into this folder (created if missing)')
    .option('--json', 'with --out, print the list of files written as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ hooks catalog --catalog ./events.js > events.schema.json
  $ hooks catalog -c ./src/events.ts --out public/webhooks/schemas --base-url https://example.com/webhooks/schemas
  $ hooks catalog -c ./events.js --format json --target draft-07`,
    )
    .action(async (options: CatalogOptions) => {
      const catalog = await loadCatalog({ path: options.catalog, exportName: options.export });
      let references: EventReference[];
      try {
        references = describeCatalog(catalog, options.target);
      } catch (error) {
        throw new CliError('no_json_schema', error instanceof Error ? error.message : String(error), { cause: error });
      }
      const missing = references.filter((reference) => reference.schema === null).map((reference) => reference.type);
      if (missing.length > 0) {
        throw new CliError('no_json_schema', `No JSON Schema for ${missing.join(', ')}: the schema library has no Standard JSON Schema converter (valibot, for example).`, {
          hint: 'Give those definitions a `jsonSchema` (e.g. from @valibot/to-json-schema), or use zod 4 / arktype.',
        });
      }
      if (options.format === 'json') {
        if (options.out) {
          await write(resolve(options.out), 'catalog.json', references);
          report(options, ['catalog.json']);
        } else printJson(references);
        return;
      }
      const documents = references.map((reference) => ({
        type: reference.type,
        file: schemaFileName(reference.type),
        document: eventSchemaDocument(reference, { target: options.target, envelope: options.envelope === true, baseUrl: options.baseUrl }),
      }));
      if (!options.out) {
        printJson(Object.fromEntries(documents.map((entry) => [entry.type, entry.document])));
        return;
      }
      const folder = resolve(options.out);
      for (const entry of documents) await write(folder, entry.file, entry.document);
      report(options, documents.map((entry) => entry.file));
    });
}

async function write(folder: string, file: string, value: unknown): Promise<void> {
  try {
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, file), `${JSON.stringify(value, null, 2)}\n`);
  } catch (error) {
    throw new CliError('output_error', `Cannot write ${join(folder, file)}: ${(error as Error).message}`, { cause: error });
  }
}

function report(options: CatalogOptions, files: string[]): void {
  const folder = resolve(options.out!);
  if (options.json) printJson({ ok: true, out: folder, files });
  else writeOut(`${files.map((file) => join(options.out!, file)).join('\n')}\n${files.length} file${files.length === 1 ? '' : 's'} written\n`);
}
