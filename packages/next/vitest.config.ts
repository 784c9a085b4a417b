import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared';

// This file is the `next` project (Node: real servers on loopback). Run from this folder, it also
// pulls in `next-edge` (vitest.edge.config.ts); the root config lists that file beside `packages/*`.
export default defineConfig({
  ...sharedTestOptions,
  test: {
    ...sharedTestOptions.test,
    name: 'next',
    exclude: ['test/**/*.edge.test.ts', '**/node_modules/**'],
    projects: [{ extends: true }, './vitest.edge.config.ts'],
  },
});
