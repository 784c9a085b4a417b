import { defineProject } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared';

export default defineProject({
  ...sharedTestOptions,
  // The browser test drives the whole demo (about 40 s on a busy machine); files run one at a
  // time so the demos they start do not compete for the CPU.
  test: { ...sharedTestOptions.test, name: 'demo', testTimeout: 60_000, fileParallelism: false },
});
