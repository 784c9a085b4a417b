import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared';

// This file is the `core` project (Node, node:crypto). Run from this folder, it also pulls in
// `core-edge` (vitest.edge.config.ts), so `npx vitest run` here runs every test in both runtimes;
// the root config lists vitest.edge.config.ts beside `packages/*` for the same effect.
export default defineConfig({
  ...sharedTestOptions,
  test: {
    ...sharedTestOptions.test,
    name: 'core',
    environment: 'node',
    provide: { expectedCryptoBackend: 'node' },
    projects: [{ extends: true }, './vitest.edge.config.ts'],
  },
});
