import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verify } from '@hooks/core';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SenderError } from '../src/errors';
import { createSecretBox, type EncryptionOptions, generateEncryptionKey } from '../src/secret-box';
import { createSender } from '../src/sender';
import { createPostgresStorage } from '../src/storage/postgres';
import { createSqliteStorage } from '../src/storage/sqlite';
import type { Storage } from '../src/storage/types';
import { randomSchema } from './cluster-support';
import { storageTestBed } from './storage-test-bed';
import { broadcastEvents, LOOPBACK_POLICY, recordingLogger, registrantData, startReceiver } from './support';

const { directory, pool, schemas } = storageTestBed('hooks-encryption');

/** Every form a secret could leak in: the text, its base64 body, the raw bytes, hex and base64url. */
function forms(secret: string): Buffer[] {
  const body = secret.replace(/^whsec_/, '');
  const raw = Buffer.from(body, 'base64');
  return [secret, body, raw.toString('hex'), raw.toString('hex').toUpperCase(), raw.toString('base64url')].map((text) => Buffer.from(text, 'utf8')).concat([raw]);
}

function leaks(haystack: Buffer, secrets: string[]): string[] {
  return secrets.filter((secret) => forms(secret).some((form) => haystack.includes(form)));
}

/** Creates endpoints, rotates one, and delivers to a receiver that verifies every signature; returns every secret issued. */
async function exercise(storage: Storage, encryption: EncryptionOptions | undefined): Promise<{ secrets: string[]; verified: number; logs: string }> {
  const secrets: string[] = [];
  let verified = 0;
  const receiver = await startReceiver(async (request) => {
    const ok = await verify(request.body, request.headers, { secrets }).then(
      () => true,
      () => false,
    );
    if (ok) verified++;
    return { status: ok ? 200 : 401 };
  });
  const logger = recordingLogger();
  const sender = createSender({ catalog: broadcastEvents, storage, encryption, logger, urlPolicy: LOOPBACK_POLICY });
  try {
    for (let index = 0; index < 3; index++) secrets.push((await sender.endpoints.create({ tenant: 'acme', url: `${receiver.url}/${index}` })).secret);
    const first = (await sender.endpoints.list({ tenant: 'acme' })).items[0];
    secrets.push((await sender.endpoints.rotateSecret(first?.id as string)).secret);
    expect((await sender.endpoints.getSecrets(first?.id as string)).current).toBe(secrets[3]);
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await sender.drain();
    return { secrets, verified, logs: logger.text() };
  } finally {
    await sender.close();
    await receiver.close();
  }
}

const keys = { k1: generateEncryptionKey() };

describe('secrets encrypted at rest', () => {
  it.each([true, false])('SQLite: no secret in the database file in any form with a key (encrypted: %s)', async (encrypted) => {
    const filename = join(directory, `scan-${encrypted}.db`);
    const storage = createSqliteStorage({ filename });
    const { secrets, verified, logs } = await exercise(storage, encrypted ? { keys, current: 'k1' } : undefined);
    await storage.close();
    // Signed with the decrypted secrets: every receiver verified.
    expect(verified).toBe(3);
    const bytes = Buffer.concat([filename, `${filename}-wal`, `${filename}-shm`].filter((file) => existsSync(file)).map((file) => readFileSync(file)));
    if (encrypted) {
      expect(leaks(bytes, secrets)).toEqual([]);
      const db = new Database(filename, { readonly: true });
      const stored = db.prepare('SELECT secret FROM endpoint_secrets').all() as Array<{ secret: string }>;
      db.close();
      expect(stored).toHaveLength(4);
      for (const row of stored) expect(row.secret).toMatch(/^enc1:k1:[A-Za-z0-9_-]+$/);
    } else {
      // The control: the same scan finds clear-text secrets.
      expect(leaks(bytes, secrets)).toEqual(secrets);
    }
    expect(leaks(Buffer.from(logs), secrets)).toEqual([]);
    expect(logs).not.toContain(keys.k1);
  });

  it.each([true, false])('PostgreSQL: no secret in any table dump with a key (encrypted: %s)', async (encrypted) => {
    const schema = randomSchema('hooks_enc');
    schemas.push(schema);
    const storage = createPostgresStorage({ pool, schema });
    const { secrets, verified } = await exercise(storage, encrypted ? { keys, current: 'k1' } : undefined);
    await storage.close();
    expect(verified).toBe(3);
    const { rows: tables } = await pool.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [schema]);
    expect(tables.length).toBeGreaterThanOrEqual(6);
    let dump = '';
    for (const { table_name: table } of tables) {
      const { rows } = await pool.query(`SELECT t::text AS row FROM "${schema}"."${table}" t`);
      dump += rows.map((row) => row.row).join('\n');
    }
    if (encrypted) {
      expect(leaks(Buffer.from(dump), secrets)).toEqual([]);
      expect(dump).toContain('enc1:k1:');
    } else {
      expect(leaks(Buffer.from(dump), secrets)).toEqual(secrets);
    }
  });

  it('rotates keys: old keys decrypt, the current one encrypts, reencryptSecrets() moves everything, and a missing key fails loudly without showing keys', async () => {
    const filename = join(directory, 'rotation.db');
    const k1 = generateEncryptionKey();
    const k2 = generateEncryptionKey();
    const k3 = generateEncryptionKey();
    const logger = recordingLogger();
    const open = (encryption: EncryptionOptions | undefined) => {
      const storage = createSqliteStorage({ filename });
      return { storage, sender: createSender({ catalog: broadcastEvents, storage, encryption, logger, urlPolicy: LOOPBACK_POLICY}) };
    };
    const storedValues = () => {
      const db = new Database(filename, { readonly: true });
      try {
        return (db.prepare('SELECT endpoint_id, secret FROM endpoint_secrets ORDER BY seq').all() as Array<{ endpoint_id: string; secret: string }>).map((row) => row.secret);
      } finally {
        db.close();
      }
    };
    const received: string[] = [];
    const signed: string[] = [];
    const receiver = await startReceiver(async (request) => {
      received.push(request.id);
      const ok = await verify(request.body, request.headers, { secrets: signed }).then(
        () => true,
        () => false,
      );
      return { status: ok ? 200 : 401 };
    });
    try {
      // 1. Before encryption: a clear-text secret.
      let current = open(undefined);
      const legacy = await current.sender.endpoints.create({ tenant: 'acme', url: `${receiver.url}/legacy` });
      await current.sender.close();
      await current.storage.close();
      // 2. Encryption on with k1: the old value still reads; a new endpoint is encrypted.
      current = open({ keys: { k1 }, current: 'k1' });
      expect((await current.sender.endpoints.getSecrets(legacy.endpoint.id)).current).toBe(legacy.secret);
      const fresh = await current.sender.endpoints.create({ tenant: 'acme', url: `${receiver.url}/fresh` });
      const [legacyStored, freshStored] = storedValues();
      expect(legacyStored).toBe(legacy.secret);
      expect(freshStored).toMatch(/^enc1:k1:/);
      await current.sender.close();
      await current.storage.close();
      // 3. k2 added and current: both read; reencryptSecrets moves both to k2.
      current = open({ keys: { k1, k2 }, current: 'k2' });
      expect((await current.sender.endpoints.getSecrets(fresh.endpoint.id)).current).toBe(fresh.secret);
      expect(await current.sender.reencryptSecrets()).toEqual({ endpoints: 2, secrets: 2, unreadable: 0 });
      expect(await current.sender.reencryptSecrets()).toEqual({ endpoints: 2, secrets: 0, unreadable: 0 });
      expect(storedValues().every((value) => value.startsWith('enc1:k2:'))).toBe(true);
      await current.sender.close();
      await current.storage.close();
      // 4. k1 retired: everything still signs (verified by the receiver).
      current = open({ keys: { k2 }, current: 'k2' });
      signed.push(legacy.secret, fresh.secret);
      await current.sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
      await current.sender.drain();
      expect(received).toHaveLength(2);
      // 200 only for a verified signature.
      expect((await current.sender.deliveries.list({ status: 'succeeded' })).items).toHaveLength(2);
      // A ciphertext moved to another endpoint's row does not open (bound to its endpoint).
      const [legacyValue, freshValue] = storedValues();
      await current.storage.replaceSecret({ endpointId: legacy.endpoint.id, from: legacyValue as string, to: freshValue as string });
      await expect(current.sender.endpoints.getSecrets(legacy.endpoint.id)).rejects.toMatchObject({ code: 'storage_error' });
      await current.storage.replaceSecret({ endpointId: legacy.endpoint.id, from: freshValue as string, to: legacyValue as string });
      await current.sender.close();
      await current.storage.close();
      // 5. The key in use is missing: a typed error naming the key id only; deliveries wait and say why.
      current = open({ keys: { k3 }, current: 'k3' });
      const error = await current.sender.endpoints.getSecrets(fresh.endpoint.id).catch((caught: unknown) => caught);
      expect(SenderError.isInstance(error) && error.code).toBe('storage_error');
      expect((error as Error).message).toContain('"k2"');
      // The re-encryption skips (and counts) what it cannot read instead of stopping.
      expect(await current.sender.reencryptSecrets()).toEqual({ endpoints: 2, secrets: 0, unreadable: 2 });
      await current.sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(2) });
      await current.sender.drain();
      expect(received).toHaveLength(2);
      expect((await current.sender.deliveries.list({ status: 'pending' })).items).toHaveLength(2);
      expect(logger.lines.filter((line) => line.level === 'error').map((line) => line.message)).toEqual([
        expect.stringMatching(/could not be re-encrypted/),
        expect.stringMatching(/could not be re-encrypted/),
        expect.stringMatching(/cannot be decrypted/),
        expect.stringMatching(/cannot be decrypted/),
      ]);
      await current.sender.close();
      await current.storage.close();
    } finally {
      await receiver.close();
    }
    // Neither keys nor secrets are ever logged.
    const everything = logger.text();
    for (const value of [k1, k2, k3, ...signed]) expect(everything).not.toContain(value);
  });

  it.each([
    ['a short key', { keys: { k1: Buffer.alloc(16).toString('base64') }, current: 'k1' }],
    ['a key that is not base64', { keys: { k1: `${'!'.repeat(43)}=` }, current: 'k1' }],
    ['a current id that is not a key', { keys: { k1: generateEncryptionKey() }, current: 'k9' }],
    ['no keys', { keys: {}, current: 'k1' }],
    ['a bad key id', { keys: { 'k 1': generateEncryptionKey() }, current: 'k 1' }],
    ['no keys object', { current: 'k1' }],
    ['a string', 'secret'],
  ])('refuses %s with invalid_option, never showing the key', (_name, encryption) => {
    let error: unknown;
    try {
      createSender({ catalog: broadcastEvents, storage: 'memory', encryption: encryption as unknown as EncryptionOptions, logger: recordingLogger() });
    } catch (caught) {
      error = caught;
    }
    expect(SenderError.isInstance(error) && error.code).toBe('invalid_option');
    const keysGiven = typeof encryption === 'object' && 'keys' in encryption ? Object.values(encryption.keys) : [];
    for (const key of keysGiven) expect(JSON.stringify({ message: (error as Error).message, details: (error as SenderError).details })).not.toContain(String(key));
  });

  it('answers any key text with a working box or invalid_option, never showing the key', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.base64String({ minLength: 40, maxLength: 48 })), (key) => {
        let box: ReturnType<typeof createSecretBox> | undefined;
        try {
          box = createSecretBox({ keys: { k1: key }, current: 'k1' });
        } catch (error) {
          expect(SenderError.isInstance(error) && error.code).toBe('invalid_option');
          if (key.length >= 8) expect((error as Error).message).not.toContain(key);
          return;
        }
        expect(box.open('ep_1', box.seal('ep_1', 'whsec_abc'))).toBe('whsec_abc');
      }),
      { numRuns: 500 },
    );
  });

  it('never opens a damaged stored value into a wrong secret: the right one or storage_error', () => {
    const box = createSecretBox({ keys: { k1: generateEncryptionKey() }, current: 'k1' });
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const sealed = box.seal('ep_1', secret);
    fc.assert(
      fc.property(fc.nat({ max: sealed.length - 1 }), fc.string({ minLength: 1, maxLength: 2 }), (index, replacement) => {
        const damaged = `${sealed.slice(0, index)}${replacement}${sealed.slice(index + 1)}`;
        let opened: string | undefined;
        try {
          opened = box.open('ep_1', damaged);
        } catch (error) {
          expect(SenderError.isInstance(error) && error.code).toBe('storage_error');
          return;
        }
        // Only an edit that decodes to the same bytes (base64 padding bits) may still open.
        expect(opened).toBe(secret);
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts a key as 32 bytes or base64url text', async () => {
    const bytes = new Uint8Array(32).fill(7);
    const sender = createSender({ catalog: broadcastEvents, storage: 'memory', logger: recordingLogger(), encryption: { keys: { a: bytes, b: Buffer.from(bytes).toString('base64url') }, current: 'b' } });
    const { endpoint, secret } = await sender.endpoints.create({ tenant: 'acme', url: 'https://hooks.acme.example/' });
    expect((await sender.endpoints.getSecrets(endpoint.id)).current).toBe(secret);
    expect((await sender.storage.listSecrets(endpoint.id))?.[0]?.secret).toMatch(/^enc1:b:/);
    await sender.close();
  });
});
