import { createMemoryStorage } from '../src/storage/memory';
import { describeStorageConformance } from './conformance/storage-conformance';

describeStorageConformance('memory', async () => createMemoryStorage());
