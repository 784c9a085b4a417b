import { defineProject } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared';

export default defineProject({
  ...sharedTestOptions,
  // The browser tests start a sender, receivers and Chromium; files run one at a time so they do
  // not compete for the two cores.
  test: { ...sharedTestOptions.test, name: 'portal', testTimeout: 60_000, fileParallelism: false },
});
