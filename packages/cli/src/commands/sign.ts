import { type Command, Option } from 'commander';
import { createMessageId, signHeaders } from '@hooks/core';
import { readSource } from '../input';
import { printJson, writeOut } from '../io';
import { collect, integerOption, profileOption, timeOption } from '../options';
import { type SecretOptions, resolveSecrets } from '../secrets';

interface SignOptions extends SecretOptions {
  id?: string;
  timestamp?: number;
  profile: 'x-webhook' | 'standard';
  eventType?: string;
  attempt: number;
  json?: boolean;
}

/** Reads `id` and `type` from a body that is a webhook envelope, so its headers agree with it. */
export function envelopeFields(body: Buffer): { id?: string; type?: string } {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { id?: unknown; type?: unknown };
    return {
      ...(typeof parsed.id === 'string' ? { id: parsed.id } : {}),
      ...(typeof parsed.type === 'string' ? { type: parsed.type } : {}),
    };
  } catch {
    return {};
  }
}

/** `hooks sign [FILE]`: prints the webhook headers for a body. */
export function registerSign(program: Command): void {
  program
    .command('sign')
    .summary('sign a body and print the webhook headers')
    .description(
      'Sign a body (FILE, or standard input) and print the headers a sender would send with it. An HMAC secret (whsec_) gives a v1 signature, an Ed25519 key (whsk_) a v1a one; several --secret give several signatures (rotation). The bytes are signed exactly as given: no newline is added or removed.',
    )
    .argument('[file]', 'the body to sign; standard input when absent or "-"')
    .option('-s, --secret <secret>', 'whsec_ secret or whsk_ key; repeat for several (default: $WEBHOOK_SECRET)', collect)
    .option('--secret-file <file>', 'read the secret(s) from a file instead of the command line', collect)
    .option('--id <id>', "message id (default: the body's envelope id, else a new msg_ id)")
    .option('--timestamp <time>', 'signing time: unix seconds or ISO 8601 (default: now)', timeOption)
    .addOption(new Option('-p, --profile <profile>', 'header names: x-webhook (X-Webhook-*) or standard (webhook-*)').argParser(profileOption).default('x-webhook'))
    .option('--event-type <type>', "X-Webhook-Event value (default: the body's envelope type)")
    .option('--attempt <number>', 'X-Webhook-Attempt value', integerOption(1, 1_000_000), 1)
    .option('--json', 'print { id, timestamp, profile, headers } as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ hooks sign body.json --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
  $ echo -n '{"hello":1}' | WEBHOOK_SECRET=whsec_… hooks sign --profile standard --json
  $ hooks sign body.json --secret whsk_… --id msg_1 --timestamp 1614265330`,
    )
    .action(async (file: string | undefined, options: SignOptions) => {
      const secrets = await resolveSecrets(options, 'sign');
      const body = await readSource(file, 'body to sign', 'Example: hooks sign body.json --secret whsec_…');
      const fields = envelopeFields(body);
      const id = options.id ?? fields.id ?? createMessageId();
      const timestamp = Math.floor((options.timestamp ?? Date.now()) / 1000);
      const eventType = options.eventType ?? fields.type;
      const headers = await signHeaders({
        id,
        timestamp,
        payload: body,
        secrets,
        profile: options.profile,
        attempt: options.attempt,
        ...(eventType === undefined ? {} : { eventType }),
      });
      if (options.json) {
        printJson({ id, timestamp, profile: options.profile, headers });
        return;
      }
      writeOut(`${Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}`)
        .join('\n')}\n`);
    });
}
