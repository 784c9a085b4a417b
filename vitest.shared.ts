import type { ViteUserConfig } from 'vitest/config';

// Resolve workspace packages to their TypeScript sources so tests never need a build first.
// No `import` here: vitest forwards these to Node's own resolver, where `import` makes require()
// load the ESM build of CJS dependencies (Express's router then breaks). Vite adds it itself.
const conditions = ['dev-source', 'node', 'module', 'default'];

export const sharedTestOptions = {
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['dev-source'] } },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // The JSON report feeds the one-line summary that `pnpm test` prints at the end.
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
} satisfies ViteUserConfig;
