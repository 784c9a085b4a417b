import { afterEach, describe, expect, it } from 'vitest';
import type { AdminSender } from '../src/admin/index';
import { SenderError } from '../src/errors';
import { createSqliteStorage } from '../src/storage/sqlite';
import { createClock, makeSender } from './support';

describe('endpoints', () => {
  let sender = makeSender();
  afterEach(async () => {
    await sender.close();
  });

  it('creates an endpoint with a secret that only explicit calls reveal', async () => {
    sender = makeSender();
    const { endpoint, secret } = await sender.endpoints.create({ tenant: 'acme', url: 'https://hooks.acme.example/in', name: 'Main', events: ['registrant.created'], headers: { 'X-Team': 'growth' }, metadata: { plan: 'pro' } });
    expect(secret).toMatch(/^whsec_/);
    expect(endpoint).toMatchObject({ tenant: 'acme', url: 'https://hooks.acme.example/in', name: 'Main', events: ['registrant.created'], headers: { 'x-team': 'growth' }, profile: 'x-webhook', enabled: true, consecutiveFailures: 0, fifo: false, rateLimit: null });
    expect(endpoint.createdAt).toBeInstanceOf(Date);
    const everything = JSON.stringify([endpoint, await sender.endpoints.get(endpoint.id), await sender.endpoints.list({ tenant: 'acme' })]);
    expect(everything).not.toContain(secret);
    expect(await sender.endpoints.getSecrets(endpoint.id)).toEqual({ current: secret, previous: [] });
  });

  it('checks URLs with the URL policy', async () => {
    sender = makeSender({ urlPolicy: {} });
    await expect(sender.endpoints.create({ tenant: 'acme', url: 'not a url' })).rejects.toMatchObject({ code: 'invalid_url' });
    await expect(sender.endpoints.create({ tenant: 'acme', url: 'http://hooks.acme.example/' })).rejects.toMatchObject({ code: 'insecure_url' });
    await expect(sender.endpoints.create({ tenant: 'acme', url: 'https://127.0.0.1/x' })).rejects.toMatchObject({ code: 'blocked_address' });
    await expect(sender.endpoints.create({ tenant: 'acme', url: 'https://[::ffff:169.254.169.254]/latest' })).rejects.toMatchObject({ code: 'blocked_address' });
    const { endpoint } = await sender.endpoints.create({ tenant: 'acme', url: 'https://hooks.acme.example/' });
    await expect(sender.endpoints.update(endpoint.id, { url: 'https://10.0.0.8/' })).rejects.toMatchObject({ code: 'blocked_address' });
    expect((await sender.endpoints.get(endpoint.id)).url).toBe('https://hooks.acme.example/');
    expect((await sender.endpoints.list()).items).toHaveLength(1);
  });

  it('refuses URLs the parser would silently rewrite, saying why, and returns the normalised URL it stores', async () => {
    sender = makeSender({ urlPolicy: {} });
    const refused: Array<[string, string]> = [
      ['https:///hooks', 'missing_host'],
      ['https:hooks.acme.example/in', 'missing_slashes'],
      ['https://hooks.acme.example/in\r\nX-Injected: 1', 'control_character'],
      ['https://hooks.acme.\texample/', 'control_character'],
      [' https://hooks.acme.example/', 'whitespace'],
      ['https://hooks.acme.example\\in', 'backslash'],
      ['https://@hooks.acme.example/', 'credentials'],
    ];
    for (const [url, reason] of refused) {
      await expect(sender.endpoints.create({ tenant: 'acme', url })).rejects.toMatchObject({ code: 'invalid_url', status: 400, details: { field: 'url', reason } });
    }
    expect((await sender.endpoints.list()).items).toEqual([]);
    const { endpoint } = await sender.endpoints.create({ tenant: 'acme', url: 'HTTPS://Hooks.ACME.example:443/a/../in?x=1' });
    expect(endpoint.url).toBe('https://hooks.acme.example/in?x=1');
    expect((await sender.endpoints.get(endpoint.id)).url).toBe('https://hooks.acme.example/in?x=1');
    await expect(sender.endpoints.update(endpoint.id, { url: 'https:///other' })).rejects.toMatchObject({ code: 'invalid_url', details: { reason: 'missing_host' } });
    expect((await sender.endpoints.update(endpoint.id, { url: 'https://Other.example' })).url).toBe('https://other.example/');
  });

  it('answers bad fields with typed errors and writes nothing', async () => {
    sender = makeSender();
    const base = { tenant: 'acme', url: 'https://hooks.acme.example/' };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ tenant: '' }, 'invalid_input'],
      [{ events: ['nope.event'] }, 'unknown_event'],
      [{ events: 'registrant.created' }, 'invalid_input'],
      [{ headers: { 'content-type': 'text/plain' } }, 'invalid_input'],
      [{ headers: { 'X-Webhook-Signature': 'forged' } }, 'invalid_input'],
      [{ headers: { 'x-ok': 'line\r\nbreak' } }, 'invalid_input'],
      [{ headers: { 'bad name': 'x' } }, 'invalid_input'],
      [{ profile: 'svix' }, 'invalid_input'],
      [{ rateLimit: 0 }, 'invalid_input'],
      [{ rateLimit: Number.NaN }, 'invalid_input'],
      [{ metadata: [] }, 'invalid_input'],
      [{ metadata: { big: 'x'.repeat(20_000) } }, 'invalid_input'],
      [{ fifo: 'yes' }, 'invalid_input'],
      [{ url: 42 }, 'invalid_url'],
    ];
    for (const [patch, code] of cases) {
      const error = await sender.endpoints.create({ ...base, ...patch } as never).catch((caught: unknown) => caught);
      expect(SenderError.isInstance(error), JSON.stringify(patch).slice(0, 80)).toBe(true);
      expect((error as SenderError).code, JSON.stringify(patch).slice(0, 80)).toBe(code);
    }
    expect((await sender.endpoints.list()).items).toEqual([]);
  });

  it('updates, lists with pagination, enables, disables and deletes', async () => {
    const clock = createClock();
    sender = makeSender({ now: clock.now });
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) ids.push((await sender.endpoints.create({ tenant: 'acme', url: `https://hooks.acme.example/${index}` })).endpoint.id);
    await sender.endpoints.create({ tenant: 'other', url: 'https://other.example/' });
    const first = await sender.endpoints.list({ tenant: 'acme', limit: 2 });
    const second = await sender.endpoints.list({ tenant: 'acme', limit: 2, cursor: first.nextCursor ?? undefined });
    const third = await sender.endpoints.list({ tenant: 'acme', limit: 2, cursor: second.nextCursor ?? undefined });
    expect([...first.items, ...second.items, ...third.items].map((endpoint) => endpoint.id)).toEqual(ids);
    expect(third.nextCursor).toBeNull();
    await expect(sender.endpoints.list({ cursor: 'garbage' })).rejects.toMatchObject({ code: 'invalid_input' });

    clock.advance(1000);
    const updated = await sender.endpoints.update(ids[0] as string, { name: 'Renamed', events: ['session.started'], rateLimit: 5, fifo: true, profile: 'standard' });
    expect(updated).toMatchObject({ name: 'Renamed', events: ['session.started'], rateLimit: 5, fifo: true, profile: 'standard' });
    expect(updated.updatedAt.getTime()).toBe(clock.now());
    expect(await sender.endpoints.disable(ids[0] as string, 'customer asked')).toMatchObject({ enabled: false, disabledReason: 'customer asked' });
    expect(await sender.endpoints.enable(ids[0] as string)).toMatchObject({ enabled: true, disabledReason: null, consecutiveFailures: 0 });
    await sender.endpoints.delete(ids[0] as string);
    await expect(sender.endpoints.get(ids[0] as string)).rejects.toMatchObject({ code: 'endpoint_not_found', status: 404 });
    await expect(sender.endpoints.delete(ids[0] as string)).rejects.toMatchObject({ code: 'endpoint_not_found' });
    await expect(sender.endpoints.update('ep_missing', { name: 'x' })).rejects.toMatchObject({ code: 'endpoint_not_found' });
  });

  it('rotates secrets keeping the previous one for the overlap', async () => {
    const clock = createClock();
    sender = makeSender({ now: clock.now, secretOverlapMs: 60_000 });
    const { endpoint, secret: first } = await sender.endpoints.create({ tenant: 'acme', url: 'https://hooks.acme.example/' });
    const { secret: second } = await sender.endpoints.rotateSecret(endpoint.id);
    expect(second).not.toBe(first);
    expect(await sender.endpoints.getSecrets(endpoint.id)).toEqual({ current: second, previous: [{ secret: first, expiresAt: new Date(clock.now() + 60_000) }] });
    clock.advance(60_000);
    expect(await sender.endpoints.getSecrets(endpoint.id)).toEqual({ current: second, previous: [] });
    const { secret: third } = await sender.endpoints.rotateSecret(endpoint.id, { overlapMs: 0 });
    expect((await sender.endpoints.getSecrets(endpoint.id)).current).toBe(third);
    await expect(sender.endpoints.rotateSecret(endpoint.id, { overlapMs: -1 })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(sender.endpoints.rotateSecret('ep_missing')).rejects.toMatchObject({ code: 'endpoint_not_found' });
  });

  it('answers concurrent rotate, update and delete with typed errors and leaves nothing half-written (SQLite)', async () => {
    sender = makeSender({ storage: createSqliteStorage({ filename: ':memory:' }) });
    for (let round = 0; round < 10; round++) {
      const { endpoint } = await sender.endpoints.create({ tenant: 'acme', url: 'https://hooks.acme.example/' });
      const results = await Promise.allSettled([
        sender.endpoints.rotateSecret(endpoint.id),
        sender.endpoints.update(endpoint.id, { name: `round ${round}` }),
        sender.endpoints.delete(endpoint.id),
        sender.endpoints.rotateSecret(endpoint.id),
        sender.endpoints.update(endpoint.id, { url: 'https://second.acme.example/' }),
      ]);
      for (const result of results) {
        if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'endpoint_not_found' });
      }
      expect(results[2]?.status).toBe('fulfilled');
      await expect(sender.endpoints.get(endpoint.id)).rejects.toMatchObject({ code: 'endpoint_not_found' });
      expect(await sender.storage.listSecrets(endpoint.id)).toBeUndefined();
    }
    expect((await sender.endpoints.list()).items).toEqual([]);
  });

  it('fits the admin API contract', () => {
    sender = makeSender();
    const admin: AdminSender = sender;
    expect(typeof admin.endpoints.create).toBe('function');
  });
});
