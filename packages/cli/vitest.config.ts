import { defineProject } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared';

export default defineProject({
  ...sharedTestOptions,
  test: {
    ...sharedTestOptions.test,
    name: 'cli',
    // The tests run the built binary: build it once, from the current sources, before any test.
    globalSetup: ['test/global-setup.ts'],
  },
});
