import { describe, expect, it } from 'vitest';
import type * as errors from '../src/errors';
import {
  ConfigurationError,
  HooksError,
  PayloadTooLargeError,
  WebhookPayloadError,
  WebhookVerificationError,
} from '../src/index';
import { formatPath } from '../src/internal';

type ErrorsModule = typeof errors;

// A second instance of the errors module, as when two copies of @hooks/core are installed:
// the query string makes Vite load and evaluate the file again, with its own classes.
async function loadSecondCopy(): Promise<ErrorsModule> {
  const path = '../src/errors.ts?copy';
  return (await import(/* @vite-ignore */ path)) as ErrorsModule;
}

describe('errors', () => {
  it.each([
    ['missing_header', 401],
    ['malformed_header', 401],
    ['invalid_signature', 401],
    ['timestamp_too_old', 401],
    ['timestamp_too_new', 401],
  ] as const)('WebhookVerificationError %s has status %i', (code, status) => {
    const error = new WebhookVerificationError(code, 'message');
    expect(error).toMatchObject({ code, status, name: 'WebhookVerificationError', message: 'message' });
    expect(error).toBeInstanceOf(HooksError);
    expect(error).toBeInstanceOf(Error);
  });

  it.each(['invalid_json', 'invalid_payload', 'unknown_event'] as const)('WebhookPayloadError %s has status 400', (code) => {
    expect(new WebhookPayloadError(code, 'message')).toMatchObject({ code, status: 400, name: 'WebhookPayloadError' });
  });

  it('PayloadTooLargeError is payload_too_large with status 413 and the limit', () => {
    const error = new PayloadTooLargeError(1024);
    expect(error).toMatchObject({ code: 'payload_too_large', status: 413, limit: 1024 });
    expect(error.message).toContain('1024');
  });

  it.each(['invalid_secret', 'invalid_option', 'unsupported_key'] as const)('ConfigurationError %s has status 500', (code) => {
    expect(new ConfigurationError(code, 'message')).toMatchObject({ code, status: 500, name: 'ConfigurationError' });
  });

  it('keeps a cause', () => {
    const cause = new Error('inner');
    expect(new WebhookVerificationError('invalid_signature', 'outer', { cause }).cause).toBe(cause);
    expect(new HooksError('x', 'y').cause).toBeUndefined();
  });

  it('serialises to code and message, plus paths for payload errors', () => {
    expect(new WebhookVerificationError('invalid_signature', 'No match.').toJSON()).toEqual({ code: 'invalid_signature', message: 'No match.' });
    const payload = new WebhookPayloadError('invalid_payload', 'Bad.', [
      { path: ['data', 'items', 0, 'id'], message: 'Required' },
      { path: ['data', 'email'], message: 'Invalid email' },
    ]);
    expect(payload.path).toBe('data.items[0].id');
    expect(payload.toJSON()).toEqual({
      code: 'invalid_payload',
      message: 'Bad.',
      path: 'data.items[0].id',
      issues: [
        { path: 'data.items[0].id', message: 'Required' },
        { path: 'data.email', message: 'Invalid email' },
      ],
    });
    expect(new WebhookPayloadError('invalid_json', 'Not JSON.').toJSON()).toEqual({ code: 'invalid_json', message: 'Not JSON.' });
  });

  it('formats paths', () => {
    expect(formatPath([])).toBe('');
    expect(formatPath(['data'])).toBe('data');
    expect(formatPath([0, 'a', 1, 2, 'b'])).toBe('[0].a[1][2].b');
    expect(formatPath(['data', Symbol.for('x')])).toBe('data.Symbol(x)');
  });

  it('isInstance tells the classes apart', () => {
    const all = [
      new HooksError('x', 'y'),
      new WebhookVerificationError('invalid_signature', 'm'),
      new WebhookPayloadError('invalid_json', 'm'),
      new PayloadTooLargeError(1),
      new ConfigurationError('invalid_option', 'm'),
    ];
    const checks = [HooksError, WebhookVerificationError, WebhookPayloadError, PayloadTooLargeError, ConfigurationError];
    for (const [row, error] of all.entries()) {
      expect(HooksError.isInstance(error)).toBe(true);
      for (const [column, check] of checks.entries()) {
        if (column === 0) continue;
        expect(check.isInstance(error), `${check.name}.isInstance(${error.name})`).toBe(row === column);
      }
    }
    for (const other of [new Error('x'), { code: 'invalid_signature', status: 401 }, null, undefined, 'string', 42]) {
      for (const check of checks) expect(check.isInstance(other)).toBe(false);
    }
  });

  it('isInstance matches errors made by a second copy of the package, where instanceof does not', async () => {
    const copy = await loadSecondCopy();
    // Really a separate module instance.
    expect(copy.WebhookVerificationError).not.toBe(WebhookVerificationError);
    const pairs: Array<[Error, (error: unknown) => boolean, new (...args: never[]) => Error]> = [
      [new copy.WebhookVerificationError('invalid_signature', 'm'), WebhookVerificationError.isInstance, WebhookVerificationError],
      [new copy.WebhookPayloadError('invalid_payload', 'm'), WebhookPayloadError.isInstance, WebhookPayloadError],
      [new copy.PayloadTooLargeError(10), PayloadTooLargeError.isInstance, PayloadTooLargeError],
      [new copy.ConfigurationError('invalid_secret', 'm'), ConfigurationError.isInstance, ConfigurationError],
    ];
    for (const [foreign, isInstance, ours] of pairs) {
      expect(foreign instanceof ours).toBe(false);
      expect(foreign instanceof HooksError).toBe(false);
      expect(isInstance(foreign)).toBe(true);
      expect(HooksError.isInstance(foreign)).toBe(true);
    }
    // And the other way round.
    const ours = new WebhookVerificationError('timestamp_too_old', 'm');
    expect(copy.WebhookVerificationError.isInstance(ours)).toBe(true);
    expect(copy.WebhookPayloadError.isInstance(ours)).toBe(false);
  });
});
