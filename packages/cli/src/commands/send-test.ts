import { type Command, Option } from 'commander';
import { type EventCatalog, WebhookPayloadError, createMessageId, signHeaders } from '@hooks/core';
import { envelopeBytesOf } from '../capture';
import { parseHeaderLines } from '../capture';
import { checkUrl, deliver } from '../deliver';
import { CliError } from '../errors';
import { readFileBytes } from '../input';
import { loadCatalog } from '../load-catalog';
import { collect, durationOption, integerOption, profileOption } from '../options';
import { reportDelivery } from '../report-delivery';
import { type SecretOptions, resolveSecrets } from '../secrets';

interface SendTestOptions extends SecretOptions {
  url: string;
  type?: string;
  catalog?: string;
  export?: string;
  data?: string;
  dataFile?: string;
  validate: boolean;
  profile: 'x-webhook' | 'standard';
  header?: string[];
  id?: string;
  attempt: number;
  timeout: number;
  json?: boolean;
}

function parseData(text: string, origin: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError('invalid_payload', `${origin} is not valid JSON.`);
  }
}

/** The event type and payload to send: from --data/--data-file, else the catalog's example. */
async function chooseEvent(options: SendTestOptions, catalog: EventCatalog | undefined): Promise<{ type: string; data: unknown }> {
  let data: unknown;
  if (options.data !== undefined) data = parseData(options.data, '--data');
  else if (options.dataFile !== undefined) data = parseData((await readFileBytes(options.dataFile, 'data file')).toString('utf8'), `The data file "${options.dataFile}"`);
  if (!catalog) {
    if (options.type === undefined || data === undefined) {
      throw new CliError('invalid_option', 'Without --catalog, give the event with --type and its payload with --data or --data-file.', {
        hint: 'With --catalog ./events.js, the catalog example of --type is sent.',
      });
    }
    return { type: options.type, data };
  }
  const type = options.type ?? catalog.names.find((name) => catalog.definitions[name]?.example !== undefined);
  if (type === undefined) throw new CliError('no_example', 'No event of the catalog has an example: pass --type and --data.');
  if (!catalog.names.includes(type)) {
    throw new CliError('unknown_event', `The catalog does not declare the event type "${type.slice(0, 128)}".`, { hint: `Declared: ${catalog.names.join(', ') || 'none'}.` });
  }
  if (data === undefined) {
    data = catalog.definitions[type]?.example;
    if (data === undefined) throw new CliError('no_example', `The event "${type}" has no example in the catalog: add \`example\` to its definition, or pass --data.`);
  }
  if (options.validate) {
    try {
      await catalog.validate(type, data);
    } catch (error) {
      if (WebhookPayloadError.isInstance(error)) {
        throw new CliError('invalid_payload', `The payload of "${type}" does not match its schema${error.path ? ` at ${error.path}` : ''}: ${error.issues[0]?.message ?? error.message}`, {
          hint: 'Fix the payload, or pass --no-validate to send it anyway (to test how the receiver rejects it).',
        });
      }
      throw error;
    }
  }
  return { type, data };
}

/** `hooks send-test`: sends one signed example event to a receiver and prints what it answered. */
export function registerSendTest(program: Command): void {
  program
    .command('send-test')
    .summary('send a signed example event to your receiver')
    .description(
      "Send one correctly signed webhook to a receiver, the way @hooks/sender would (same body bytes and headers), with the catalog's example payload of an event type, and print the status, the response and the timing. Exit code 0 for a 2xx answer, 1 for any other status, 4 when the receiver cannot be reached.",
    )
    .requiredOption('-u, --url <url>', 'the receiver, e.g. http://localhost:3000/webhooks')
    .option('-s, --secret <secret>', 'the secret your receiver verifies with (default: $WEBHOOK_SECRET)', collect)
    .option('--secret-file <file>', 'read the secret(s) from a file', collect)
    .option('-t, --type <type>', 'event type (default: the first event of the catalog with an example)')
    .option('-c, --catalog <module>', 'module exporting the defineEvents() catalog (.js, .mjs, .cjs; .ts with tsx installed)')
    .option('--export <name>', 'the named export holding the catalog (default: the default export, else the only catalog)')
    .option('-d, --data <json>', "payload to send instead of the catalog's example")
    .option('--data-file <file>', 'read the payload from a JSON file')
    .option('--no-validate', "send the payload even if it does not match the catalog's schema")
    .addOption(new Option('-p, --profile <profile>', 'header names: x-webhook (X-Webhook-*) or standard (webhook-*)').argParser(profileOption).default('x-webhook'))
    .option('-H, --header <line>', 'an extra request header, "Name: value"; repeatable', collect)
    .option('--id <id>', 'message id (default: a new msg_ id, so the receiver never drops it as a duplicate)')
    .option('--attempt <number>', 'X-Webhook-Attempt value', integerOption(1, 1_000_000), 1)
    .option('--timeout <duration>', 'how long to wait for the answer, e.g. 10s', durationOption, 10_000)
    .option('--json', 'print request, response and timing as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ hooks send-test --url http://localhost:3000/webhooks --secret whsec_… --catalog ./events.js --type registrant.created
  $ WEBHOOK_SECRET=whsec_… hooks send-test -u http://localhost:3000/webhooks -c ./src/events.ts
  $ hooks send-test -u http://localhost:8787/hooks -s whsec_… -t ping -d '{"ok":true}' --profile standard --json`,
    )
    .action(async (options: SendTestOptions) => {
      const url = checkUrl(options.url);
      const secrets = await resolveSecrets(options, 'sign');
      const catalog = options.catalog === undefined ? undefined : await loadCatalog({ path: options.catalog, exportName: options.export });
      const { type, data } = await chooseEvent(options, catalog);
      const now = Date.now();
      const id = options.id ?? createMessageId(now);
      let payload: string | undefined;
      try {
        payload = JSON.stringify(data);
      } catch {
        payload = undefined;
      }
      if (payload === undefined) throw new CliError('invalid_payload', 'The payload cannot be serialised as JSON.');
      const body = envelopeBytesOf({ id, type, createdAt: now, payload });
      const signed = await signHeaders({ id, timestamp: Math.floor(now / 1000), payload: body, secrets, profile: options.profile, attempt: options.attempt, eventType: type });
      // Extra headers first, so they never replace the signature (as the sender does).
      const headers = { ...parseHeaderLines(options.header ?? [], '--header'), ...signed };
      const result = await deliver(url, headers, body, options.timeout);
      reportDelivery({ url: url.href, type, id, profile: options.profile, headers, body, secrets }, result, options.json === true);
    });
}
