import { fileURLToPath } from 'node:url';

// Workspace packages resolve to their TypeScript sources (no build needed before the tests):
// Turbopack has no custom export conditions, so the `dev-source` entries are aliased here.
// Core's `#crypto` import still resolves through its package.json `imports` conditions:
// (resolveAlias paths are relative to this directory.)
// `edge-light` (Web Crypto) in the edge runtime, node:crypto in the nodejs runtime.
const path = (relative) => fileURLToPath(new URL(relative, import.meta.url));

/** @type {import('next').NextConfig} */
const config = {
  transpilePackages: ['@hooks/core', '@hooks/next', '@hooks/fixture-broadcast-events'],
  // tsc checks these files; skipping Next's own type pass keeps the build short.
  typescript: { ignoreBuildErrors: true },
  turbopack: {
    root: path('../../../..'),
    resolveAlias: {
      '@hooks/core': '../../../core/src/index.ts',
      '@hooks/next': '../../src/index.ts',
    },
  },
};

export default config;
