import { defineProject } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared';

// Without the shared `module` condition: @opentelemetry's `module` builds (tracing tests) have
// extension-less imports that only bundlers resolve, and Node would pick them for these packages.
const conditions = ['dev-source', 'node', 'default'];

export default defineProject({
  ...sharedTestOptions,
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['dev-source'] } },
  test: { ...sharedTestOptions.test, name: 'express' },
});
