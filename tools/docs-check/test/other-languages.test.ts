import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createMessageId, generateKeyPair, generateSecret, signHeaders } from '@hooks/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeBlocks } from './markdown';

const run = promisify(execFile);
const page = 'verify-other-languages.md';

/** One webhook handed to a snippet, and whether it must verify. */
interface Case {
  name: string;
  body: Uint8Array;
  headers: Record<string, string>;
  secret: string;
  tolerance: number;
  expected: boolean;
}

const lowerCase = (headers: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
const encoder = new TextEncoder();

async function buildCases(): Promise<Case[]> {
  const secret = generateSecret();
  const next = generateSecret();
  const now = Math.floor(Date.now() / 1000);
  const body = '{"id":"msg_x","type":"registrant.created","timestamp":"2026-11-23T10:00:00.000Z","data":{"email":"ada@example.com"}}';
  const sign = async (options: { payload?: string | Uint8Array; secrets?: string | string[]; timestamp?: number; profile?: 'x-webhook' | 'standard'; id?: string } = {}) =>
    lowerCase(
      await signHeaders({
        id: options.id ?? createMessageId(),
        timestamp: options.timestamp ?? now,
        payload: options.payload ?? body,
        secrets: options.secrets ?? secret,
        profile: options.profile ?? 'x-webhook',
        attempt: 1,
        eventType: 'registrant.created',
      }),
    );
  const fresh = await sign();
  const signatureValue = (fresh['x-webhook-signature'] ?? '').split(',')[1] ?? '';
  const rawBytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('{"note":"héllo 🌍"}'), 0xff, 0xfe]);
  const keys = await generateKeyPair();
  const reference = {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    headers: { 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': '1614265330', 'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' },
  };
  const forever = 100_000_000_000;
  const pretty = JSON.stringify(JSON.parse(body), null, 2);
  return [
    { name: 'a fresh X-Webhook-* webhook', body: encoder.encode(body), headers: fresh, secret, tolerance: 300, expected: true },
    { name: 'the standard header profile', body: encoder.encode(body), headers: await sign({ profile: 'standard' }), secret, tolerance: 300, expected: true },
    { name: 'a rotation, verified with the new secret', body: encoder.encode(body), headers: await sign({ secrets: [next, secret] }), secret: next, tolerance: 300, expected: true },
    { name: 'a rotation, verified with the old secret', body: encoder.encode(body), headers: await sign({ secrets: [next, secret] }), secret, tolerance: 300, expected: true },
    { name: 'a timestamp 200 s old', body: encoder.encode(body), headers: await sign({ timestamp: now - 200 }), secret, tolerance: 300, expected: true },
    { name: 'raw bytes: a BOM, non-ASCII text and invalid UTF-8', body: rawBytes, headers: await sign({ payload: rawBytes }), secret, tolerance: 300, expected: true },
    { name: 'garbage entries before the valid signature', body: encoder.encode(body), headers: { ...fresh, 'x-webhook-signature': `v2,abc v1,${'A'.repeat(44)} v1, ${fresh['x-webhook-signature']}` }, secret, tolerance: 300, expected: true },
    { name: 'the Standard Webhooks vector', body: encoder.encode('{"test": 2432232314}'), headers: reference.headers, secret: reference.secret, tolerance: forever, expected: true },
    { name: 'the vector with its body changed', body: encoder.encode('{"test": 2432232315}'), headers: reference.headers, secret: reference.secret, tolerance: forever, expected: false },
    { name: 'a wrong secret', body: encoder.encode(body), headers: fresh, secret: generateSecret(), tolerance: 300, expected: false },
    { name: 'a body with one more byte', body: encoder.encode(`${body}\n`), headers: fresh, secret, tolerance: 300, expected: false },
    { name: 'a re-serialised body', body: encoder.encode(pretty), headers: fresh, secret, tolerance: 300, expected: false },
    { name: 'a timestamp 10 minutes old (replay)', body: encoder.encode(body), headers: await sign({ timestamp: now - 600 }), secret, tolerance: 300, expected: false },
    { name: 'a timestamp 10 minutes ahead', body: encoder.encode(body), headers: await sign({ timestamp: now + 600 }), secret, tolerance: 300, expected: false },
    { name: 'no signature header', body: encoder.encode(body), headers: { 'x-webhook-id': fresh['x-webhook-id'] ?? '', 'x-webhook-timestamp': String(now) }, secret, tolerance: 300, expected: false },
    { name: 'no id header', body: encoder.encode(body), headers: { 'x-webhook-timestamp': String(now), 'x-webhook-signature': fresh['x-webhook-signature'] ?? '' }, secret, tolerance: 300, expected: false },
    { name: 'a timestamp that is not a number', body: encoder.encode(body), headers: { ...fresh, 'x-webhook-timestamp': `${now}.5` }, secret, tolerance: 300, expected: false },
    { name: 'the right value under an unknown version', body: encoder.encode(body), headers: { ...fresh, 'x-webhook-signature': `v2,${signatureValue}` }, secret, tolerance: 300, expected: false },
    { name: 'a secret that is not base64', body: encoder.encode(body), headers: fresh, secret: 'whsec_!!!not-base64!!!', tolerance: 300, expected: false },
    { name: 'only an Ed25519 (v1a) signature', body: encoder.encode(body), headers: await sign({ secrets: keys.secretKey }), secret, tolerance: 300, expected: false },
  ];
}

/** How to run one language's snippet over the cases file: write the files, return the command. */
interface Runner {
  language: string;
  binary: string;
  prepare(directory: string, snippet: string, casesFile: string): { command: string; args: string[] };
}

const runners: Runner[] = [
  {
    language: 'python',
    binary: 'python3',
    prepare(directory, snippet, casesFile) {
      const driver = `${snippet}\n\nimport json as _json, sys as _sys\n_cases = _json.load(open(_sys.argv[1]))\nprint(_json.dumps([verify_webhook(base64.b64decode(c["body"]), c["headers"], c["secret"], c["tolerance"]) for c in _cases]))\n`;
      writeFileSync(join(directory, 'verify.py'), driver);
      return { command: 'python3', args: [join(directory, 'verify.py'), casesFile] };
    },
  },
  {
    language: 'go',
    binary: 'go',
    prepare(directory, snippet, casesFile) {
      writeFileSync(join(directory, 'verify.go'), snippet.replace(/^package \w+/m, 'package main'));
      writeFileSync(
        join(directory, 'main.go'),
        `package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
)

type testCase struct {
	Body      string            \`json:"body"\`
	Headers   map[string]string \`json:"headers"\`
	Secret    string            \`json:"secret"\`
	Tolerance int64             \`json:"tolerance"\`
}

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var cases []testCase
	if err := json.Unmarshal(data, &cases); err != nil {
		panic(err)
	}
	results := make([]bool, len(cases))
	for i, c := range cases {
		body, _ := base64.StdEncoding.DecodeString(c.Body)
		results[i] = VerifyWebhook(body, c.Headers, c.Secret, c.Tolerance)
	}
	out, _ := json.Marshal(results)
	fmt.Println(string(out))
}
`,
      );
      return { command: 'go', args: ['run', join(directory, 'verify.go'), join(directory, 'main.go'), casesFile] };
    },
  },
  {
    language: 'ruby',
    binary: 'ruby',
    prepare(directory, snippet, casesFile) {
      const driver = `${snippet}\n\nrequire "json"\ncases = JSON.parse(File.read(ARGV[0]))\nputs JSON.generate(cases.map { |c| verify_webhook(Base64.strict_decode64(c["body"]), c["headers"], c["secret"], c["tolerance"]) })\n`;
      writeFileSync(join(directory, 'verify.rb'), driver);
      return { command: 'ruby', args: [join(directory, 'verify.rb'), casesFile] };
    },
  },
  {
    language: 'php',
    binary: 'php',
    prepare(directory, snippet, casesFile) {
      writeFileSync(join(directory, 'verify.php'), snippet);
      writeFileSync(
        join(directory, 'main.php'),
        `<?php
require $argv[1];
$cases = json_decode(file_get_contents($argv[2]), true);
$results = [];
foreach ($cases as $case) {
    $results[] = verify_webhook(base64_decode($case['body']), $case['headers'], $case['secret'], $case['tolerance']);
}
echo json_encode($results), "\\n";
`,
      );
      return { command: 'php', args: [join(directory, 'main.php'), join(directory, 'verify.php'), casesFile] };
    },
  },
];

describe(`docs/${page}: each language's snippet verifies real webhooks`, () => {
  let directory: string;
  let cases: Case[];
  let casesFile: string;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'hooks-docs-languages-'));
    cases = await buildCases();
    casesFile = join(directory, 'cases.json');
    writeFileSync(casesFile, JSON.stringify(cases.map((entry) => ({ ...entry, body: Buffer.from(entry.body).toString('base64') }))));
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('has exactly one snippet per language', () => {
    const languages = codeBlocks(page).map((block) => block.language);
    for (const runner of runners) expect(languages.filter((language) => language === runner.language)).toHaveLength(1);
  });

  for (const runner of runners) {
    // The guide asks for a check wherever the runtime exists; CI (.ci/run) installs all four, so
    // there a missing runtime is a failure, never a silent skip.
    const available = spawnSync(runner.binary, ['--version'], { stdio: 'ignore' }).error === undefined;
    it.skipIf(!available && !process.env.CI)(`${runner.language}: accepts authentic webhooks and refuses every tampered one`, async () => {
      const block = codeBlocks(page).find((entry) => entry.language === runner.language);
      expect(block, `a \`\`\`${runner.language} block in ${page}`).toBeDefined();
      const languageDirectory = join(directory, runner.language);
      await import('node:fs/promises').then((fs) => fs.mkdir(languageDirectory, { recursive: true }));
      const { command, args } = runner.prepare(languageDirectory, block?.code ?? '', casesFile);
      const { stdout } = await run(command, args, { env: { ...process.env, GOCACHE: join(directory, 'go-cache'), GOFLAGS: '-mod=mod' }, timeout: 100_000 });
      const results = JSON.parse(stdout.trim().split('\n').pop() ?? 'null') as boolean[];
      expect(Object.fromEntries(cases.map((entry, index) => [entry.name, results[index]]))).toEqual(Object.fromEntries(cases.map((entry) => [entry.name, entry.expected])));
    });
  }
});
