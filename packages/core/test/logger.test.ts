import { afterEach, describe, expect, it, vi } from 'vitest';
import { createConsoleLogger, silentLogger } from '../src/index';

describe('createConsoleLogger', () => {
  afterEach(() => vi.restoreAllMocks());

  it('drops info and prefixes warn and error with the name, passing fields through', () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const logger = createConsoleLogger('@hooks/test');
    logger.info('started');
    logger.warn('careful');
    logger.error('failed', { id: 'msg_1' });
    expect(info).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledWith('[@hooks/test] careful');
    expect(error).toHaveBeenCalledWith('[@hooks/test] failed', { id: 'msg_1' });
  });

  it('silentLogger writes nothing', () => {
    const spies = (['info', 'log', 'warn', 'error'] as const).map((method) => vi.spyOn(console, method).mockImplementation(() => {}));
    silentLogger.info('a');
    silentLogger.warn('b');
    silentLogger.error('c');
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });
});
