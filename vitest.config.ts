import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { projects: ['packages/*', 'apps/*', 'tools/docs-check', 'packages/core/vitest.edge.config.ts', 'packages/next/vitest.edge.config.ts', 'packages/hono/vitest.edge.config.ts'] },
});
