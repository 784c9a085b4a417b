// Code shown in the "verify these webhooks" panel. The Python function is the one of
// docs/verify-other-languages.md, which the repository's docs check runs against real signatures.

/** Header names of each signature profile. */
export const PROFILE_HEADER_NAMES = {
  'x-webhook': { id: 'X-Webhook-Id', timestamp: 'X-Webhook-Timestamp', signature: 'X-Webhook-Signature' },
  standard: { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' },
} as const;

/** Express receiver with `@hooks/express` for the given event types. */
export function nodeSnippet(types: readonly string[]): string {
  const entries = types.map((type) => `  '${type.replace(/[^A-Za-z0-9._-]/g, '')}': { schema: z.looseObject({}) },`).join('\n');
  return `// npm install @hooks/express @hooks/core express zod
import { defineEvents } from '@hooks/core';
import { webhooks } from '@hooks/express';
import express from 'express';
import { z } from 'zod';

// The events you receive (the event catalog has their JSON Schema).
const events = defineEvents({
${entries}
});

const app = express();
// Before any express.json(): the signature covers the raw body.
app.post(
  '/webhooks',
  webhooks({ catalog: events, secrets: process.env.WEBHOOK_SECRET }).onAny(async (event) => {
    console.log(event.type, event.id, event.data);
  }),
);
app.listen(3000);`;
}

/** Standard-library Python verification. */
export function pythonSnippet(): string {
  return `import base64
import binascii
import hashlib
import hmac
import time


def verify_webhook(raw_body: bytes, headers: dict, secret: str, tolerance: int = 300) -> bool:
    msg_id = headers.get("x-webhook-id") or headers.get("webhook-id")
    timestamp = headers.get("x-webhook-timestamp") or headers.get("webhook-timestamp")
    signatures = headers.get("x-webhook-signature") or headers.get("webhook-signature")
    if not msg_id or not signatures or not timestamp or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    try:
        key = base64.b64decode(secret[6:] if secret.startswith("whsec_") else secret, validate=True)
    except (binascii.Error, ValueError):
        return False
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + raw_body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for entry in signatures.split(" "):
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False`;
}
