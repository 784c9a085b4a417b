import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { fixtures, runCli, temporaryDirectory } from './support';

const events = join(fixtures, 'events.mjs');

describe('hooks catalog', () => {
  test('prints one JSON Schema document per event, from the schema library (zod) converter', async () => {
    const run = await runCli(['catalog', '--catalog', events]);
    expect(run.code).toBe(0);
    const documents = JSON.parse(run.stdout);
    expect(Object.keys(documents)).toEqual(['registrant.created', 'session.ended', 'note:added']);
    expect(documents['registrant.created']).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'registrant.created',
      description: 'Someone registered for a session.',
      type: 'object',
      properties: { email: { type: 'string', format: 'email' }, sessionId: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
      required: ['email', 'sessionId'],
      examples: [{ email: 'ada@example.com', sessionId: 'ses_01', tags: ['vip'] }],
    });
    expect(documents['session.ended']).toMatchObject({ deprecated: true, properties: { attendees: { type: 'integer', minimum: 0 } } });
    expect(documents['note:added'].examples).toBeUndefined();
  });

  test('--out writes <event>.json files with $id from --base-url; --envelope describes the whole body', async () => {
    const folder = temporaryDirectory();
    try {
      const run = await runCli(['catalog', '-c', events, '--out', folder.path, '--envelope', '--base-url', 'https://example.com/schemas/', '--json']);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ ok: true, out: folder.path, files: ['registrant.created.json', 'session.ended.json', 'note_added.json'] });
      expect(readdirSync(folder.path).sort()).toEqual(['note_added.json', 'registrant.created.json', 'session.ended.json']);
      const document = JSON.parse(readFileSync(join(folder.path, 'registrant.created.json'), 'utf8'));
      expect(document).toMatchObject({
        $id: 'https://example.com/schemas/registrant.created.json',
        type: 'object',
        required: ['id', 'type', 'timestamp', 'data'],
        properties: { type: { const: 'registrant.created' }, data: { type: 'object', required: ['email', 'sessionId'] } },
        examples: [{ type: 'registrant.created', data: { email: 'ada@example.com' } }],
      });
    } finally {
      folder.remove();
    }
  });

  test('draft-07 and the reference format (--format json)', async () => {
    const draft7 = await runCli(['catalog', '-c', events, '--target', 'draft-07']);
    expect(JSON.parse(draft7.stdout)['session.ended'].$schema).toBe('http://json-schema.org/draft-07/schema#');
    const reference = await runCli(['catalog', '-c', join(fixtures, 'events.ts'), '--format', 'json']);
    expect(reference.code).toBe(0);
    expect(JSON.parse(reference.stdout)).toEqual([
      { type: 'invoice.paid', description: 'An invoice was paid.', deprecated: false, schema: expect.objectContaining({ type: 'object' }), example: { number: 'INV-1', amountCents: 1250 } },
    ]);
  });

  test('a schema library without a converter: exit 3, no_json_schema, naming the events', async () => {
    const run = await runCli(['catalog', '-c', join(fixtures, 'no-converter.mjs')]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('error[no_json_schema]: No JSON Schema for thing.happened');
    expect(run.stderr).toContain('jsonSchema');
  });

  test('an unknown format and a missing --catalog are usage errors', async () => {
    expect((await runCli(['catalog', '-c', events, '--format', 'yaml'])).code).toBe(2);
    expect((await runCli(['catalog'])).code).toBe(2);
  });
});
