import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared';

const nodeConditions = ['dev-source', 'node', 'default'];

// This file is the `core` project (Node, node:crypto). Run from this folder, it also pulls in
// `core-edge` (vitest.edge.config.ts), so `npx vitest run` here runs every test in both runtimes;
// the root config lists vitest.edge.config.ts beside `packages/*` for the same effect.
export default defineConfig({
  ...sharedTestOptions,
  // Without the shared `module` condition: @opentelemetry's `module` builds have extension-less
  // imports that only bundlers resolve, and Node would pick them for these external packages.
  resolve: { conditions: nodeConditions },
  ssr: { resolve: { conditions: nodeConditions, externalConditions: ['dev-source'] } },
  test: {
    ...sharedTestOptions.test,
    name: 'core',
    environment: 'node',
    provide: { expectedCryptoBackend: 'node' },
    projects: [{ extends: true }, './vitest.edge.config.ts'],
  },
});
