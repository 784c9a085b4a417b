import { type Command, Option } from 'commander';
import { type CapturedRequest, parseCapture, parseHeaderLines } from '../capture';
import { type Diagnosis, diagnose } from '../diagnose';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { readFileBytes, readSource } from '../input';
import { printJson, writeOut } from '../io';
import { collect, integerOption, profileOption, timeOption } from '../options';
import { type SecretOptions, resolveSecrets } from '../secrets';

interface VerifyOptions extends SecretOptions {
  body?: string;
  headers?: string;
  header?: string[];
  tolerance?: number;
  now?: number;
  profile?: 'x-webhook' | 'standard';
  json?: boolean;
}

const CAPTURE_HINT = 'Example: hooks verify capture.http --secret whsec_… (a raw HTTP request, or JSON { "headers": {…}, "body": "…" })';

async function readHeadersFile(path: string): Promise<Record<string, string>> {
  const bytes = await readFileBytes(path, 'headers file');
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trimStart().startsWith('{') || text.trimStart().startsWith('[')) {
    const parsed = parseCapture(Buffer.from(JSON.stringify({ headers: JSON.parse(text), body: '' })));
    return parsed.headers;
  }
  // A header block, possibly with the request line in front (curl -v, a proxy log).
  const lines = text.split(/\r?\n/);
  if (/^[A-Z]+ \S+ HTTP\//.test(lines[0] ?? '')) lines.shift();
  return parseHeaderLines(lines, `The headers file "${path}"`);
}

/** Gathers the request from a capture file, separate header and body files, `-H` options and standard input. */
async function readRequest(file: string | undefined, options: VerifyOptions): Promise<CapturedRequest> {
  const separateHeaders = options.headers !== undefined || (options.header?.length ?? 0) > 0;
  let request: CapturedRequest;
  if (file !== undefined || (!separateHeaders && options.body === undefined)) {
    request = parseCapture(await readSource(file, 'captured request', CAPTURE_HINT));
  } else {
    request = { headers: {}, body: Buffer.alloc(0), bodyWasParsed: false, format: 'http' };
    if (options.body === undefined) request.body = await readSource(undefined, 'request body', 'Give the body with --body FILE or on standard input.');
  }
  if (options.body !== undefined) request.body = await readFileBytes(options.body, 'body file');
  if (options.headers !== undefined) Object.assign(request.headers, await readHeadersFile(options.headers));
  if (options.header) Object.assign(request.headers, parseHeaderLines(options.header, '--header'));
  return request;
}

function printDiagnosis(result: Diagnosis): void {
  const lines: string[] = [];
  lines.push(result.ok ? `OK ${result.message}` : `FAIL ${result.code} (${result.reason}): ${result.message}`);
  for (const hint of result.hints) lines.push(`  hint: ${hint}`);
  const d = result.details;
  const rows: Array<[string, string | undefined]> = [
    ['id', d.id],
    ['timestamp', d.timestamp === undefined ? undefined : `${d.timestamp} (${d.signedAt}, clock skew ${d.skewSeconds} s, tolerance ${d.toleranceSeconds} s)`],
    ['profile', d.profile],
    ['signatures', d.signatures.length > 0 ? d.signatures.map((entry) => `${entry.version} x${entry.count}`).join(', ') : undefined],
    ['secrets', d.secrets.join(', ')],
    ['signature', d.signatureValid === undefined ? undefined : d.signatureValid ? 'valid' : 'no match'],
  ];
  for (const [name, value] of rows) if (value !== undefined) lines.push(`  ${name.padEnd(10)} ${value}`);
  writeOut(`${lines.join('\n')}\n`);
}

/** `hooks verify [CAPTURE]`: verifies a captured request and says exactly why it fails. */
export function registerVerify(program: Command): void {
  program
    .command('verify')
    .summary('verify a captured request and explain why it fails')
    .description(
      'Verify a captured webhook request with @hooks/core and, when it fails, find out why: a missing header or mixed header profiles, a stale timestamp (with the skew, and whether the signature is right otherwise), a body changed after signing (trailing newline, BOM, re-serialised JSON, CRLF, charset), the wrong kind of key, or the wrong secret. Exit code 0 when it verifies, 1 when it does not.',
    )
    .argument('[capture]', 'a raw HTTP request, JSON { headers, body | bodyBase64 }, a HAR entry, or an attempt exported from the admin API; standard input when absent')
    .option('-s, --secret <secret>', 'whsec_ secret or whpk_ public key; repeat for several (default: $WEBHOOK_SECRET)', collect)
    .option('--secret-file <file>', 'read the secret(s) from a file', collect)
    .option('--body <file>', 'the body bytes, when headers come separately')
    .option('--headers <file>', 'a file of "Name: value" lines or a JSON object of headers')
    .option('-H, --header <line>', 'one header, "Name: value"; repeatable', collect)
    .option('--tolerance <seconds>', 'accepted clock distance', integerOption(0, 10 * 365 * 86_400), 300)
    .option('--now <time>', 'verify as of this time (unix seconds or ISO 8601), e.g. when the capture was made', timeOption)
    .addOption(new Option('-p, --profile <profile>', 'the header profile your receiver reads; a request in the other one is reported').argParser(profileOption))
    .option('--json', 'print the diagnosis as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ hooks verify capture.http --secret whsec_…
  $ hooks verify --headers headers.txt --body body.json --secret whsec_…
  $ hooks verify -H 'webhook-id: msg_1' -H 'webhook-timestamp: 1614265330' -H 'webhook-signature: v1,…' --body body.json --now 1614265330`,
    )
    .action(async (file: string | undefined, options: VerifyOptions) => {
      const secrets = await resolveSecrets(options, 'verify');
      const request = await readRequest(file, options);
      if (Object.keys(request.headers).length === 0 && request.format !== 'http') {
        throw new CliError('malformed_capture', 'The input has no headers to verify: give a capture with headers, or --headers / -H with --body.');
      }
      const result = await diagnose({
        body: request.body,
        headers: request.headers,
        secrets,
        toleranceSeconds: options.tolerance,
        now: options.now,
        expectedProfile: options.profile,
        bodyWasParsed: request.bodyWasParsed,
      });
      if (options.json) printJson(result);
      else printDiagnosis(result);
      process.exitCode = result.ok ? EXIT.ok : EXIT.failed;
    });
}
