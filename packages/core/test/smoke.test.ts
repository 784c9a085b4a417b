import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateSecret, signHeaders, verify } from '../src/index';

describe('smoke', () => {
  it('round-trips with standardwebhooks', async () => {
    const secret = generateSecret();
    const payload = JSON.stringify({ type: 'a.b', timestamp: new Date().toISOString(), data: { x: 1 } });
    const headers = await signHeaders({ id: 'msg_1', timestamp: new Date(), payload, secrets: secret, profile: 'standard' });
    expect(new Webhook(secret).verify(payload, headers)).toEqual(JSON.parse(payload));
    const verified = await verify(payload, headers, { secrets: secret });
    expect(verified.id).toBe('msg_1');
  });
});
