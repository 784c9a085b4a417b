import { defineProject } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared';

export default defineProject({
  ...sharedTestOptions,
  test: { ...sharedTestOptions.test, name: 'docs-check', testTimeout: 120_000 },
});
