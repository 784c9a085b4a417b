import { fileURLToPath } from 'node:url';

// Workspace packages resolve to their TypeScript sources (no package build needed first):
// Turbopack has no custom export conditions, so the `dev-source` entries are aliased here
// (resolveAlias paths are relative to this directory).
const path = (relative) => fileURLToPath(new URL(relative, import.meta.url));

/** @type {import('next').NextConfig} */
const config = {
  transpilePackages: ['@hooks/core', '@hooks/next', '@hooks/fixture-broadcast-events'],
  // tsc checks these files with the rest of the demo; skipping Next's own type pass keeps the build short.
  typescript: { ignoreBuildErrors: true },
  turbopack: {
    root: path('../../..'),
    resolveAlias: {
      '@hooks/core': '../../../packages/core/src/index.ts',
      '@hooks/next': '../../../packages/next/src/index.ts',
    },
  },
  // `GET /received` is the route's GET: one module instance holds what was received.
  async rewrites() {
    return [{ source: '/received', destination: '/api/webhooks' }];
  },
};

export default config;
