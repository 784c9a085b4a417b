import { type Command, Option } from 'commander';
import { ATTEMPT_HEADER, EVENT_HEADER, type HeaderProfile, PROFILE_HEADERS, createMessageId, signHeaders } from '@hooks/core';
import { type CapturedRequest, envelopeBytesOf, parseCapture, parseHeaderLines } from '../capture';
import { openStorage, storageCall } from '../database';
import { checkUrl, deliver } from '../deliver';
import { CliError } from '../errors';
import { readSource } from '../input';
import { collect, durationOption, integerOption, profileOption } from '../options';
import { reportDelivery } from '../report-delivery';
import { type SecretOptions, resolveSecrets } from '../secrets';

interface ReplayOptions extends SecretOptions {
  url?: string;
  profile?: HeaderProfile;
  newId?: boolean;
  attempt?: number;
  header?: string[];
  database?: string;
  schema?: string;
  message?: string;
  timeout: number;
  json?: boolean;
}

// Headers of the transport, and the ones re-signing replaces: never copied from a capture.
const DROPPED = new Set([
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'upgrade',
  'expect',
  'accept-encoding',
  'user-agent',
  'content-type',
  ATTEMPT_HEADER,
  EVENT_HEADER,
  ...Object.values(PROFILE_HEADERS).flatMap((names) => [names.id, names.timestamp, names.signature]),
]);

function capturedProfile(headers: Record<string, string>): HeaderProfile | undefined {
  if (headers[PROFILE_HEADERS['x-webhook'].id] !== undefined) return 'x-webhook';
  if (headers[PROFILE_HEADERS.standard.id] !== undefined || headers[PROFILE_HEADERS.svix.id] !== undefined) return 'standard';
  return undefined;
}

function capturedId(headers: Record<string, string>): string | undefined {
  for (const names of Object.values(PROFILE_HEADERS)) if (headers[names.id] !== undefined) return headers[names.id];
  return undefined;
}

function parseEnvelope(body: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function readCapture(file: string | undefined, options: ReplayOptions): Promise<CapturedRequest> {
  if (options.message !== undefined || options.database !== undefined) {
    if (file !== undefined) throw new CliError('usage_error', 'Give either FILE or --database with --message, not both.');
    if (options.message === undefined || options.database === undefined) throw new CliError('usage_error', '--database and --message go together: the message to replay from the sender\'s log.');
    const opened = await openStorage({ database: options.database, ...(options.schema ? { schema: options.schema } : {}) }, { create: false, migrate: false });
    try {
      const message = await storageCall(opened.label, () => opened.storage.getMessage(options.message!));
      if (!message) throw new CliError('message_not_found', `No message ${options.message.slice(0, 128)} in ${opened.label}.`, { hint: 'Old messages are deleted by `hooks prune`.' });
      return { headers: { [EVENT_HEADER]: message.type }, body: envelopeBytesOf(message), bodyWasParsed: false, format: 'message' };
    } finally {
      await opened.storage.close();
    }
  }
  return parseCapture(await readSource(file, 'captured delivery', 'Example: hooks replay delivery.json --url http://localhost:3000/webhooks --secret whsec_…'));
}

/** `hooks replay FILE --url URL`: re-sends a captured delivery, re-signed with a fresh timestamp. */
export function registerReplay(program: Command): void {
  program
    .command('replay')
    .summary('re-send a captured delivery, re-signed with a fresh timestamp')
    .description(
      "Re-send a delivery: the same body bytes and message id (so receivers recognise it), the endpoint's custom headers, and a fresh signature and timestamp (a captured request is refused after 5 minutes otherwise). The delivery comes from FILE (a raw HTTP capture, JSON { headers, body }, an attempt exported from the admin API, a webhook envelope or a logged message) or from the sender's database (--database with --message). Exit code 0 for a 2xx answer, 1 for any other status, 4 when the receiver cannot be reached.",
    )
    .argument('[file]', 'the captured delivery; standard input when absent and no --message')
    .option('-u, --url <url>', 'where to send it (default: the URL in an exported attempt)')
    .option('-s, --secret <secret>', 'the secret to sign with (default: $WEBHOOK_SECRET)', collect)
    .option('--secret-file <file>', 'read the secret(s) from a file', collect)
    .addOption(new Option('-p, --profile <profile>', "header names (default: the capture's)").argParser(profileOption))
    .option('--new-id', 'send under a new message id (in the header and the envelope), so a receiver that already handled it does not answer "duplicate"')
    .option('--attempt <number>', "X-Webhook-Attempt value (default: the capture's, else 1)", integerOption(1, 1_000_000))
    .option('-H, --header <line>', 'an extra request header, "Name: value"; repeatable', collect)
    .option('--database <database>', "read the message from the sender's database: SQLite path or postgres:// URL")
    .option('--schema <schema>', 'PostgreSQL schema of the sender tables (default: hooks)')
    .option('--message <id>', 'the msg_ id to replay from --database')
    .option('--timeout <duration>', 'how long to wait for the answer, e.g. 10s', durationOption, 10_000)
    .option('--json', 'print request, response and timing as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ hooks replay capture.http --url http://localhost:3000/webhooks --secret whsec_…
  $ curl -s -H "authorization: …" https://app.example.com/api/webhooks/deliveries/dlv_…/attempts > attempts.json
  $ hooks replay attempts.json --url http://localhost:3000/webhooks --new-id
  $ hooks replay --database ./hooks.db --message msg_01JD… --url http://localhost:3000/webhooks`,
    )
    .action(async (file: string | undefined, options: ReplayOptions) => {
      const secrets = await resolveSecrets(options, 'sign');
      const capture = await readCapture(file, options);
      const target = options.url ?? capture.url;
      if (target === undefined) throw new CliError('usage_error', 'Give the receiver with --url (the capture does not say where it was sent).');
      const url = checkUrl(target);
      let body = capture.body;
      const envelope = parseEnvelope(body);
      let id = capturedId(capture.headers) ?? (typeof envelope?.id === 'string' ? envelope.id : undefined);
      if (options.newId || id === undefined) {
        id = createMessageId();
        // Receivers check that the envelope's id matches the header: change both.
        if (envelope && typeof envelope.id === 'string') body = Buffer.from(JSON.stringify({ ...envelope, id }));
      }
      const type = capture.headers[EVENT_HEADER] ?? (typeof envelope?.type === 'string' ? envelope.type : undefined);
      const profile = options.profile ?? capturedProfile(capture.headers) ?? 'x-webhook';
      const capturedAttempt = Number(capture.headers[ATTEMPT_HEADER]);
      const attempt = options.attempt ?? (Number.isSafeInteger(capturedAttempt) && capturedAttempt >= 1 ? capturedAttempt : 1);
      const kept = Object.fromEntries(Object.entries(capture.headers).filter(([name]) => !DROPPED.has(name) && !name.startsWith('x-forwarded-') && !name.startsWith('proxy-')));
      const signed = await signHeaders({ id, timestamp: new Date(), payload: body, secrets, profile, attempt, ...(type === undefined ? {} : { eventType: type }) });
      const headers = { ...kept, ...parseHeaderLines(options.header ?? [], '--header'), ...signed };
      const result = await deliver(url, headers, body, options.timeout);
      reportDelivery({ url: url.href, type, id, profile, headers, body, secrets }, result, options.json === true, { source: capture.format });
    });
}
