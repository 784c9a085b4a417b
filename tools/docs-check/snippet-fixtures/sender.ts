// The sender the guides import as `./sender.js`: the README's catalog on a memory storage.
import { createSender } from '@hooks/sender';
import { events } from './events.js';

export const sender = createSender({ catalog: events, storage: 'memory' });
