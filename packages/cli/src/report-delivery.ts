import { maskSecret } from '@hooks/core';
import { type DeliveryResult, explainResponse } from './deliver';
import { EXIT } from './exit-codes';
import { printJson, writeOut } from './io';

/** What was sent, for the report. */
export interface SentRequest {
  /** Target URL. */
  url: string;
  /** Event type. */
  type: string | undefined;
  /** Message id. */
  id: string;
  /** Header profile used. */
  profile: string;
  /** Every header sent. */
  headers: Record<string, string>;
  /** The body sent. */
  body: Buffer;
  /** Secrets it was signed with (masked when printed). */
  secrets: string[];
}

/** Prints the request and the receiver's answer (status, headers, body, timing) and sets the exit code: 0 for 2xx, 1 otherwise. */
export function reportDelivery(request: SentRequest, result: DeliveryResult, json: boolean, extra: Record<string, unknown> = {}): void {
  const ok = result.status >= 200 && result.status < 300;
  const hint = explainResponse(result);
  if (json) {
    printJson({
      ok,
      ...extra,
      request: { method: 'POST', url: request.url, id: request.id, type: request.type ?? null, profile: request.profile, headers: request.headers, body: request.body.toString('utf8') },
      response: { status: result.status, statusText: result.statusText, headers: result.headers, body: result.body, truncated: result.truncated },
      timing: { totalMs: result.durationMs, headersMs: result.timeToHeadersMs },
      ...(hint ? { hint } : {}),
    });
  } else {
    const lines = [
      `POST ${request.url}`,
      `  id         ${request.id}`,
      ...(request.type ? [`  event      ${request.type}`] : []),
      `  profile    ${request.profile}, signed with ${request.secrets.map((secret) => maskSecret(secret)).join(', ')}`,
      `  body       ${request.body.length} bytes`,
      '',
      `${ok ? 'OK' : 'FAIL'} HTTP ${result.status}${result.statusText ? ` ${result.statusText}` : ''} in ${result.durationMs} ms (headers after ${result.timeToHeadersMs} ms)`,
      ...Object.entries(result.headers).map(([name, value]) => `${name}: ${value}`),
      '',
      `${result.body}${result.truncated ? '\n… (cut)' : ''}`,
    ];
    if (hint) lines.push('', `hint: ${hint}`);
    writeOut(`${lines.join('\n')}\n`);
  }
  process.exitCode = ok ? EXIT.ok : EXIT.failed;
}
