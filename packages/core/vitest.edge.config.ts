import { defineProject } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared';

// The same tests under the edge runtime: `edge-light` comes first, so `#crypto` resolves to
// src/crypto/web.ts (Web Crypto only), as it does for Next.js edge routes and workers.
const conditions = ['edge-light', 'worker', 'dev-source', 'import', 'module', 'default'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['edge-light', 'dev-source'] } },
  test: {
    ...sharedTestOptions.test,
    name: 'core-edge',
    environment: 'edge-runtime',
    // Tests that need Node itself (a Redis client, node:http, the file system) run only in `core`.
    exclude: ['test/**/*.node.test.ts', '**/node_modules/**'],
    provide: { expectedCryptoBackend: 'web' },
  },
});
