import type { ViteUserConfig } from 'vitest/config';

// Resolve workspace packages to their TypeScript sources so tests never need a build first.
const conditions = ['dev-source', 'node', 'import', 'module', 'default'];

export const sharedTestOptions = {
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['dev-source'] } },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
} satisfies ViteUserConfig;
